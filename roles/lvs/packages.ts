import { defineRole } from '../../lib/dsl/role.ts';
import { apt } from '../../lib/tasks/index.ts';
import type { LvsVars } from './cluster.ts';

/** Packages of each LVS host kind: what the director and realserver roles install. */
export const LVS_PACKAGES = { director: ['keepalived', 'ipvsadm', 'nftables'], realserver: ['nginx'] } as const;

/**
 * The apt task that installs one kind's packages, without their
 * Recommends: a director needs keepalived, ipvsadm and nftables, not the
 * MIME database and user directories glib recommends (11 of a director's
 * 18 packages on Debian 12, half its first install under emulation).
 *
 * @example
 * ```ts
 * import { lvsApt } from './packages.ts';
 * const director = lvsApt('director');
 * ```
 */
export function lvsApt(kind: keyof typeof LVS_PACKAGES) {
  return apt({ name: [...LVS_PACKAGES[kind]], state: 'present', installRecommends: false });
}

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
    ...(vars.cluster?.directors?.[host.name] ? [lvsApt('director')] : []),
    ...(vars.cluster?.realServers?.[host.name] ? [lvsApt('realserver')] : []),
  ],
});
