/**
 * Just enough of keepalived.conf to roll a change out safely: the VRRP
 * settings every director must share, and each virtual server's real
 * servers with their weights. Comments (`!`, `#`) and unknown blocks are
 * skipped; this reads configs play wrote, and old hand-written ones.
 */

/** A block or a statement: `name args… { children }`. */
interface Node {
  words: string[];
  children?: Node[];
}

function tokens(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[!#].*$/, '');
    for (const t of line.match(/"[^"]*"|[{}]|[^\s{}]+/g) ?? []) out.push(t);
    out.push('\n');
  }
  return out;
}

function parseNodes(ts: string[], i = 0): { nodes: Node[]; next: number } {
  const nodes: Node[] = [];
  let words: string[] = [];
  const flush = () => { if (words.length) nodes.push({ words }); words = []; };
  while (i < ts.length) {
    const t = ts[i++]!;
    if (t === '\n') flush();
    else if (t === '{') {
      const inner = parseNodes(ts, i);
      nodes.push({ words, children: inner.nodes });
      words = [];
      i = inner.next;
    } else if (t === '}') { flush(); return { nodes, next: i }; }
    else words.push(t);
  }
  flush();
  return { nodes, next: i };
}

const first = (ns: Node[] | undefined, name: string) => ns?.find((n) => n.words[0] === name);
const value = (ns: Node[] | undefined, name: string) => first(ns, name)?.words[1];

/** One real server of a virtual server. */
export interface KaRealServer {
  address: string;
  port: number;
  weight: number;
}

/** One virtual server. */
export interface KaVirtualServer {
  address: string;
  port: number;
  protocol: string;
  scheduler: string;
  forwarding: string;
  reals: KaRealServer[];
  /** `sorry_server ADDR PORT` as ADDR:PORT: IPVS lists it as a real server while every real server is down. */
  sorry?: string;
}

/** One VRRP instance: the fields that must agree across directors, and this director's own. */
export interface KaVrrpInstance {
  name: string;
  state?: string;
  interface?: string;
  priority?: number;
  /** `unicast_src_ip`, when set. */
  unicastSrc?: string;
  /**
   * Directors whose values differ here ignore each other's adverts (VRRPv2
   * drops an advert with another interval, another router id is another
   * router, another password fails authentication) and each takes the VIP.
   */
  shared: {
    advertInt?: string; virtualRouterId?: string; authType?: string; authPass?: string; vips: string[];
    /**
     * Unicast VRRP: every director's address (its `unicast_src_ip` and its
     * `unicast_peer`s, sorted), the same on each. Absent for multicast; a
     * multicast director and a unicast one never hear each other.
     */
    unicast?: string;
  };
}

/** What the rollout needs to know of a keepalived.conf. */
export interface KaConfig {
  globals: Record<string, string>;
  instances: KaVrrpInstance[];
  virtualServers: KaVirtualServer[];
  /** Top-level and global_defs keywords present (for the restart-only rules). */
  keywords: string[];
}

/** Parse keepalived.conf text (never throws: an unreadable config is an empty one). */
export function parseKeepalived(text: string): KaConfig {
  const { nodes } = parseNodes(tokens(text));
  const globalsNode = first(nodes, 'global_defs')?.children ?? [];
  const globals = Object.fromEntries(globalsNode.map((n) => [n.words[0]!, n.words.slice(1).join(' ')]));
  const instances = nodes.filter((n) => n.words[0] === 'vrrp_instance').map((n): KaVrrpInstance => {
    const c = n.children ?? [];
    const auth = first(c, 'authentication')?.children;
    const vips = (first(c, 'virtual_ipaddress')?.children ?? []).map((x) => x.words[0]!.split('/')[0]!).sort();
    const peers = first(c, 'unicast_peer')?.children?.map((x) => x.words[0]!) ?? [];
    const src = value(c, 'unicast_src_ip');
    const unicast = peers.length || src ? [...(src ? [src] : []), ...peers].sort().join(' ') : undefined;
    return {
      name: n.words[1] ?? '',
      state: value(c, 'state'),
      interface: value(c, 'interface'),
      priority: value(c, 'priority') === undefined ? undefined : Number(value(c, 'priority')),
      ...(src ? { unicastSrc: src } : {}),
      shared: { advertInt: value(c, 'advert_int'), virtualRouterId: value(c, 'virtual_router_id'), authType: value(auth, 'auth_type'), authPass: value(auth, 'auth_pass'), vips, ...(unicast ? { unicast } : {}) },
    };
  });
  const virtualServers = nodes.filter((n) => n.words[0] === 'virtual_server').map((n): KaVirtualServer => {
    const c = n.children ?? [];
    return {
      address: n.words[1] ?? '',
      port: Number(n.words[2] ?? 0),
      protocol: value(c, 'protocol') ?? 'TCP',
      scheduler: value(c, 'lb_algo') ?? '',
      forwarding: value(c, 'lb_kind') ?? 'NAT',
      ...(first(c, 'sorry_server') ? { sorry: first(c, 'sorry_server')!.words.slice(1, 3).join(':') } : {}),
      reals: c.filter((x) => x.words[0] === 'real_server').map((r) => ({
        address: r.words[1] ?? '', port: Number(r.words[2] ?? 0), weight: Number(value(r.children, 'weight') ?? 1),
      })),
    };
  });
  return { globals, instances, virtualServers, keywords: [...nodes.map((n) => n.words[0]!), ...globalsNode.map((n) => n.words[0]!)] };
}

/**
 * Settings keepalived cannot change on a reload: keepalived 2.2.7's
 * `reload_config()` (keepalived/core/main.c) logs "Cannot change … at a
 * reload - please restart" for each and then goes on with the *old* config,
 * silently but for that line; keepalived.conf(5) says the same of
 * net_namespace, instance and tmp_config_directory.
 */
export const RESTART_ONLY = ['net_namespace', 'net_namespace_ipvs', 'instance', 'nftables', 'nftables_ipvs', 'tmp_config_directory', 'disable_local_igmp'] as const;

/** How a config change must reach a running keepalived. */
export type Rollout =
  | { kind: 'reload' }
  | { kind: 'restart'; why: string }
  /** A VRRP setting every director must share changes: see {@link sharedChanges}. */
  | { kind: 'shared'; what: string[] };

/** The VRRP settings that differ between two configs, as "advert_int 1 → 2". */
export function sharedChanges(before: KaConfig, after: KaConfig): string[] {
  const out: string[] = [];
  const names: Record<keyof KaVrrpInstance['shared'], string> = { advertInt: 'advert_int', virtualRouterId: 'virtual_router_id', authType: 'auth_type', authPass: 'auth_pass', vips: 'virtual_ipaddress', unicast: 'unicast VRRP' };
  for (const a of after.instances) {
    const b = before.instances.find((x) => x.name === a.name);
    if (!b) continue;
    for (const k of Object.keys(names) as Array<keyof typeof names>) {
      const x = String(b.shared[k] ?? ''), y = String(a.shared[k] ?? '');
      // The password is a secret: say that it changes, not what it is.
      if (x !== y) out.push(k === 'authPass' ? `${a.name} auth_pass changes` : `${a.name} ${names[k]} ${x || '(none)'} → ${y || '(none)'}`);
    }
  }
  return out;
}

/** The shared VRRP settings of a config as one comparable string. */
export function sharedOf(c: KaConfig): string {
  return JSON.stringify(c.instances.map((i) => [i.name, i.shared]));
}

/** Decide how a running keepalived takes the new config. */
export function rolloutOf(before: KaConfig, after: KaConfig): Rollout {
  for (const k of RESTART_ONLY) {
    const was = before.globals[k] ?? (before.keywords.includes(k) ? '(set)' : undefined);
    const now = after.globals[k] ?? (after.keywords.includes(k) ? '(set)' : undefined);
    if (was !== now) return { kind: 'restart', why: `${k} changes, and keepalived cannot change it on a reload` };
  }
  const shared = sharedChanges(before, after);
  return shared.length ? { kind: 'shared', what: shared } : { kind: 'reload' };
}

/**
 * The instances of `before` that a reload replaces instead of updating:
 * keepalived matches an old instance to a new one by VRID, interface,
 * multicast or unicast, and the unicast source (`vrrp_exist` in
 * keepalived/vrrp/vrrp.c). One without a match is deleted, its VIPs
 * removed, and the new one starts afresh: even as MASTER it takes the VIPs
 * only after a master-down interval (3 adverts and the skew; measured: 3.3
 * s without the VIP, 65 of 5,482 requests failed, switching to unicast).
 */
export function replacedInstances(before: KaConfig, after: KaConfig): string[] {
  const same = (a: KaVrrpInstance, b: KaVrrpInstance) => a.shared.virtualRouterId === b.shared.virtualRouterId && a.interface === b.interface
    && (a.shared.unicast === undefined) === (b.shared.unicast === undefined) && (a.shared.unicast === undefined || a.unicastSrc === b.unicastSrc);
  return before.instances.filter((i) => !after.instances.some((j) => same(i, j))).map((i) => i.name);
}

/** Real servers of `before` that `after` no longer has, per virtual server. */
export function removedReals(before: KaConfig, after: KaConfig): Array<{ vs: KaVirtualServer; real: KaRealServer }> {
  const out: Array<{ vs: KaVirtualServer; real: KaRealServer }> = [];
  for (const vs of before.virtualServers) {
    const now = after.virtualServers.find((x) => x.address === vs.address && x.port === vs.port && x.protocol === vs.protocol);
    for (const r of vs.reals) if (!now?.reals.some((x) => x.address === r.address && x.port === r.port)) out.push({ vs, real: r });
  }
  return out;
}

/**
 * VIPs whose instance a reload replaces or changes: those of a replaced
 * instance ({@link replacedInstances}) and those that move to another
 * instance (active/active: a VIP handed from `VI_1` to a new `VI_2`).
 * keepalived removes them at the reload, and the instance that carries
 * them afterwards takes them only when it becomes MASTER, a master-down
 * interval later. VIPs `after` no longer has are not listed: they go.
 */
export function rehomedVips(before: KaConfig, after: KaConfig): string[] {
  const replaced = new Set(replacedInstances(before, after));
  const out: string[] = [];
  for (const b of before.instances) {
    for (const vip of b.shared.vips) {
      const a = after.instances.find((i) => i.shared.vips.includes(vip));
      if (a && (replaced.has(b.name) || a.shared.virtualRouterId !== b.shared.virtualRouterId)) out.push(vip);
    }
  }
  return [...new Set(out)];
}

/** What one director must move to hand over the instances it is MASTER of, per the directors' own configs. */
export interface MasteredInstances {
  /** The VIPs of those instances, in config order. */
  vips: string[];
  /** The first such instance's router id: the adverts that time the move. */
  virtualRouterId: number;
  /** Every director's priority in that instance, by name (a director without the instance is left out). */
  priorities: Record<string, number>;
}

/**
 * The instances `self` is MASTER of, read from every director's
 * keepalived.conf (an instance is matched across directors by its
 * virtual_router_id): where its priority is above every other director's
 * for the same router id. Priorities come from the configs, not the model,
 * so a rollout half way from one model to another hands over what really
 * runs. `undefined` when it is MASTER of none.
 */
export function masteredBy(self: string, confs: Readonly<Record<string, KaConfig>>): MasteredInstances | undefined {
  const mine = confs[self]?.instances ?? [];
  const prioritiesOf = (vrid: string | undefined) => Object.fromEntries(Object.entries(confs).flatMap(([name, c]) => {
    const p = c.instances.find((i) => i.shared.virtualRouterId === vrid)?.priority;
    return p === undefined ? [] : [[name, p]];
  })) as Record<string, number>;
  const led = mine.filter((i) => {
    const ps = prioritiesOf(i.shared.virtualRouterId);
    return Object.entries(ps).every(([n, p]) => n === self || p < (ps[self] ?? 0));
  });
  if (!led.length) return undefined;
  return { vips: led.flatMap((i) => i.shared.vips), virtualRouterId: Number(led[0]!.shared.virtualRouterId), priorities: prioritiesOf(led[0]!.shared.virtualRouterId) };
}
