import type { Secret } from '../../lib/core/secret.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import type { InventoryProblem, InventoryRule, VarProblem } from '../../lib/dsl/role.ts';
import { cidr, inCidr, ipv4 } from '../../lib/core/ipv4.ts';
import { describe, oneOf, text, wholeNumber } from '../../lib/core/rules.ts';

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
  // Read before validation too (groups, playbook gates): a broken cluster gives '', not a throw.
  const ds = typeof c?.directors === 'object' && c.directors !== null ? c.directors : {};
  return Object.entries(ds).sort((a, b) => (b[1]?.priority ?? 0) - (a[1]?.priority ?? 0))[0]?.[0] ?? '';
}

const SCHEDULERS: readonly Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq'];
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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
  bad('port', wholeNumber(c.port, 1, 65535));
  bad('protocol', oneOf(c.protocol, ['TCP', 'UDP']));
  bad('virtualRouterId', wholeNumber(c.virtualRouterId, 1, 255));
  bad('advertInterval', wholeNumber(c.advertInterval, 1, 255, { unit: 'seconds' }));
  const auth: Record<string, unknown> = isRecord(c.auth) ? c.auth : {};
  const authType = oneOf(auth.type, ['PASS', 'AH']);
  // The pass is a secret: its length is told, never its value.
  if (!isRecord(c.auth)) bad('auth', `must be { type, pass }, got ${describe(c.auth)}`);
  else if (authType) bad('auth.type', authType);
  else if (typeof auth.pass !== 'string' || auth.pass.length === 0) bad('auth.pass', `is required (a string of 1–8 characters), got ${describe(auth.pass)}`);
  else if (auth.pass.length > 8) bad('auth.pass', `is ${auth.pass.length} characters; keepalived silently uses only the first 8`);
  bad('scheduler', oneOf(c.scheduler, SCHEDULERS));
  // Typed 'DR', but an untyped inventory can say anything.
  const fwd: unknown = c.forwarding;
  if (fwd === 'NAT' || fwd === 'TUN') bad('forwarding', `${fwd} is not supported: play sets up direct routing (DR) only; ${fwd === 'NAT' ? 'NAT needs the directors as the real servers\' default gateway' : 'TUN needs an ipip tunnel carrying the VIP on every real server'}, which the roles do not configure`);
  else bad('forwarding', oneOf(fwd, ['DR']));
  if (c.persistenceTimeout !== undefined) bad('persistenceTimeout', wholeNumber(c.persistenceTimeout, 0, 2 ** 31, { unit: 'seconds' }));
  if (typeof c.persistenceTimeout === 'number' && c.persistenceTimeout > 0 && (c.scheduler === 'rr' || c.scheduler === 'wrr')) {
    out.push({ field: 'cluster.persistenceTimeout', warning: true, message: `${c.persistenceTimeout} s with ${c.scheduler}: one client sticks to one real server for that long, so a single client never sees round robin` });
  }
  bad('delayLoop', wholeNumber(c.delayLoop, 1, 3600, { unit: 'seconds' }));
  const hc: Record<string, unknown> = isRecord(c.healthCheck) ? c.healthCheck : {};
  if (hc.kind !== 'TCP_CHECK') bad('healthCheck.kind', `must be TCP_CHECK, got ${describe(hc.kind)}`);
  else {
    bad('healthCheck.connectTimeout', wholeNumber(hc.connectTimeout, 1, 3600, { unit: 'seconds' }));
    bad('healthCheck.retry', wholeNumber(hc.retry, 0, 100));
    bad('healthCheck.delayBeforeRetry', wholeNumber(hc.delayBeforeRetry, 0, 3600, { unit: 'seconds' }));
    if (hc.port !== undefined) bad('healthCheck.port', wholeNumber(hc.port, 1, 65535));
  }
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
