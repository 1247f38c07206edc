import type { Secret } from '../../lib/core/secret.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import type { VarProblem } from '../../lib/dsl/role.ts';
import { cidr, inCidr, ipv4 } from '../../lib/core/ipv4.ts';

/** IPVS schedulers keepalived accepts as `lb_algo`. */
export type Scheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'lblc' | 'lblcr' | 'dh' | 'sh' | 'sed' | 'nq';

/** keepalived's TCP_CHECK, as in the seed. */
export interface TcpCheck {
  kind: 'TCP_CHECK';
  /** Seconds. @default 10 in the seed */
  connectTimeout: number;
  /** Retries before a real server is removed (keepalived ≥ 2: `retry`, not `nb_get_retry`). */
  retry: number;
  /** Seconds between retries. */
  delayBeforeRetry: number;
  /** @default the service port */
  port?: number;
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
  /** Service port. @default 80 in the seed */
  port: number;
  protocol: 'TCP' | 'UDP';
  /** VRRP virtual router id, 1–255, the same on every director. */
  virtualRouterId: number;
  /** VRRP advert interval in seconds. */
  advertInterval: number;
  /** VRRP authentication. keepalived uses only the first 8 characters of `pass`: longer is an error here. */
  auth: { type: 'PASS' | 'AH'; pass: Secret };
  /** `lb_algo`. */
  scheduler: Scheduler;
  /**
   * `lb_kind`: DR (direct routing, the seed). The only kind play builds end
   * to end: NAT needs the directors as the real servers' gateway and TUN an
   * ipip tunnel on each real server, which the roles do not set up, so both
   * are refused rather than deployed half-working.
   */
  forwarding: 'DR';
  /** Seconds a client sticks to one real server; absent or 0 = no persistence. */
  persistenceTimeout?: number;
  /** Seconds between health checks (`delay_loop`). */
  delayLoop: number;
  healthCheck: TcpCheck;
  /** The directors' interface carrying the VIP, e.g. enp0s8. */
  interface: string;
  /** Directors by inventory host name. Highest priority is MASTER. */
  directors: Readonly<Record<string, { priority: number }>>;
  /** Real servers by inventory host name; `label` is shown on its page (default: the host name). */
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
}

/**
 * Groups derived from the cluster, so membership is declared once:
 * `directors`, `realservers`, and `master` (the highest-priority director,
 * which `play handover` and `play handback` act on).
 */
export function lvsGroups(c: LvsCluster): Record<'directors' | 'realservers' | 'master', { hosts: string[] }> {
  return { directors: { hosts: Object.keys(c.directors) }, realservers: { hosts: Object.keys(c.realServers) }, master: { hosts: [masterOf(c)].filter(Boolean) } };
}

/** The MASTER: the director with the highest priority. */
export function masterOf(c: LvsCluster): string {
  return Object.entries(c.directors).sort((a, b) => b[1].priority - a[1].priority)[0]?.[0] ?? '';
}

const SCHEDULERS: readonly Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq'];
const int = (n: unknown, lo: number, hi: number) => typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi;

/**
 * Every problem with the cluster, before any connection. Warnings (the
 * seed's persistence + rr trap) come back with `warning: true`.
 */
export function validateCluster(c: LvsCluster | undefined, inv: Inventory<LvsVars>): VarProblem[] {
  if (!c || typeof c !== 'object') return [{ field: 'cluster', message: 'is required (an LvsCluster)' }];
  const out: VarProblem[] = [];
  const bad = (field: string, message: string) => out.push({ field: `cluster.${field}`, message });
  const hostByName = new Map(inv.hosts.map((h) => [h.name, h]));

  if (ipv4(c.vip) === undefined) bad('vip', `must be an IPv4 address, got ${JSON.stringify(c.vip)}`);
  if (!cidr(c.subnet)) bad('subnet', `must be a CIDR like 192.168.56.0/24, got ${JSON.stringify(c.subnet)}`);
  else if (ipv4(c.vip) !== undefined && !inCidr(c.vip, c.subnet)) bad('vip', `${c.vip} is outside the directors' subnet ${c.subnet}`);
  const owner = inv.hosts.find((h) => h.address === c.vip);
  if (owner) bad('vip', `${c.vip} is the address of host ${owner.name}; the VIP must be unused`);
  if (!int(c.port, 1, 65535)) bad('port', `must be 1–65535, got ${c.port}`);
  if (c.protocol !== 'TCP' && c.protocol !== 'UDP') bad('protocol', `must be TCP or UDP, got ${JSON.stringify(c.protocol)}`);
  if (!int(c.virtualRouterId, 1, 255)) bad('virtualRouterId', `must be 1–255, got ${c.virtualRouterId}`);
  if (!int(c.advertInterval, 1, 255)) bad('advertInterval', `must be a whole number of seconds 1–255, got ${c.advertInterval}`);
  if (!c.auth || (c.auth.type !== 'PASS' && c.auth.type !== 'AH')) bad('auth.type', 'must be PASS or AH');
  else if (typeof c.auth.pass !== 'string' || c.auth.pass.length === 0) bad('auth.pass', 'is required');
  else if (c.auth.pass.length > 8) bad('auth.pass', `is ${c.auth.pass.length} characters; keepalived silently uses only the first 8`);
  if (!SCHEDULERS.includes(c.scheduler)) bad('scheduler', `must be one of ${SCHEDULERS.join(', ')}, got ${JSON.stringify(c.scheduler)}`);
  // Typed 'DR', but an untyped inventory can say anything.
  const fwd: string = c.forwarding;
  if (fwd === 'NAT' || fwd === 'TUN') bad('forwarding', `${fwd} is not supported: play sets up direct routing (DR) only; ${fwd === 'NAT' ? 'NAT needs the directors as the real servers\' default gateway' : 'TUN needs an ipip tunnel carrying the VIP on every real server'}, which the roles do not configure`);
  else if (fwd !== 'DR') bad('forwarding', `must be "DR", got ${JSON.stringify(fwd)}`);
  if (c.persistenceTimeout !== undefined && !int(c.persistenceTimeout, 0, 2 ** 31)) bad('persistenceTimeout', 'must be a whole number of seconds');
  if (c.persistenceTimeout && (c.scheduler === 'rr' || c.scheduler === 'wrr')) {
    out.push({ field: 'cluster.persistenceTimeout', warning: true, message: `${c.persistenceTimeout} s with ${c.scheduler}: one client sticks to one real server for that long, so a single client never sees round robin` });
  }
  if (!int(c.delayLoop, 1, 3600)) bad('delayLoop', `must be 1–3600 seconds, got ${c.delayLoop}`);
  const hc = c.healthCheck;
  if (!hc || hc.kind !== 'TCP_CHECK') bad('healthCheck.kind', 'must be TCP_CHECK');
  else {
    if (!int(hc.connectTimeout, 1, 3600)) bad('healthCheck.connectTimeout', 'must be 1–3600 seconds');
    if (!int(hc.retry, 0, 100)) bad('healthCheck.retry', 'must be 0–100');
    if (!int(hc.delayBeforeRetry, 0, 3600)) bad('healthCheck.delayBeforeRetry', 'must be 0–3600 seconds');
    if (hc.port !== undefined && !int(hc.port, 1, 65535)) bad('healthCheck.port', 'must be 1–65535');
  }
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(c.interface ?? '')) bad('interface', `must be a Linux interface name, got ${JSON.stringify(c.interface)}`);

  for (const [k, v] of Object.entries(c.globalDefs ?? {})) {
    if (!/^[a-z][a-z0-9_]*$/.test(k)) bad(`globalDefs.${k}`, 'must be a keepalived keyword (lower case, digits, _)');
    else if (v !== true && (typeof v !== 'string' || v === '' || /[\n{}!#"]/.test(v))) bad(`globalDefs.${k}`, `must be true or a one-line value without braces, quotes or comments, got ${JSON.stringify(v)}`);
  }
  const directors = Object.entries(c.directors ?? {});
  if (directors.length === 0) bad('directors', 'needs at least one director');
  const byPriority = new Map<number, string>();
  for (const [name, d] of directors) {
    if (!hostByName.has(name)) bad(`directors.${name}`, `no host named ${name} in the inventory`);
    else if (c.subnet && cidr(c.subnet) && !inCidr(hostByName.get(name)!.address, c.subnet)) bad(`directors.${name}`, `address ${hostByName.get(name)!.address} is outside ${c.subnet}`);
    if (!int(d?.priority, 1, 254)) bad(`directors.${name}.priority`, `must be 1–254 (255 is reserved for the address owner), got ${d?.priority}`);
    else if (byPriority.has(d.priority)) bad(`directors.${name}.priority`, `${d.priority} is also ${byPriority.get(d.priority)}'s priority; priorities must differ so one director is MASTER`);
    else byPriority.set(d.priority, name);
  }
  const reals = Object.entries(c.realServers ?? {});
  if (reals.length === 0) bad('realServers', 'needs at least one real server');
  for (const [name, r] of reals) {
    if (!hostByName.has(name)) bad(`realServers.${name}`, `no host named ${name} in the inventory`);
    if (c.directors?.[name]) bad(`realServers.${name}`, `${name} is also a director; in DR mode a director cannot serve its own VIP`);
    if (!int(r?.weight, 0, 65535)) bad(`realServers.${name}.weight`, `must be 0–65535, got ${r?.weight}`);
  }
  return out;
}
