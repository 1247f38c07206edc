/**
 * Planned director maintenance, step 1: `play handover -i inventory`. The
 * MASTER lowers its own priority through keepalived's track file (no
 * config change, no restart): the BACKUP preempts and takes the VIP while
 * the MASTER still holds it, so no request waits for a failover. Waits until
 * the BACKUP alone holds the VIP; just before it takes it, the MASTER takes
 * no new connection (a SYN is sent again after 1 s, to the BACKUP), so no
 * TCP handshake is split between the two. `play handback -i inventory` undoes it.
 * The offset survives a restart or reboot of the MASTER, until handback.
 */
import { definePlaybook, type RoleContext } from 'playbook-ts';
import { handoverVrrp, HANDOVER_OFFSET, vipHandover } from '../roles/director/index.ts';
import { clusterRule, type LvsVars } from '../roles/lvs/cluster.ts';
import { clusterHealthy } from '../roles/lvs/gate.ts';
import { topologyOf } from '../roles/verify/index.ts';

export const handoverPlay = (offset: number, name: string) => definePlaybook<LvsVars>({
  name,
  plays: [{
    name, hosts: 'master',
    // No role here checks the cluster these tasks read: the play does, once.
    inventoryRules: [clusterRule],
    tasks: ({ vars, host }: RoleContext<LvsVars>) => [vipHandover({ offset, ...handoverVrrp(vars.cluster, host.name) })],
    postTasks: ({ vars, inventory }: RoleContext<LvsVars>) => [clusterHealthy({ topology: topologyOf(vars, inventory.hosts), boundMs: 30_000 })],
  }],
});

export default handoverPlay(HANDOVER_OFFSET, 'handover');
