/**
 * Real-server maintenance, step 1: `play drain -i inventory -l RS1`. Weight 0
 * on every director (no new connections), wait until its connections end,
 * then stop nginx for the maintenance. One real server at a time; refuses
 * to drain the last one in service. `play undrain -i inventory -l RS1`
 * brings it back.
 */
import { definePlaybook, service, type RoleContext } from 'playbook-ts';
import { clusterRule, type LvsVars } from '../roles/lvs/cluster.ts';
import { drainRealServer } from '../roles/lvs/real-server-ops.ts';
import { topologyOf } from '../roles/verify/index.ts';

const topology = ({ vars, inventory }: RoleContext<LvsVars>) => topologyOf(vars, inventory.hosts);

export default definePlaybook<LvsVars>({
  name: 'drain',
  plays: [{
    name: 'drain real servers', hosts: 'realservers', serial: 1,
    // No role here checks the cluster these tasks read: the play does, once.
    inventoryRules: [clusterRule],
    tasks: (ctx) => [drainRealServer({ topology: topology(ctx) }), service({ name: 'nginx', state: 'stopped' })],
  }],
});
