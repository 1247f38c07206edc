/**
 * The whole seed, safe to run on a live cluster: every host's packages at
 * once (safe in parallel), then real servers (a new
 * one is fully configured before any director sends it traffic), one at a
 * time; then the directors one at a time, BACKUPs first, the MASTER last;
 * after each host a health gate waits until the cluster serves as it should
 * again, and stops the rollout if it does not. Then verification from the
 * controller. `play site -i inventory --role realserver` runs one role.
 *
 * Where nothing serves yet (no director holds a VIP or runs keepalived: a
 * first deployment), the real servers and the directors are set up all at
 * once, side by side, and one health gate per host checks the whole result.
 */
import { definePlaybook } from 'playbook-ts';
import { director, directorOrder } from '../roles/director/index.ts';
import type { LvsVars } from '../roles/lvs/cluster.ts';
import { clusterHealthy } from '../roles/lvs/gate.ts';
import { lvsPackages } from '../roles/lvs/packages.ts';
import { rollWhileServing } from '../roles/lvs/serving.ts';
import { realserver } from '../roles/realserver/index.ts';
import { topologyOf, verify } from '../roles/verify/index.ts';
import type { RoleContext } from 'playbook-ts';

const check = ({ vars, inventory }: RoleContext<LvsVars>) => [clusterHealthy({ topology: topologyOf(vars, inventory.hosts), tags: ['always'] })];
// After a host whose run changed nothing, the cluster is as the last gate saw it.
const gate = ({ vars, inventory }: RoleContext<LvsVars>) => [clusterHealthy({ topology: topologyOf(vars, inventory.hosts), tags: ['always'], when: ({ changed }) => changed })];

export default definePlaybook<LvsVars>({
  name: 'lvs-keepalived',
  plays: [
    { name: 'cluster healthy before the rollout', hosts: 'controller', tasks: check },
    { name: 'packages', hosts: ['directors', 'realservers'], roles: [lvsPackages] },
    { name: 'real servers', hosts: 'realservers', serial: 1, rollIf: rollWhileServing, roles: [realserver], postTasks: gate },
    { name: 'directors', hosts: 'directors', serial: 1, order: directorOrder, rollIf: rollWhileServing, withPrevious: true, roles: [director], postTasks: gate },
    { name: 'verify', hosts: 'controller', roles: [verify] },
  ],
});
