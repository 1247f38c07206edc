import { defineRole } from '../../lib/dsl/role.ts';
import { daemonReload, file, service, sysctl, template, user } from '../../lib/tasks/index.ts';
import { keepalivedConfig } from './keepalived-config.ts';
import { HANDOVER_FILE, ipvsKernel, ipvsLoaded } from './keepalived-commands.ts';

export { HANDOVER_FILE, HANDOVER_OFFSET } from './keepalived-commands.ts';
export { vipHandover, type VipHandoverParams } from './vip-handover.ts';
import { lvsApt } from '../lvs/packages.ts';
import { clusterRule, directorAddress, directorState, instancesOf, masterOf, servicesOf, vipsOf, type LvsCluster, type LvsVars, type VrrpTrackScript } from '../lvs/cluster.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import type { HostView } from '../../lib/core/host.ts';
import { interfacePresent } from './interface-present.ts';
import { directorScripts, scriptsPresent } from './scripts-present.ts';
import { vrrpFirewall, vrrpPeers } from './vrrp-firewall.ts';

export { vrrpFirewall, vrrpPeers, type VrrpFirewallParams, type VrrpPeer } from './vrrp-firewall.ts';

/** Where keepalived reads its configuration. */
export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
/**
 * IPVS settings a live cluster needs. `expire_nodest_conn`: a connection
 * whose real server was drained (weight 0) or removed is expired, and a new
 * connection that reuses its client port is scheduled afresh — otherwise,
 * in DR mode, IPVS keeps such entries for minutes and sends a reused port
 * to the stopped server (measured: 16 of 601 requests failed after
 * removing a real server).
 */
export const IPVS_SYSCTLS = [
  ['net.ipv4.vs.expire_nodest_conn', '1'],
  // Replicate a connection to the BACKUPs once it is established (its
  // second packet: in DR the director sees the client's side only, and IPVS
  // syncs no TCP connection before ESTABLISHED), then again every 2 s while
  // it carries packets, not every 50th packet: a director whose keepalived
  // restarted learns every active connection within seconds, before it
  // takes the VIP back (measured: a download read at 120 KB/s sent about
  // 12 packets a second, so its first copy came after 4 s, and it stalled
  // when the VIP returned to the director that had restarted).
  ['net.ipv4.vs.sync_threshold', '2 0'],
  ['net.ipv4.vs.sync_refresh_period', '2'],
] as const;
/**
 * The unit that keeps a director from answering RST for the VIP's port: a
 * director that just took the VIP may get packets of a connection its peer
 * opened and the sync daemon has not replicated yet; dropped, the client
 * retransmits once it is (measured: 1 of 398 requests reset in a handover).
 */
export const NO_RST_UNIT = 'lvs-director-no-rst';
/** Where the IPVS settings persist; ip_vs is loaded at boot before systemd-sysctl reads it. */
export const IPVS_SYSCTL_FILE = '/etc/sysctl.d/90-lvs-director.conf';


/**
 * What a VIP handover of director `self` needs to know of the cluster (see
 * {@link vipHandover}): the VIPs of every instance it is MASTER of, timed
 * by the first one's adverts and priorities. Without `self`, or for a
 * director that is MASTER of none: the instance carrying `cluster.vip`.
 */
export function handoverVrrp(c: LvsCluster, self?: string) {
  const all = instancesOf(c);
  const mine = all.filter((i) => i.master === self);
  const moving = mine.length ? mine : [all[0]!];
  const vips = moving.flatMap((i) => i.vips);
  return {
    vip: vips[0]!, ...(vips.length > 1 ? { vips } : {}), interface: c.interface, advertInterval: c.advertInterval, virtualRouterId: moving[0]!.virtualRouterId,
    priorities: moving[0]!.priorities,
  };
}

/**
 * The users the cluster's scripts run as (MISC_CHECKs, tracked scripts,
 * notify scripts; see {@link directorScripts}), root aside: keepalived
 * refuses ("Failed to set uid/gid … - removing") a script whose user does
 * not exist, so the director role creates them, as system users without a
 * login.
 *
 * @example
 * ```ts
 * import { scriptUsersOf } from './index.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const users = scriptUsersOf(inventory.vars.cluster); // [] (the seed's TCP_CHECK runs no script)
 * ```
 */
export function scriptUsersOf(c: LvsCluster): string[] {
  return [...new Set(directorScripts(c).map((s) => s.user).filter((u) => u !== 'root'))];
}

/** The template's variables for one director, derived from the cluster. */
export function keepalivedVars(c: LvsCluster, hostName: string, inv: Inventory<LvsVars>) {
  const master = masterOf(c);
  const backups = Object.keys(c.directors).filter((n) => n !== master);
  const routerId = hostName === master ? 'LVS_MASTER' : backups.length > 1 ? `LVS_BACKUP_${hostName}` : 'LVS_BACKUP';
  const address = (name: string) => inv.hosts.find((h) => h.name === name)?.address ?? name;
  const services = servicesOf(c).map((s) => ({ ...s, realServers: s.realServers.map((rs) => ({ ...rs, address: address(rs.name) })) }));
  const tracks = c.vrrp?.trackScripts ?? [];
  const scripts = tracks.filter((t): t is VrrpTrackScript => t.kind !== 'file').map((t) => ({ ...t, weight: t.weight ?? 0 }));
  const n = c.vrrp?.notify;
  // keepalived's order of calls: the state's own script, then the catch-all `notify`.
  const notify = n ? (['master', 'backup', 'fault', 'stop', 'any'] as const).filter((k) => n[k] !== undefined)
    .map((k) => ({ keyword: k === 'any' ? 'notify' : `notify_${k}`, script: n[k]!, user: n.user })) : [];
  const scriptUsers = [
    ...(services.some((s) => s.check.kind === 'MISC_CHECK') ? ['MISC_CHECK'] : []),
    ...(scripts.length ? ['vrrp_script'] : []),
    ...(notify.length ? ['notify'] : []),
  ];
  const instances = instancesOf(c).map((i) => ({ name: i.name, virtualRouterId: i.virtualRouterId, vips: i.vips, state: directorState(c, hostName, i), priority: i.priorities[hostName] ?? 0 }));
  return {
    c,
    routerId,
    instances,
    trackedBy: instances.length > 2 ? 'every instance' : instances.map((i) => i.name).join(' and '),
    syncGroups: c.vrrp?.syncGroups ?? [],
    syncDaemon: Object.keys(c.directors).length > 1,
    globalDefs: Object.entries(c.globalDefs ?? {}),
    handoverFile: HANDOVER_FILE,
    services,
    // Derived, never written by hand: this director's address, and every other director's.
    unicast: c.vrrp?.mode === 'unicast'
      ? { src: directorAddress(c, hostName, inv), peers: Object.keys(c.directors).filter((n) => n !== hostName).map((n) => directorAddress(c, n, inv)) }
      : undefined,
    nopreempt: c.vrrp?.nopreempt === true,
    preemptDelay: c.vrrp?.preemptDelay,
    garp: c.vrrp?.garp ?? {},
    trackScripts: scripts,
    trackFiles: tracks.filter((t) => t.kind === 'file').map((t) => ({ name: t.name, path: t.path, weight: t.weight ?? 0 })),
    trackInterfaces: (c.vrrp?.trackInterfaces ?? []).map((t) => (typeof t === 'string' ? { name: t } : t)),
    notify,
    // What runs scripts, named in the comment above enable_script_security.
    scriptSecurity: scriptUsers.length ? `${scriptUsers.slice(0, -1).join(', ')}${scriptUsers.length > 1 ? ' and ' : ''}${scriptUsers.at(-1)}` : false,
  };
}

/**
 * The no-RST unit's variables: every TCP service's VIP:port (UDP has no RST
 * to drop), one tc filter each.
 */
function noRstVars(c: LvsCluster) {
  const services = servicesOf(c).filter((s) => s.protocol === 'TCP').map((s) => ({ vip: s.vip, port: s.port }));
  return { services, endpoints: services.map((s) => `${s.vip}:${s.port}`).join(' '), iface: c.interface };
}

/**
 * The LVS director: keepalived (VRRP for the VIP, IPVS virtual server with
 * health checks) and ipvsadm. The highest-priority director is MASTER.
 * Where ufw is active or nftables would drop it, VRRP from the other
 * directors is admitted first ({@link vrrpFirewall}). A
 * changed config is validated with `keepalived --config-test`, written
 * atomically and taken by a **reload**, confirmed live (see
 * {@link keepalivedConfig}: restarts only where keepalived cannot reload,
 * removed real servers drained first, shared VRRP settings changed BACKUPs
 * first). Run it one director at a time, BACKUPs first
 * ({@link directorOrder}), with a health gate between them, as
 * `playbooks/site.ts` does.
 *
 * play does not install the scripts a cluster makes keepalived run
 * (MISC_CHECK, `vrrp.trackScripts`, `vrrp.notify`) nor their users: a
 * read-only task ({@link scriptsPresent}) fails the director before its
 * config is written when one is missing or not executable.
 *
 * @example
 * ```ts
 * import { definePlaybook } from 'playbook-ts';
 * import { director, directorOrder } from './index.ts';
 * import type { LvsVars } from '../lvs/cluster.ts';
 * export default definePlaybook<LvsVars>({
 *   name: 'directors',
 *   plays: [{ name: 'directors', hosts: 'directors', serial: 1, order: directorOrder, roles: [director] }],
 * });
 * ```
 */
export const director = defineRole<LvsVars>({
  name: 'director',
  description: 'keepalived (VRRP + IPVS virtual server) and ipvsadm on each director, changed by reload',
  inventoryRules: [clusterRule],
  // The cluster itself is clusterRule's: here only what is this host's.
  validate: ({ vars, host }) => {
    const ds: unknown = vars.cluster?.directors;
    if (typeof ds !== 'object' || ds === null || Object.hasOwn(ds, host.name)) return [];
    return [{ field: 'cluster.directors', message: `host ${host.name} runs the director role but is not in cluster.directors` }];
  },
  tasks: ({ vars, host, inventory }) => [
    interfacePresent({ name: vars.cluster.interface }),
    lvsApt('director'),
    // keepalived disables a script whose user does not exist: they are created here, locked (no login).
    ...scriptUsersOf(vars.cluster).map((name) => user({ name, system: true, shell: '/usr/sbin/nologin', createHome: false })),
    // Read-only: the scripts are the user's; a missing one fails here, before keepalived would quietly disable it.
    ...(directorScripts(vars.cluster).length ? [scriptsPresent({ scripts: directorScripts(vars.cluster), checkUsers: false })] : []),
    // Before keepalived's config: a director that cannot hear its peers takes the VIP as soon as keepalived runs.
    vrrpFirewall({ peers: vrrpPeers(vars.cluster, host.name, inventory), interface: vars.cluster.interface }),
    keepalivedConfig({
      src: new URL('./templates/keepalived.conf.njk', import.meta.url),
      dest: KEEPALIVED_CONF,
      vars: keepalivedVars(vars.cluster, host.name, inventory),
      master: masterOf(vars.cluster),
      interface: vars.cluster.interface,
      advertInterval: vars.cluster.advertInterval,
      leads: instancesOf(vars.cluster).some((i) => i.master === host.name),
      peers: Object.keys(vars.cluster.directors).filter((n) => n !== host.name),
    }),
    service({ name: 'keepalived', enabled: true }),
    // IPVS's sysctls exist once ip_vs is loaded (keepalived loads it); a kernel without IPVS has none.
    file({ path: '/etc/modules-load.d/lvs-director.conf', content: 'ip_vs\n', mode: '0644' }),
    // Facts, not commands: read in the play's one batch, so a converged director spends no round trip here.
    ...IPVS_SYSCTLS.map(([name, value]) => sysctl({ name, value, file: IPVS_SYSCTL_FILE, facts: { ipvsLoaded }, when: ({ facts }) => facts.ipvsLoaded })),
    // The RST filter needs IPVS in the kernel, not loaded yet: check mode on a fresh director plans it too.
    template({
      src: new URL('./templates/lvs-no-rst.service.njk', import.meta.url),
      dest: `/etc/systemd/system/${NO_RST_UNIT}.service`,
      vars: noRstVars(vars.cluster),
      mode: '0644',
      notify: ['reload systemd', `restart ${NO_RST_UNIT}`],
      facts: { ipvsKernel },
      when: ({ facts }) => facts.ipvsKernel,
    }),
    service({ name: NO_RST_UNIT, state: 'started', enabled: true, facts: { ipvsKernel }, when: ({ facts }) => facts.ipvsKernel }),
  ],
  handlers: () => [
    daemonReload({ title: 'reload systemd', units: [NO_RST_UNIT] }),
    service({ title: `restart ${NO_RST_UNIT}`, name: NO_RST_UNIT, state: 'restarted' }),
  ],
});

/**
 * The order a rolling change takes the directors in: BACKUPs first, lowest
 * priority first, the MASTER last, so the VIP moves at most once, and only
 * if the MASTER itself fails. Priorities come from each host's `cluster`.
 */
export function directorOrder<V extends LvsVars>(hosts: readonly HostView<V>[]): HostView<V>[] {
  const prio = (h: HostView<V>) => h.vars.cluster?.directors?.[h.name]?.priority ?? 0;
  return [...hosts].sort((a, b) => prio(a) - prio(b));
}
