/**
 * Real-server maintenance, step 2: `play undrain -i inventory -l RS1`. Start
 * nginx, wait until every director's health check lists the server again,
 * restore its weight. One real server at a time.
 */
import { definePlaybook, service, type RoleContext } from 'playbook-ts';
import { clusterRule, type LvsVars } from '../roles/lvs/cluster.ts';
import { realServerInService } from '../roles/lvs/real-server-ops.ts';
import { topologyOf } from '../roles/verify/index.ts';

const topology = ({ vars, inventory }: RoleContext<LvsVars>) => topologyOf(vars, inventory.hosts);

export default definePlaybook<LvsVars>({
  name: 'undrain',
  plays: [{
    name: 'return real servers', hosts: 'realservers', serial: 1,
    // No role here checks the cluster these tasks read: the play does, once.
    inventoryRules: [clusterRule],
    tasks: (ctx) => [service({ name: 'nginx', state: 'started' }), realServerInService({ topology: topology(ctx) })],
  }],
});
