import { defineRole } from '../../lib/dsl/role.ts';
import { apt } from '../../lib/tasks/index.ts';
import type { LvsVars } from './cluster.ts';

/** Packages of each LVS host kind: what the director and realserver roles install. */
export const LVS_PACKAGES = { director: ['keepalived', 'ipvsadm', 'nftables'], realserver: ['nginx'] } as const;

/**
 * Install every LVS host's packages at once, before the rolling plays:
 * installing is safe in parallel (keepalived does not start without its
 * config, and a new real server gets no traffic until the directors list
 * it), while the configuration that follows goes one host at a time. On a
 * converged cluster this is one fact read per host.
 *
 * @example
 * ```ts
 * import { definePlaybook } from 'playbook-ts';
 * import { lvsPackages } from './packages.ts';
 * import type { LvsVars } from './cluster.ts';
 * export default definePlaybook<LvsVars>({ name: 'packages', plays: [{ name: 'packages', hosts: ['directors', 'realservers'], roles: [lvsPackages] }] });
 * ```
 */
export const lvsPackages = defineRole<LvsVars>({
  name: 'packages',
  description: 'keepalived, ipvsadm and nftables on directors, nginx on real servers, all hosts at once',
  tasks: ({ vars, host }) => [
    ...(vars.cluster?.directors?.[host.name] ? [apt({ name: [...LVS_PACKAGES.director], state: 'present' })] : []),
    ...(vars.cluster?.realServers?.[host.name] ? [apt({ name: [...LVS_PACKAGES.realserver], state: 'present' })] : []),
  ],
});
