import type { Secret } from '../../lib/core/secret.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import type { LabHostVars } from '../../lib/lab/spec.ts';
import type { InventoryProblem, InventoryRule, VarProblem } from '../../lib/dsl/role.ts';
import { cidr, inCidr, ipv4 } from '../../lib/core/ipv4.ts';
import { describe, oneOf, text, wholeNumber } from '../../lib/core/rules.ts';
import { HANDOVER_FILE } from '../director/keepalived-commands.ts';
import { instanceProblems, type LvsVrrpInstance, type VrrpSyncGroup } from './vrrp-instances.ts';

export type { LvsVrrpInstance, VrrpSyncGroup } from './vrrp-instances.ts';

/** IPVS schedulers keepalived accepts as `lb_algo`. */
export type Scheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'lblc' | 'lblcr' | 'dh' | 'sh' | 'sed' | 'nq';

/** Timing every connecting check shares. */
interface CheckTiming {
  /** Seconds keepalived waits for the connection (`connect_timeout`). */
  connectTimeout: number;
  /** Retries before a real server is removed (keepalived ≥ 2: `retry`, not `nb_get_retry`). */
  retry: number;
  /** Seconds between retries. */
  delayBeforeRetry: number;
  /** Port the check connects to (`connect_port`). @default the service port */
  port?: number;
}

/** keepalived's TCP_CHECK (the seed's): a real server is up while it accepts a TCP connection. */
export interface TcpCheck extends CheckTiming {
  kind: 'TCP_CHECK';
}

/**
 * keepalived's HTTP_GET: a real server is up while `path` answers `status`
 * (and, with `digest`, a body whose MD5 is that digest, as `genhash`
 * prints it). Stricter than TCP_CHECK: nginx answering 500 is down. The
 * realserver role serves a page at `path` (see the realserver role).
 */
export interface HttpGetCheck extends CheckTiming {
  kind: 'HTTP_GET';
  /** URL path asked for, e.g. `/health`. */
  path: string;
  /** Expected HTTP status. @default 200 */
  status?: number;
  /** MD5 of the expected body, 32 hex digits. @default none (status only) */
  digest?: string;
}

/** keepalived's SSL_GET: HTTP_GET over TLS (the certificate is not verified by keepalived). */
export interface SslGetCheck extends Omit<HttpGetCheck, 'kind'> {
  kind: 'SSL_GET';
}

/**
 * keepalived's MISC_CHECK: a script on the director, exit 0 = up. It runs
 * as `user` (never root by accident): `enable_script_security` is set in
 * global_defs, so keepalived refuses a script a non-root user could alter.
 */
export interface MiscCheck {
  kind: 'MISC_CHECK';
  /** Absolute path of the script, then its arguments, e.g. `/usr/local/bin/check-web 192.168.56.103`. */
  script: string;
  /** Seconds before the script counts as failed (`misc_timeout`). */
  timeout: number;
  /** The user the script runs as, e.g. `keepalived_script`. */
  user: string;
  /** Retries before a real server is removed. @default keepalived's (1) */
  retry?: number;
  /** Seconds between retries. @default keepalived's (delay_loop) */
  delayBeforeRetry?: number;
}

/** How keepalived decides a real server is up. */
export type HealthCheck = TcpCheck | HttpGetCheck | SslGetCheck | MiscCheck;

/** A health check with its defaults filled in (an HTTP check's `status`: 200), as {@link servicesOf} gives it. */
export type ResolvedCheck = TcpCheck | MiscCheck | (HttpGetCheck & { status: number }) | (SslGetCheck & { status: number });

/**
 * One virtual service: a VIP:port that IPVS balances over real servers.
 * Every field but `port`, `protocol`, `scheduler` and `check` defaults from
 * the cluster.
 */
export interface LvsService {
  /** The service's VIP. A VIP other than `cluster.vip` is carried by the same VRRP instance. @default cluster.vip */
  vip?: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  /** `lb_algo`. */
  scheduler: Scheduler;
  /** Seconds a client sticks to one real server; absent or 0 = no persistence. */
  persistenceTimeout?: number;
  /** Seconds between health checks. @default cluster.delayLoop */
  delayLoop?: number;
  check: HealthCheck;
  /**
   * The real servers of this service, by inventory host name, each one of
   * `cluster.realServers`. @default every real server of the cluster, with its weight
   */
  realServers?: Readonly<Record<string, { weight: number }>>;
  /** A failed real server keeps its entry at weight 0 instead of being removed (`inhibit_on_failure`). @default false */
  inhibitOnFailure?: boolean;
  /** Where IPVS sends clients when no real server is up (`sorry_server`); not one of the real servers. With DR its port is the service's (`port` may only repeat it). @default none */
  sorryServer?: { address: string; port?: number };
  /** Minimum sum of the weights of the live real servers for the service to exist (`quorum`). @default keepalived's (1) */
  quorum?: number;
}

/** The VRRP side of the cluster. */
export interface LvsVrrp {
  /**
   * `multicast` (keepalived's default) or `unicast`: adverts sent to each
   * other director, for networks that drop multicast (clouds). Each
   * director's `unicast_src_ip` is its own address and its `unicast_peer`
   * list every other director's, both derived from the inventory.
   * @default 'multicast'
   */
  mode?: 'multicast' | 'unicast';
  /**
   * A director that comes back does not take the VIP back from a
   * lower-priority MASTER (`nopreempt`): one move instead of two after a
   * failure. keepalived honours it only on instances whose state is BACKUP,
   * so every director then starts as BACKUP (the highest priority is still
   * elected MASTER). @default false
   */
  nopreempt?: boolean;
  /** Seconds a director that would preempt waits first (`preempt_delay`, 0–1000); like nopreempt, honoured on BACKUP instances only. @default none */
  preemptDelay?: number;
  /**
   * What else the VRRP instance watches, each by a unique name (letters,
   * digits, `_`, `-`; not `play_handover`, the planned handover's): a
   * script (`vrrp_script` + `track_script`) or a file (`track_file`, next
   * to the handover's). A weight other than 0 moves the priority; it must
   * move it past the next director's or the VIP stays (a warning says so).
   * play does not install the scripts: they, and their user, are yours to
   * put on every director. The health gate and verify still expect the
   * VIP on the highest configured priority (after handover offsets): while
   * a tracker holds it elsewhere (a maintenance file set), they fail,
   * saying where it is. @default none
   */
  trackScripts?: readonly VrrpTrack[];
  /**
   * More interfaces the instance watches (`track_interface`): a name, or a
   * name and a weight. The cluster's own `interface` is always watched
   * (down = FAULT) and is refused here. @default none
   */
  trackInterfaces?: readonly (string | VrrpTrackInterface)[];
  /** Scripts keepalived runs when the instance changes state (`notify_*`). @default none */
  notify?: VrrpNotify;
  /** Gratuitous ARPs a new MASTER sends for the VIPs (`garp_master_*`). @default keepalived's (see {@link VrrpGarp}) */
  garp?: VrrpGarp;
  /**
   * Several VRRP instances, each carrying some of the VIPs with its own
   * router id and priorities: active/active, each director MASTER of one.
   * The trackers, notify scripts, GARP, preemption and unicast settings
   * above apply to every instance; so does the planned handover (a director
   * handing over gives up every instance it is MASTER of). Directors'
   * `state` is then refused: each instance's highest priority starts as its
   * MASTER. See {@link instancesOf}. @default one instance, `VI_1`,
   * carrying every VIP, with `cluster.virtualRouterId` and the directors'
   * priorities
   */
  instances?: readonly LvsVrrpInstance[];
  /** Instances that fail over together (`vrrp_sync_group`); their MASTER must be the same director. @default none */
  syncGroups?: readonly VrrpSyncGroup[];
}

/**
 * A script keepalived runs every `interval` seconds on each director
 * (`vrrp_script`); its exit code (0 = OK) is tracked by the instance
 * (`track_script`). The script and its user must exist on every director:
 * play does not install them, and keepalived disables a script it cannot
 * find (or that a non-root user could alter, with `enable_script_security`,
 * which play then sets).
 *
 * @example
 * ```ts
 * import type { VrrpTrackScript } from './cluster.ts';
 * const nginx: VrrpTrackScript = { name: 'chk_nginx', script: '/usr/local/bin/check-nginx 127.0.0.1', user: 'keepalived_script', weight: -120, interval: 2, fall: 2, rise: 2 };
 * ```
 */
export interface VrrpTrackScript {
  /** A script (the kind to leave out). @default 'script' */
  kind?: 'script';
  /** The `vrrp_script` name: letters, digits, `_`, `-`, first a letter. */
  name: string;
  /** Absolute path of the script, then its arguments, e.g. `/usr/local/bin/check-nginx 127.0.0.1` (no quotes, backslashes, newlines, `!` or `#`). */
  script: string;
  /** Seconds between runs (`interval`, 1–3600). @default keepalived's (1) */
  interval?: number;
  /** Seconds before a run counts as failed (`timeout`, 1–3600). @default keepalived's (the interval) */
  timeout?: number;
  /**
   * −253..253. 0: after `fall` failures the instance goes to FAULT (it
   * releases the VIPs at once). Negative: subtracted from the priority
   * while failing. Positive: added while OK. @default 0
   */
  weight?: number;
  /** Successes in a row before a failed script counts as OK again (`rise`, 1–100). @default keepalived's (1) */
  rise?: number;
  /** Failures in a row before the script counts as failed (`fall`, 1–100). @default keepalived's (1) */
  fall?: number;
  /** The user the script runs as (`user`), e.g. `keepalived_script`: never root by accident. */
  user: string;
}

/**
 * A file keepalived watches (`track_file`), e.g. a maintenance switch:
 * `echo 1 > /etc/keepalived/maintenance` takes the VIP away, `echo 0` (or
 * removing the file) gives it back. The file holds a number, multiplied
 * by `weight`; an empty file reads as 0, so `touch` alone does nothing.
 *
 * @example
 * ```ts
 * import type { VrrpTrackFile } from './cluster.ts';
 * const maintenance: VrrpTrackFile = { kind: 'file', name: 'maintenance', path: '/etc/keepalived/maintenance', weight: -150 };
 * ```
 */
export interface VrrpTrackFile {
  /** A file, not a script. */
  kind: 'file';
  /** The `track_file` name: letters, digits, `_`, `-`, first a letter; not `play_handover`. */
  name: string;
  /** Absolute path of the file, without spaces or quotes; not the handover's `/etc/keepalived/play-handover`. */
  path: string;
  /** −253..253, multiplied by the number in the file; 0: any number but 0 puts the instance in FAULT. @default 0 */
  weight?: number;
}

/** One entry of `vrrp.trackScripts`. */
export type VrrpTrack = VrrpTrackScript | VrrpTrackFile;

/** An interface the instance watches, with the weight it takes off (or adds). */
export interface VrrpTrackInterface {
  /** A Linux interface name, e.g. `enp0s9`. */
  name: string;
  /** −253..253: negative is taken off the priority while it is down, positive added while up; 0 = FAULT while down. @default 0 */
  weight?: number;
}

/**
 * Scripts keepalived runs on a state change of the instance, each an
 * absolute path then its arguments (no quotes, backslashes, newlines, `!`
 * or `#`), all run as `user`. As for tracked scripts, play does not
 * install them.
 *
 * @example
 * ```ts
 * import type { VrrpNotify } from './cluster.ts';
 * const notify: VrrpNotify = { master: '/usr/local/bin/vrrp-became master', fault: '/usr/local/bin/vrrp-became fault', user: 'keepalived_script' };
 * ```
 */
export interface VrrpNotify {
  /** On becoming MASTER (`notify_master`). @default none */
  master?: string;
  /** On becoming BACKUP (`notify_backup`). @default none */
  backup?: string;
  /** On entering FAULT (`notify_fault`). @default none */
  fault?: string;
  /** When keepalived stops the instance (`notify_stop`). @default none */
  stop?: string;
  /**
   * On every change (`notify`), after the specific one; keepalived adds 4
   * arguments: `INSTANCE`, `VI_1`, the new state (MASTER, BACKUP, FAULT,
   * STOP) and the priority. @default none
   */
  any?: string;
  /** The user every notify script runs as, e.g. `keepalived_script`. */
  user: string;
}

/**
 * Gratuitous ARPs for the VIPs, per instance: they move the VIP in the
 * switches' and neighbours' tables when a director becomes MASTER.
 *
 * @example
 * ```ts
 * import type { VrrpGarp } from './cluster.ts';
 * const garp: VrrpGarp = { masterDelay: 2, masterRepeat: 3, masterRefresh: 60 };
 * ```
 */
export interface VrrpGarp {
  /** Seconds after becoming MASTER before the second set (`garp_master_delay`, 0–1000; 0 = no second set). @default keepalived's (5) */
  masterDelay?: number;
  /** ARPs sent at a time (`garp_master_repeat`, 1–100). @default keepalived's (5) */
  masterRepeat?: number;
  /** Seconds between repeated sets while MASTER (`garp_master_refresh`, 0–86400; 0 = none). @default keepalived's (0) */
  masterRefresh?: number;
}

/**
 * An LVS + keepalived cluster, declared once. The director, realserver and
 * verify roles derive everything from it: MASTER/BACKUP from priorities,
 * each director's `router_id`, the real-server list, the VIP on every real
 * server's `lo`.
 */
export interface LvsCluster {
  /** The virtual IP clients use, e.g. 192.168.56.200. */
  vip: string;
  /** The directors' subnet, e.g. 192.168.56.0/24: the VIP must be inside it. */
  subnet: string;
  /**
   * The virtual services. @default one service, given by the shorthand
   * fields `port`, `protocol`, `scheduler`, `persistenceTimeout`,
   * `healthCheck` and `realServers`' weights, as the seed does. A cluster
   * uses one form or the other: with `services`, those shorthand fields
   * (but `realServers`) are refused. See {@link servicesOf}.
   */
  services?: readonly LvsService[];
  /** Shorthand: the one service's port. @default 80 in the seed */
  port?: number;
  /** Shorthand: the one service's protocol. */
  protocol?: 'TCP' | 'UDP';
  /** VRRP virtual router id, 1–255, the same on every director. */
  virtualRouterId: number;
  /** VRRP advert interval in seconds. */
  advertInterval: number;
  /** VRRP authentication. keepalived uses only the first 8 characters of `pass`: longer is an error here. */
  auth: { type: 'PASS' | 'AH'; pass: Secret };
  /** VRRP mode and preemption. @default multicast, preemptive */
  vrrp?: LvsVrrp;
  /** Shorthand: the one service's `lb_algo`. */
  scheduler?: Scheduler;
  /**
   * `lb_kind`: DR (direct routing, the seed). The only kind play builds end
   * to end: NAT needs the directors as the real servers' gateway and TUN an
   * ipip tunnel on each real server, which the roles do not set up, so both
   * are refused rather than deployed half-working.
   */
  forwarding: 'DR';
  /** Shorthand: the one service's persistence; absent or 0 = no persistence. */
  persistenceTimeout?: number;
  /** Seconds between health checks (`delay_loop`), for every service that does not set its own. */
  delayLoop: number;
  /** Shorthand: the one service's health check. */
  healthCheck?: HealthCheck;
  /** The directors' interface carrying the VIP, e.g. enp0s8. */
  interface: string;
  /**
   * Directors by inventory host name. Highest priority is MASTER. `address`:
   * its address on `interface`, the unicast VRRP source and peer.
   * `state`: the state it starts in. @default address: the host's inventory
   * address; state: MASTER for the highest priority, else BACKUP (BACKUP for
   * all with `vrrp.nopreempt` or `vrrp.preemptDelay`)
   */
  directors: Readonly<Record<string, { priority: number; address?: string; state?: 'MASTER' | 'BACKUP' }>>;
  /**
   * Real servers by inventory host name (the hosts the realserver role
   * sets up); `weight` is the shorthand service's weight and every
   * service's default; `label` is shown on its page (default: the host name).
   */
  realServers: Readonly<Record<string, { weight: number; label?: string }>>;
  /**
   * More keepalived `global_defs` lines, keyword → value (`true`: the
   * keyword alone), e.g. `{ vrrp_garp_master_refresh: '60' }`. Changing one
   * that keepalived cannot change on a reload restarts it, one director at
   * a time. @default none
   */
  globalDefs?: Readonly<Record<string, string | true>>;
}

/** The variables the LVS roles need. */
export interface LvsVars {
  cluster: LvsCluster;
  /** What `play lab up -i` builds for a host; {@link lvsGroups} sets it for the directors. */
  lab?: LabHostVars;
}

/**
 * Groups derived from the cluster, so membership is declared once:
 * `directors`, `realservers`, and `master` (the MASTER of the instance
 * carrying `cluster.vip`, which `play handover` and `play handback` act
 * on). The directors' group also tells `play lab up -i` their interface
 * (`cluster.interface`).
 *
 * @example
 * ```ts
 * import { defineInventory } from 'playbook-ts';
 * import { lvsGroups, type LvsCluster, type LvsVars } from './cluster.ts';
 * declare const cluster: LvsCluster;
 * export default defineInventory<LvsVars>({ vars: { cluster }, hosts: {}, groups: lvsGroups(cluster) });
 * ```
 */
export function lvsGroups(c: LvsCluster): { directors: { hosts: string[]; vars: Partial<LvsVars> }; realservers: { hosts: string[] }; master: { hosts: string[] } } {
  return {
    directors: { hosts: Object.keys(c.directors), vars: { lab: { iface: c.interface, director: true } } },
    realservers: { hosts: Object.keys(c.realServers) },
    master: { hosts: [masterOf(c)].filter(Boolean) },
  };
}

/**
 * The MASTER of the instance carrying `cluster.vip` (with one instance, the
 * director with the highest priority): the one a rolling change takes last
 * and `play handover` acts on.
 */
export function masterOf(c: LvsCluster): string {
  // Read before validation too (groups, playbook gates): a broken cluster gives '', not a throw.
  const ds = typeof c?.directors === 'object' && c.directors !== null ? c.directors : {};
  const own = Array.isArray(c?.vrrp?.instances) ? c.vrrp.instances.find((i) => Array.isArray(i?.vips) && i.vips.includes(c.vip))?.priorities : undefined;
  const prio = (name: string) => (typeof own === 'object' && own !== null ? own[name] : undefined) ?? ds[name]?.priority ?? 0;
  return highestOf(Object.keys(ds), prio);
}

/** Who is MASTER among `names` by VRRP priority: the highest (on a tie, the first named, as the validation forbids ties). */
function highestOf(names: readonly string[], priority: (name: string) => number): string {
  return [...names].sort((a, b) => priority(b) - priority(a))[0] ?? '';
}

const SCHEDULERS: readonly Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq'];
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A virtual service with every default filled in (see {@link servicesOf}). */
export interface ResolvedService {
  vip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  scheduler: Scheduler;
  /** 0 = none. */
  persistenceTimeout: number;
  delayLoop: number;
  check: ResolvedCheck;
  /** In declaration order. */
  realServers: Array<{ name: string; weight: number }>;
  inhibitOnFailure: boolean;
  sorryServer?: { address: string; port: number };
  quorum?: number;
}

/**
 * The cluster's virtual services, defaults filled in: the one place the
 * shorthand (the seed's `port`, `protocol`, `scheduler`,
 * `persistenceTimeout`, `healthCheck`) becomes the list. Read after
 * validation.
 *
 * @example
 * ```ts
 * import { servicesOf } from './cluster.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const [web] = servicesOf(inventory.vars.cluster); // 192.168.56.200:80, RS1 and RS2
 * ```
 */
export function servicesOf(c: LvsCluster): ResolvedService[] {
  const all = Object.entries(c.realServers ?? {}).map(([name, r]) => ({ name, weight: r.weight }));
  const list: readonly LvsService[] = c.services ?? [{
    port: c.port!, protocol: c.protocol!, scheduler: c.scheduler!, persistenceTimeout: c.persistenceTimeout, check: c.healthCheck!,
  }];
  return list.map((s) => ({
    vip: s.vip ?? c.vip,
    port: s.port,
    protocol: s.protocol,
    scheduler: s.scheduler,
    persistenceTimeout: s.persistenceTimeout ?? 0,
    delayLoop: s.delayLoop ?? c.delayLoop,
    // The one home of the HTTP checks' default status: the template writes it, the health gate expects it.
    check: s.check.kind === 'HTTP_GET' || s.check.kind === 'SSL_GET' ? { ...s.check, status: s.check.status ?? 200 } : s.check,
    realServers: s.realServers ? Object.entries(s.realServers).map(([name, r]) => ({ name, weight: r.weight })) : all,
    inhibitOnFailure: s.inhibitOnFailure ?? false,
    ...(s.sorryServer ? { sorryServer: { address: s.sorryServer.address, port: s.sorryServer.port ?? s.port } } : {}),
    ...(s.quorum !== undefined ? { quorum: s.quorum } : {}),
  }));
}

/**
 * The first service on `cluster.vip`: the one the single-service tools
 * (drain, the health gate, verify's IPVS and request checks, the failover
 * drill's traffic, the no-RST filter) act on.
 *
 * @example
 * ```ts
 * import { primaryService } from './cluster.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const { vip, port } = primaryService(inventory.vars.cluster); // 192.168.56.200, 80
 * ```
 */
export function primaryService(c: LvsCluster): ResolvedService {
  const all = servicesOf(c);
  return all.find((s) => s.vip === c.vip) ?? all[0]!;
}

/**
 * Every VIP of the cluster, `cluster.vip` first: the VRRP instances carry
 * them, every real server holds them on `lo`.
 *
 * @example
 * ```ts
 * import { vipsOf } from './cluster.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const vips = vipsOf(inventory.vars.cluster); // ['192.168.56.200']
 * ```
 */
export function vipsOf(c: LvsCluster): string[] {
  return [...new Set([c.vip, ...servicesOf(c).map((s) => s.vip)])];
}

/**
 * The state a director starts in, in an instance (by default the one
 * carrying `cluster.vip`): its own `state`, else MASTER for the instance's
 * highest priority, BACKUP for the others — and BACKUP for every director
 * when the cluster does not preempt (`vrrp.nopreempt`, `vrrp.preemptDelay`:
 * keepalived honours both only on a BACKUP instance).
 *
 * @example
 * ```ts
 * import { directorState } from './cluster.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const s = directorState(inventory.vars.cluster, 'LB1'); // 'MASTER'
 * ```
 */
export function directorState(c: LvsCluster, name: string, instance: ResolvedInstance = instancesOf(c)[0]!): 'MASTER' | 'BACKUP' {
  const own = c.directors[name]?.state;
  if (own) return own;
  if (c.vrrp?.nopreempt || c.vrrp?.preemptDelay !== undefined) return 'BACKUP';
  return name === instance.master ? 'MASTER' : 'BACKUP';
}

/** A VRRP instance with every default filled in (see {@link instancesOf}). */
export interface ResolvedInstance {
  name: string;
  virtualRouterId: number;
  vips: string[];
  /** Every director's priority in this instance. */
  priorities: Record<string, number>;
  /** The director with the highest priority in it. */
  master: string;
}

/**
 * The cluster's VRRP instances, defaults filled in, the one carrying
 * `cluster.vip` first: `vrrp.instances`, or the one instance `VI_1` that
 * carries every VIP with `cluster.virtualRouterId` and the directors'
 * priorities. Read after validation.
 *
 * @example
 * ```ts
 * import { instancesOf } from './cluster.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const [vi1] = instancesOf(inventory.vars.cluster); // VI_1, router id 62, master LB1
 * ```
 */
export function instancesOf(c: LvsCluster): ResolvedInstance[] {
  const own = Object.fromEntries(Object.entries(c.directors).map(([n, d]) => [n, d.priority]));
  const list = c.vrrp?.instances ?? [{ name: 'VI_1', virtualRouterId: c.virtualRouterId, vips: vipsOf(c) }];
  const out = list.map((i): ResolvedInstance => {
    const priorities = { ...(i.priorities ?? own) };
    const master = highestOf(Object.keys(priorities), (n) => priorities[n]!);
    return { name: i.name, virtualRouterId: i.virtualRouterId ?? c.virtualRouterId, vips: [...i.vips], priorities, master };
  });
  return [...out.filter((i) => i.vips.includes(c.vip)), ...out.filter((i) => !i.vips.includes(c.vip))];
}

/** The instance carrying `vip` (the first one for an address no instance carries). */
export function instanceOf(c: LvsCluster, vip: string): ResolvedInstance {
  const all = instancesOf(c);
  return all.find((i) => i.vips.includes(vip)) ?? all[0]!;
}

/**
 * A director's address on the cluster interface: its `address` in
 * `cluster.directors`, else its inventory address. Unicast VRRP sends from
 * and to these.
 *
 * @example
 * ```ts
 * import { directorAddress } from './cluster.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const a = directorAddress(inventory.vars.cluster, 'LB2', inventory); // '192.168.56.102'
 * ```
 */
export function directorAddress(c: LvsCluster, name: string, inv: Pick<Inventory<LvsVars>, 'hosts'>): string {
  return c.directors[name]?.address ?? inv.hosts.find((h) => h.name === name)?.address ?? name;
}

/** The VIPs a cluster names, read defensively (validation runs on broken ones too). */
function vipCandidates(c: LvsCluster): string[] {
  const services: unknown[] = Array.isArray(c.services) ? c.services : [];
  const named = services.map((s) => (isRecord(s) && typeof s.vip === 'string' ? s.vip : undefined)).filter((v): v is string => v !== undefined);
  return [...new Set([...(typeof c.vip === 'string' ? [c.vip] : []), ...named])];
}

const CHECK_KINDS = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK'] as const;
const SHORTHAND = ['port', 'protocol', 'scheduler', 'persistenceTimeout', 'healthCheck'] as const;

/**
 * One service's problems (the shorthand's or one of `services`'): `at` is
 * the field prefix ('' or 'services[1].'), `checkField` the check's name
 * there ('healthCheck' or 'check').
 */
function serviceProblems(s: Record<string, unknown>, at: string, checkField: string, c: LvsCluster, inv: Inventory<LvsVars>, out: VarProblem[]): void {
  const bad = (field: string, message: string | undefined) => { if (message !== undefined) out.push({ field: `cluster.${at}${field}`, message }); };
  if (at !== '' && s.vip !== undefined) {
    if (ipv4(s.vip) === undefined) bad('vip', `must be an IPv4 address, got ${describe(s.vip)}`);
    else if (cidr(c.subnet) && !inCidr(s.vip as string, c.subnet)) bad('vip', `${s.vip} is outside the directors' subnet ${c.subnet}`);
    else {
      const owner = inv.hosts.find((h) => h.address === s.vip);
      if (owner) bad('vip', `${s.vip} is the address of host ${owner.name}; the VIP must be unused`);
    }
  }
  bad('port', wholeNumber(s.port, 1, 65535));
  bad('protocol', oneOf(s.protocol, ['TCP', 'UDP']));
  bad('scheduler', oneOf(s.scheduler, SCHEDULERS));
  if (s.persistenceTimeout !== undefined) bad('persistenceTimeout', wholeNumber(s.persistenceTimeout, 0, 2 ** 31, { unit: 'seconds' }));
  if (typeof s.persistenceTimeout === 'number' && s.persistenceTimeout > 0 && (s.scheduler === 'rr' || s.scheduler === 'wrr')) {
    out.push({ field: `cluster.${at}persistenceTimeout`, warning: true, message: `${s.persistenceTimeout} s with ${s.scheduler}: one client sticks to one real server for that long, so a single client never sees round robin` });
  }
  if (at !== '' && s.delayLoop !== undefined) bad('delayLoop', wholeNumber(s.delayLoop, 1, 3600, { unit: 'seconds' }));
  const hc: Record<string, unknown> = isRecord(s[checkField]) ? s[checkField] as Record<string, unknown> : {};
  const ck = (field: string, message: string | undefined) => bad(`${checkField}.${field}`, message);
  if (!(CHECK_KINDS as readonly unknown[]).includes(hc.kind)) ck('kind', oneOf(hc.kind, CHECK_KINDS));
  else if (hc.kind === 'MISC_CHECK') {
    // The script line is written into keepalived.conf inside quotes: no quote, newline or comment may end it early.
    if (typeof hc.script !== 'string' || !/^\/[^\s"]*( [^"\n!#]+)?$/.test(hc.script)) ck('script', `must be an absolute path, then its arguments, without quotes, newlines, ! or #, got ${describe(hc.script)}`);
    ck('timeout', wholeNumber(hc.timeout, 1, 3600, { unit: 'seconds' }));
    if (typeof hc.user !== 'string' || !/^[a-z_][a-z0-9_-]{0,31}$/.test(hc.user)) ck('user', `must be a Linux user name (the script runs as that user, keepalived's enable_script_security refuses root-writable-by-others scripts), got ${describe(hc.user)}`);
    if (hc.retry !== undefined) ck('retry', wholeNumber(hc.retry, 0, 100));
    if (hc.delayBeforeRetry !== undefined) ck('delayBeforeRetry', wholeNumber(hc.delayBeforeRetry, 0, 3600, { unit: 'seconds' }));
  } else {
    if (hc.kind !== 'TCP_CHECK' && s.protocol === 'UDP') ck('kind', `${hc.kind} asks over TCP, but the service is UDP; use MISC_CHECK for a UDP service`);
    ck('connectTimeout', wholeNumber(hc.connectTimeout, 1, 3600, { unit: 'seconds' }));
    ck('retry', wholeNumber(hc.retry, 0, 100));
    ck('delayBeforeRetry', wholeNumber(hc.delayBeforeRetry, 0, 3600, { unit: 'seconds' }));
    if (hc.port !== undefined) ck('port', wholeNumber(hc.port, 1, 65535));
    if (hc.kind !== 'TCP_CHECK') {
      if (typeof hc.path !== 'string' || !/^\/[A-Za-z0-9._~%\/?=&+-]*$/.test(hc.path)) ck('path', `must be a URL path starting with /, without spaces or quotes, e.g. /health, got ${describe(hc.path)}`);
      if (hc.status !== undefined) ck('status', wholeNumber(hc.status, 100, 599));
      if (hc.digest !== undefined && (typeof hc.digest !== 'string' || !/^[0-9a-f]{32}$/.test(hc.digest))) ck('digest', `must be an MD5 digest, 32 lower-case hex digits (as keepalived's genhash prints it), got ${describe(hc.digest)}`);
    }
  }
  // The realserver role serves plain HTTP only: an SSL_GET needs TLS the real servers provide themselves.
  if (hc.kind === 'SSL_GET') out.push({ field: `cluster.${at}${checkField}.kind`, warning: true, message: `SSL_GET connects with TLS to port ${String(hc.port ?? s.port)}; the realserver role sets up nginx for plain HTTP only, so the real servers must serve TLS there themselves, or every one of them is down` });
  if (at === '') return;
  const clusterReals = isRecord(c.realServers) ? c.realServers : {};
  if (s.realServers !== undefined) {
    if (!isRecord(s.realServers)) bad('realServers', `must be an object of host name: { weight }, got ${describe(s.realServers)}`);
    else if (Object.keys(s.realServers).length === 0) bad('realServers', 'needs at least one real server (leave it out for every real server of the cluster)');
    else for (const [name, r] of Object.entries(s.realServers)) {
      if (!Object.hasOwn(clusterReals, name)) bad(`realServers.${name}`, `${name} is not in cluster.realServers (the hosts the realserver role sets up)`);
      else if (!isRecord(r)) bad(`realServers.${name}`, `must be { weight }, got ${describe(r)}`);
      else bad(`realServers.${name}.weight`, wholeNumber(r.weight, 0, 65535));
    }
  }
  if (s.inhibitOnFailure !== undefined && typeof s.inhibitOnFailure !== 'boolean') bad('inhibitOnFailure', `must be true or false, got ${describe(s.inhibitOnFailure)}`);
  if (s.sorryServer !== undefined) {
    const ss: Record<string, unknown> = isRecord(s.sorryServer) ? s.sorryServer : {};
    if (!isRecord(s.sorryServer)) bad('sorryServer', `must be { address, port? }, got ${describe(s.sorryServer)}`);
    else if (ipv4(ss.address) === undefined) bad('sorryServer.address', `must be an IPv4 address, got ${describe(ss.address)}`);
    else {
      const names = isRecord(s.realServers) ? Object.keys(s.realServers) : Object.keys(clusterReals);
      const same = names.find((n) => inv.hosts.find((h) => h.name === n)?.address === ss.address);
      // keepalived would list it twice in IPVS: as a real server and as the fallback for when every real server is down.
      if (same) bad('sorryServer.address', `${ss.address} is real server ${same} of this service; a sorry server serves when every real server is down, so it must be another host`);
    }
    if (ss.port !== undefined) {
      const wrong = wholeNumber(ss.port, 1, 65535);
      // Direct routing cannot change the port: keepalived resets a different one ("sorry server ports don't match - resetting").
      bad('sorryServer.port', wrong ?? (ss.port !== s.port ? `${String(ss.port)} is not the service's port ${String(s.port)}; with DR a packet reaches the sorry server unchanged, on the service's port, so leave it out` : undefined));
    }
    // IPVS forwards to it as it does to a real server (DR): it must accept the VIP like one.
    if (isRecord(s.sorryServer) && ipv4(ss.address) !== undefined && !out.some((p) => p.field === `cluster.${at}sorryServer.address`)) out.push({ field: `cluster.${at}sorryServer.address`, warning: true, message: `with DR the sorry server ${ss.address} gets packets for ${String(s.vip ?? c.vip)} as a real server does: it must hold that VIP on lo with ARP suppressed, which play sets up only on this service's real servers` });
  }
  if (s.quorum !== undefined) bad('quorum', wholeNumber(s.quorum, 1, 2 ** 31));
}

// A script line is written inside quotes. keepalived 2.2 reads backslash escapes there and 2.3 does not,
// and a quote, newline, ! or # would end it early (the rollout's parser reads ! and # as comments).
const SCRIPT_LINE = /^\/[^\s"\\!#]+( [^"\\!#\n\r]+)?$/;
const SCRIPT_RULE = 'must be an absolute path, then its arguments, without quotes, backslashes, newlines, ! or #';
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const TRACK_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const IFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
const NOTIFY_KEYS = ['master', 'backup', 'fault', 'stop', 'any'] as const;

/**
 * Whether a weighted tracker that fails on the MASTER alone moves the VIP:
 * the MASTER's priority must end below the next director's (keepalived
 * keeps effective priorities within 1–254; a tie goes to the higher
 * address, not to the one that is well). `undefined` when it does.
 */
function moveWarning(what: string, weight: number, priorities: readonly number[], nopreempt: boolean): string | undefined {
  if (weight === 0 || priorities.length < 2) return undefined;
  const [top, next] = [priorities[0]!, priorities[1]!];
  const clamp = (p: number) => Math.min(254, Math.max(1, p));
  if (nopreempt) return `with vrrp.nopreempt a BACKUP never takes the VIP from a MASTER of lower priority, so a failing ${what} only lowers the priority and the VIP stays; give weight 0 (FAULT) to move it`;
  // Negative: the failing MASTER drops by |weight|; positive: the others keep the bonus the MASTER loses.
  const [master, other] = weight < 0 ? [clamp(top + weight), next] : [top, clamp(next + weight)];
  if (master < other) return undefined;
  const need = weight < 0 ? `at most ${next - top - 1}` : `at least ${top - next + 1}`;
  return `weight ${weight}: a failing ${what} on the MASTER leaves it at priority ${master}, the next director at ${other}: the VIP would not move; give ${need}, or 0 to go to FAULT`;
}

/** The problems of `vrrp.trackScripts`, `trackInterfaces`, `notify` and `garp`. */
function trackingProblems(vrrp: Record<string, unknown>, c: LvsCluster, priorities: readonly number[], out: VarProblem[]): void {
  const bad = (field: string, message: string | undefined) => { if (message !== undefined) out.push({ field: `cluster.vrrp.${field}`, message }); };
  const warn = (field: string, message: string | undefined) => { if (message !== undefined) out.push({ field: `cluster.vrrp.${field}`, message, warning: true }); };
  const nopreempt = vrrp.nopreempt === true;
  const weighted = (field: string, w: unknown, what: string) => {
    if (w === undefined) return;
    const wrong = wholeNumber(w, -253, 253);
    if (wrong) bad(field, wrong);
    else warn(field, moveWarning(what, w as number, priorities, nopreempt));
  };

  if (vrrp.trackScripts !== undefined && !Array.isArray(vrrp.trackScripts)) bad('trackScripts', `must be a list of { name, script, user, … } or { kind: 'file', name, path }, got ${describe(vrrp.trackScripts)}`);
  const names = new Map<string, number>();
  (Array.isArray(vrrp.trackScripts) ? vrrp.trackScripts as unknown[] : []).forEach((t, i) => {
    const at = `trackScripts[${i}]`;
    if (!isRecord(t)) { bad(at, `must be { name, script, user, … } or { kind: 'file', name, path }, got ${describe(t)}`); return; }
    if (typeof t.name !== 'string' || !TRACK_NAME.test(t.name)) bad(`${at}.name`, `must be a keepalived name: a letter, then letters, digits, _ or -, got ${describe(t.name)}`);
    else if (t.name === 'play_handover') bad(`${at}.name`, 'play_handover is the planned handover\'s track_file; choose another name');
    else if (names.has(t.name)) bad(`${at}.name`, `${t.name} is also trackScripts[${names.get(t.name)}]'s name; names must be unique`);
    else names.set(t.name, i);
    const what = typeof t.name === 'string' ? t.name : 'tracker';
    if (t.kind === 'file') {
      if (typeof t.path !== 'string' || !/^\/[^\s"\\!#]+$/.test(t.path)) bad(`${at}.path`, `must be an absolute path without spaces, quotes, backslashes, ! or #, got ${describe(t.path)}`);
      else if (t.path === HANDOVER_FILE) bad(`${at}.path`, `${HANDOVER_FILE} is the planned handover's file (play handover writes it); use another file`);
      weighted(`${at}.weight`, t.weight, what);
      return;
    }
    if (t.kind !== undefined && t.kind !== 'script') { bad(`${at}.kind`, oneOf(t.kind, ['script', 'file'])); return; }
    if (typeof t.script !== 'string' || !SCRIPT_LINE.test(t.script)) bad(`${at}.script`, `${SCRIPT_RULE}, got ${describe(t.script)}`);
    if (typeof t.user !== 'string' || !USER_NAME.test(t.user)) bad(`${at}.user`, `must be a Linux user name (the script runs as that user), got ${describe(t.user)}`);
    if (t.interval !== undefined) bad(`${at}.interval`, wholeNumber(t.interval, 1, 3600, { unit: 'seconds' }));
    if (t.timeout !== undefined) bad(`${at}.timeout`, wholeNumber(t.timeout, 1, 3600, { unit: 'seconds' }));
    if (t.rise !== undefined) bad(`${at}.rise`, wholeNumber(t.rise, 1, 100));
    if (t.fall !== undefined) bad(`${at}.fall`, wholeNumber(t.fall, 1, 100));
    // A run that outlasts the interval is still running when the next one is due: keepalived skips it.
    if (typeof t.timeout === 'number' && typeof t.interval === 'number' && t.timeout > t.interval) warn(`${at}.timeout`, `${t.timeout} s is longer than the interval (${t.interval} s): a slow run delays the next one, so failures are seen later than interval × fall`);
    weighted(`${at}.weight`, t.weight, what);
  });

  if (vrrp.trackInterfaces !== undefined && !Array.isArray(vrrp.trackInterfaces)) bad('trackInterfaces', `must be a list of interface names or { name, weight }, got ${describe(vrrp.trackInterfaces)}`);
  const ifaces = new Map<string, number>();
  (Array.isArray(vrrp.trackInterfaces) ? vrrp.trackInterfaces as unknown[] : []).forEach((t, i) => {
    const at = `trackInterfaces[${i}]`;
    const e: Record<string, unknown> | undefined = typeof t === 'string' ? { name: t } : isRecord(t) ? t : undefined;
    if (!e) { bad(at, `must be an interface name or { name, weight }, got ${describe(t)}`); return; }
    const field = typeof t === 'string' ? at : `${at}.name`;
    if (typeof e.name !== 'string' || !IFACE_NAME.test(e.name)) bad(field, `must be a Linux interface name, got ${describe(e.name)}`);
    else if (e.name === c.interface) bad(field, `${e.name} is the cluster's interface, which the instance always watches (down = FAULT); list other interfaces here`);
    else if (ifaces.has(e.name)) bad(field, `${e.name} is also trackInterfaces[${ifaces.get(e.name)}]`);
    else ifaces.set(e.name, i);
    weighted(`${at}.weight`, e.weight, `interface ${String(e.name)}`);
  });

  if (vrrp.notify !== undefined) {
    if (!isRecord(vrrp.notify)) bad('notify', `must be { master?, backup?, fault?, stop?, any?, user }, got ${describe(vrrp.notify)}`);
    else {
      const n = vrrp.notify;
      for (const k of Object.keys(n)) if (![...NOTIFY_KEYS, 'user'].includes(k)) bad(`notify.${k}`, `is not a notify script: give master, backup, fault, stop or any`);
      for (const k of NOTIFY_KEYS) if (n[k] !== undefined && (typeof n[k] !== 'string' || !SCRIPT_LINE.test(n[k]))) bad(`notify.${k}`, `${SCRIPT_RULE}, got ${describe(n[k])}`);
      if (!NOTIFY_KEYS.some((k) => n[k] !== undefined)) bad('notify', 'names no script: give master, backup, fault, stop or any (or leave notify out)');
      if (typeof n.user !== 'string' || !USER_NAME.test(n.user)) bad('notify.user', `must be a Linux user name (the notify scripts run as that user), got ${describe(n.user)}`);
    }
  }

  if (vrrp.garp !== undefined) {
    if (!isRecord(vrrp.garp)) bad('garp', `must be { masterDelay?, masterRepeat?, masterRefresh? }, got ${describe(vrrp.garp)}`);
    else {
      const g = vrrp.garp;
      for (const k of Object.keys(g)) if (!['masterDelay', 'masterRepeat', 'masterRefresh'].includes(k)) bad(`garp.${k}`, 'is not a garp setting: give masterDelay, masterRepeat or masterRefresh');
      if (g.masterDelay !== undefined) bad('garp.masterDelay', wholeNumber(g.masterDelay, 0, 1000, { unit: 'seconds' }));
      if (g.masterRepeat !== undefined) bad('garp.masterRepeat', wholeNumber(g.masterRepeat, 1, 100));
      if (g.masterRefresh !== undefined) bad('garp.masterRefresh', wholeNumber(g.masterRefresh, 0, 86400, { unit: 'seconds' }));
    }
  }
}

/**
 * Every problem with the cluster, before any connection. Warnings (the
 * seed's persistence + rr trap) come back with `warning: true`. Inventories
 * may be untyped, so every field is checked for its JS type too: a value of
 * the wrong type is a problem, never a crash.
 *
 * @example
 * ```ts
 * import { validateCluster } from './cluster.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const problems = validateCluster(inventory.vars.cluster, inventory); // []
 * ```
 */
export function validateCluster(c: LvsCluster | undefined, inv: Inventory<LvsVars>): VarProblem[] {
  if (!isRecord(c)) return [{ field: 'cluster', message: `is required (an LvsCluster), got ${describe(c)}` }];
  const out: VarProblem[] = [];
  const bad = (field: string, message: string | undefined) => { if (message !== undefined) out.push({ field: `cluster.${field}`, message }); };
  const hostByName = new Map(inv.hosts.map((h) => [h.name, h]));

  const vipOk = ipv4(c.vip) !== undefined;
  if (!vipOk) bad('vip', `must be an IPv4 address, got ${describe(c.vip)}`);
  if (!cidr(c.subnet)) bad('subnet', `must be a CIDR like 192.168.56.0/24, got ${describe(c.subnet)}`);
  else if (vipOk && !inCidr(c.vip, c.subnet)) bad('vip', `${c.vip} is outside the directors' subnet ${c.subnet}`);
  const owner = vipOk ? inv.hosts.find((h) => h.address === c.vip) : undefined;
  if (owner) bad('vip', `${c.vip} is the address of host ${owner.name}; the VIP must be unused`);
  bad('virtualRouterId', wholeNumber(c.virtualRouterId, 1, 255));
  bad('advertInterval', wholeNumber(c.advertInterval, 1, 255, { unit: 'seconds' }));
  const auth: Record<string, unknown> = isRecord(c.auth) ? c.auth : {};
  const authType = oneOf(auth.type, ['PASS', 'AH']);
  // The pass is a secret: its length is told, never its value.
  if (!isRecord(c.auth)) bad('auth', `must be { type, pass }, got ${describe(c.auth)}`);
  else if (authType) bad('auth.type', authType);
  else if (typeof auth.pass !== 'string' || auth.pass.length === 0) bad('auth.pass', `is required (a string of 1–8 characters), got ${describe(auth.pass)}`);
  else if (auth.pass.length > 8) bad('auth.pass', `is ${auth.pass.length} characters; keepalived silently uses only the first 8`);
  if (c.services === undefined) serviceProblems(c as unknown as Record<string, unknown>, '', 'healthCheck', c, inv, out);
  else if (!Array.isArray(c.services)) bad('services', `must be a list of services, got ${describe(c.services)}`);
  else if (c.services.length === 0) bad('services', 'needs at least one service');
  else {
    for (const k of SHORTHAND) if (c[k] !== undefined) bad(k, `is the single-service shorthand; with cluster.services, give it in each service`);
    const seen = new Map<string, number>();
    c.services.forEach((s: unknown, i) => {
      if (!isRecord(s)) { bad(`services[${i}]`, `must be a service { port, protocol, scheduler, check, … }, got ${describe(s)}`); return; }
      serviceProblems(s, `services[${i}].`, 'check', c, inv, out);
      const key = `${s.vip ?? c.vip}:${s.port}/${s.protocol}`;
      if (seen.has(key)) bad(`services[${i}].port`, `${key} is also services[${seen.get(key)}]; IPVS has one virtual server per VIP, port and protocol`);
      else seen.set(key, i);
    });
    // A real server in no service would hold no VIP and serve nothing (its lo unit would be empty).
    const used = new Set(c.services.flatMap((s: unknown) => (isRecord(s) && isRecord(s.realServers) ? Object.keys(s.realServers) : isRecord(s) && s.realServers === undefined ? Object.keys(isRecord(c.realServers) ? c.realServers : {}) : [])));
    for (const name of Object.keys(isRecord(c.realServers) ? c.realServers : {})) {
      if (!used.has(name)) bad(`realServers.${name}`, `${name} is in no service of cluster.services; list it in a service's realServers, or remove it`);
    }
  }
  // Typed 'DR', but an untyped inventory can say anything.
  const fwd: unknown = c.forwarding;
  if (fwd === 'NAT' || fwd === 'TUN') bad('forwarding', `${fwd} is not supported: play sets up direct routing (DR) only; ${fwd === 'NAT' ? 'NAT needs the directors as the real servers\' default gateway' : 'TUN needs an ipip tunnel carrying the VIP on every real server'}, which the roles do not configure`);
  else bad('forwarding', oneOf(fwd, ['DR']));
  bad('delayLoop', wholeNumber(c.delayLoop, 1, 3600, { unit: 'seconds' }));
  if (typeof c.interface !== 'string' || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(c.interface)) bad('interface', `must be a Linux interface name, got ${describe(c.interface)}`);

  if (c.globalDefs !== undefined && !isRecord(c.globalDefs)) bad('globalDefs', `must be an object of keyword: value, got ${describe(c.globalDefs)}`);
  for (const [k, v] of Object.entries(isRecord(c.globalDefs) ? c.globalDefs : {})) {
    if (!/^[a-z][a-z0-9_]*$/.test(k)) bad(`globalDefs.${k}`, 'must be a keepalived keyword (lower case, digits, _)');
    else if (v !== true && (typeof v !== 'string' || v === '' || /[\n{}!#"]/.test(v))) bad(`globalDefs.${k}`, `must be true or a one-line value without braces, quotes or comments, got ${describe(v)}`);
  }
  if (c.directors !== undefined && !isRecord(c.directors)) bad('directors', `must be an object of host name: { priority }, got ${describe(c.directors)}`);
  const directors = Object.entries(isRecord(c.directors) ? c.directors : {});
  if (directors.length === 0 && (c.directors === undefined || isRecord(c.directors))) bad('directors', 'needs at least one director');
  const byPriority = new Map<number, string>();
  for (const [name, d] of directors) {
    if (!hostByName.has(name)) bad(`directors.${name}`, `no host named ${name} in the inventory`);
    else if (cidr(c.subnet) && !inCidr(hostByName.get(name)!.address, c.subnet)) bad(`directors.${name}`, `address ${hostByName.get(name)!.address} is outside ${c.subnet}`);
    const priority = isRecord(d) ? d.priority : undefined;
    const wrong = isRecord(d) ? wholeNumber(priority, 1, 254, { note: '(255 is reserved for the address owner)' }) : `must be { priority }, got ${describe(d)}`;
    if (wrong) bad(isRecord(d) ? `directors.${name}.priority` : `directors.${name}`, wrong);
    else if (byPriority.has(priority as number)) bad(`directors.${name}.priority`, `${priority} is also ${byPriority.get(priority as number)}'s priority; priorities must differ so one director is MASTER`);
    else byPriority.set(priority as number, name);
    if (isRecord(d) && d.address !== undefined) {
      if (ipv4(d.address) === undefined) bad(`directors.${name}.address`, `must be an IPv4 address (this director's on ${String(c.interface)}), got ${describe(d.address)}`);
      else if (cidr(c.subnet) && !inCidr(d.address as string, c.subnet)) bad(`directors.${name}.address`, `${d.address} is outside ${c.subnet}`);
    }
    if (isRecord(d) && d.state !== undefined) bad(`directors.${name}.state`, oneOf(d.state, ['MASTER', 'BACKUP']));
  }
  const vrrp: Record<string, unknown> = isRecord(c.vrrp) ? c.vrrp : {};
  if (c.vrrp !== undefined && !isRecord(c.vrrp)) bad('vrrp', `must be { mode?, nopreempt?, preemptDelay?, trackScripts?, trackInterfaces?, notify?, garp?, instances?, syncGroups? }, got ${describe(c.vrrp)}`);
  if (vrrp.mode !== undefined) bad('vrrp.mode', oneOf(vrrp.mode, ['multicast', 'unicast']));
  if (vrrp.mode === 'unicast') {
    if (directors.length < 2) bad('vrrp.mode', `unicast needs at least two directors (each sends its adverts to the others), got ${directors.length}`);
    const byAddress = new Map<string, string>();
    for (const [name] of directors) {
      const a = directorAddress(c, name, inv);
      if (byAddress.has(a)) bad(`directors.${name}.address`, `${a} is also ${byAddress.get(a)}'s address; unicast VRRP needs each director's own`);
      else byAddress.set(a, name);
    }
  }
  if (vrrp.nopreempt !== undefined && typeof vrrp.nopreempt !== 'boolean') bad('vrrp.nopreempt', `must be true or false, got ${describe(vrrp.nopreempt)}`);
  if (vrrp.preemptDelay !== undefined) bad('vrrp.preemptDelay', wholeNumber(vrrp.preemptDelay, 0, 1000, { unit: 'seconds' }));
  if (vrrp.nopreempt === true && vrrp.preemptDelay !== undefined) bad('vrrp.preemptDelay', 'has no effect with vrrp.nopreempt: a director that never preempts has no preemption to delay; give one or the other');
  if (vrrp.nopreempt === true) {
    out.push({ field: 'cluster.vrrp.nopreempt', warning: true, message: 'the VIP stays where it is after a failover: play handback, and a rollout that must restart the MASTER (it hands the VIP over and takes it back), expect the highest priority to take it back and will fail; verify expects it on the highest priority' });
  }
  if (vrrp.nopreempt === true || vrrp.preemptDelay !== undefined) {
    const what = vrrp.nopreempt === true ? 'vrrp.nopreempt' : 'vrrp.preemptDelay';
    for (const [name, d] of directors) {
      if (isRecord(d) && d.state === 'MASTER') bad(`directors.${name}.state`, `MASTER with ${what}: keepalived ignores ${what === 'vrrp.nopreempt' ? 'nopreempt' : 'preempt_delay'} on an instance whose state is MASTER, so this director would still take the VIP back; leave state out (every director then starts as BACKUP and the highest priority is elected)`);
    }
  }
  trackingProblems(vrrp, c, [...byPriority.keys()].sort((a, b) => b - a), out);
  instanceProblems(vrrp, { vip: c.vip, virtualRouterId: c.virtualRouterId, vips: vipCandidates(c), directors: directors.map(([n]) => n) }, out);
  if (vrrp.instances !== undefined) {
    for (const [name, d] of directors) {
      if (isRecord(d) && d.state !== undefined) bad(`directors.${name}.state`, 'is refused with vrrp.instances: each instance\'s highest priority starts as its MASTER, the others as BACKUP; leave state out');
    }
  }
  if (out.every((p) => p.warning) && Array.isArray(vrrp.syncGroups)) {
    const all = instancesOf(c);
    (vrrp.syncGroups as VrrpSyncGroup[]).forEach((g, i) => {
      const masters = [...new Set(g.instances.map((n) => all.find((x) => x.name === n)?.master))];
      // Synced instances change state together: with two MASTERs they would pull each other back and forth.
      if (masters.length > 1) bad(`vrrp.syncGroups[${i}].instances`, `${g.instances.join(', ')} have different MASTERs (${g.instances.map((n) => `${n}: ${all.find((x) => x.name === n)?.master}`).join(', ')}); instances that fail over together need the same highest-priority director`);
    });
  }
  if (c.realServers !== undefined && !isRecord(c.realServers)) bad('realServers', `must be an object of host name: { weight }, got ${describe(c.realServers)}`);
  const reals = Object.entries(isRecord(c.realServers) ? c.realServers : {});
  if (reals.length === 0 && (c.realServers === undefined || isRecord(c.realServers))) bad('realServers', 'needs at least one real server');
  for (const [name, r] of reals) {
    if (!hostByName.has(name)) bad(`realServers.${name}`, `no host named ${name} in the inventory`);
    if (isRecord(c.directors) && c.directors[name]) bad(`realServers.${name}`, `${name} is also a director; in DR mode a director cannot serve its own VIP`);
    if (!isRecord(r)) bad(`realServers.${name}`, `must be { weight, label? }, got ${describe(r)}`);
    else {
      bad(`realServers.${name}.weight`, wholeNumber(r.weight, 0, 65535));
      if (r.label !== undefined) bad(`realServers.${name}.label`, text(r.label, { nonEmpty: true }));
    }
  }
  return out;
}

/**
 * The cluster model, checked once per run for every role that uses it: the
 * model lives in the inventory's `vars`, so a mistake in it is reported once,
 * against the inventory. A group or host that sets a `cluster` of its own
 * gets its own check, and its problems name those hosts.
 *
 * @example
 * ```ts
 * import { defineRole } from 'playbook-ts';
 * import { clusterRule, type LvsVars } from './cluster.ts';
 * export const web = defineRole<LvsVars>({ name: 'web', inventoryRules: [clusterRule], tasks: () => [] });
 * ```
 */
export const clusterRule: InventoryRule<LvsVars> = (inv, hosts) => {
  const users = new Map<LvsCluster | undefined, string[]>();
  for (const h of hosts) users.set(h.vars.cluster, [...(users.get(h.vars.cluster) ?? []), h.name]);
  // No host at all (the 'master' group of a cluster without directors): the inventory's own model is the one to judge.
  if (hosts.length === 0) users.set(inv.vars.cluster, []);
  const out: InventoryProblem[] = [];
  for (const [c, names] of users) {
    const found = validateCluster(c, inv);
    if (c === inv.vars.cluster) out.push(...found);
    else for (const host of names) out.push(...found.map((p) => ({ ...p, host })));
  }
  return out;
};
