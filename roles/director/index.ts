import { defineRole } from '../../lib/dsl/role.ts';
import { apt, service, template } from '../../lib/tasks/index.ts';
import { masterOf, validateCluster, type LvsCluster, type LvsVars } from '../lvs/cluster.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import { interfacePresent } from './interface-present.ts';

/** Where keepalived reads its configuration. */
export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';

/** The template's variables for one director, derived from the cluster. */
export function keepalivedVars(c: LvsCluster, hostName: string, inv: Inventory<LvsVars>) {
  const master = masterOf(c);
  const backups = Object.keys(c.directors).filter((n) => n !== master);
  const routerId = hostName === master ? 'LVS_MASTER' : backups.length > 1 ? `LVS_BACKUP_${hostName}` : 'LVS_BACKUP';
  return {
    c,
    routerId,
    state: hostName === master ? 'MASTER' : 'BACKUP',
    priority: c.directors[hostName]?.priority ?? 0,
    persistence: c.persistenceTimeout ?? 0,
    checkPort: c.healthCheck.port ?? c.port,
    realServers: Object.entries(c.realServers).map(([name, rs]) => ({
      name, weight: rs.weight, address: inv.hosts.find((h) => h.name === name)?.address ?? name,
    })),
  };
}

/**
 * The LVS director: keepalived (VRRP for the VIP, IPVS virtual server with
 * health checks) and ipvsadm. The highest-priority director is MASTER. The
 * config is validated with `keepalived --config-test` before it replaces
 * the old one, and keepalived restarts only when the config changed.
 *
 * @example
 * ```ts
 * import { definePlaybook } from 'play';
 * import { director } from './index.ts';
 * import type { LvsVars } from '../lvs/cluster.ts';
 * export default definePlaybook<LvsVars>({ name: 'directors', plays: [{ name: 'directors', hosts: 'directors', roles: [director] }] });
 * ```
 */
export const director = defineRole<LvsVars>({
  name: 'director',
  description: 'keepalived (VRRP + IPVS virtual server) and ipvsadm on each director',
  validate: ({ vars, host, inventory }) => {
    const problems = validateCluster(vars.cluster, inventory);
    if (vars.cluster?.directors && !vars.cluster.directors[host.name]) {
      problems.push({ field: 'cluster.directors', message: `host ${host.name} runs the director role but is not in cluster.directors` });
    }
    return problems;
  },
  tasks: ({ vars, host, inventory }) => [
    interfacePresent({ name: vars.cluster.interface }),
    apt({ name: ['keepalived', 'ipvsadm'], state: 'present' }),
    template({
      src: new URL('./templates/keepalived.conf.njk', import.meta.url),
      dest: KEEPALIVED_CONF,
      vars: keepalivedVars(vars.cluster, host.name, inventory),
      mode: '0640',
      owner: 'root',
      validate: 'keepalived --config-test -f %s',
      notify: 'restart keepalived',
    }),
    service({ name: 'keepalived', state: 'started', enabled: true }),
  ],
  handlers: () => [service({ title: 'restart keepalived', name: 'keepalived', state: 'restarted' })],
});
