/**
 * What an nftables ruleset does with one director's VRRP advert, read from
 * `nft -j list ruleset`: a pure parser and a small evaluator, so that each
 * ruleset a user may have is a fixture away (spec/roles/vrrp-firewall.spec.ts).
 */
import { ipv4 } from '../../lib/core/ipv4.ts';

/** One rule of a chain, as nft lists it. */
export interface NftRule {
  handle: number;
  comment?: string;
  /** The rule's statements, as nft's JSON schema gives them. */
  expr: readonly unknown[];
}

/** One chain; `hook` and `policy` only on a base chain. */
export interface NftChain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  /** @default 'accept' (what the kernel does without one) */
  policy?: 'accept' | 'drop';
  rules: NftRule[];
}

/** A ruleset: its chains, each with its rules in order. */
export interface NftRuleset {
  chains: NftChain[];
}

/** `inet filter input`: how nft's commands name a chain. */
export const chainId = (c: Pick<NftChain, 'family' | 'table' | 'name'>): string => `${c.family} ${c.table} ${c.name}`;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parse `nft -j list ruleset` (nftables ≥ 0.9 JSON). Not JSON, or no
 * `nftables` array: the text is nft's error, returned as `error`.
 *
 * @example
 * ```ts
 * import { parseNftRuleset } from './nft-ruleset.ts';
 * const r = parseNftRuleset('{"nftables": [{"chain": {"family": "inet", "table": "filter", "name": "input", "hook": "input", "policy": "drop"}}]}');
 * // { chains: [{ family: 'inet', table: 'filter', name: 'input', hook: 'input', policy: 'drop', rules: [] }] }
 * ```
 */
export function parseNftRuleset(out: string): NftRuleset | { error: string } {
  let doc: unknown;
  try { doc = JSON.parse(out); } catch { return { error: out.trim() || 'no output' }; }
  const items = isObj(doc) ? doc.nftables : undefined;
  if (!Array.isArray(items)) return { error: out.trim() };
  const chains: NftChain[] = [];
  const byId = new Map<string, NftChain>();
  for (const item of items) {
    if (!isObj(item)) continue;
    if (isObj(item.chain)) {
      const c = item.chain;
      const chain: NftChain = { family: String(c.family), table: String(c.table), name: String(c.name), rules: [] };
      if (typeof c.hook === 'string') chain.hook = c.hook;
      if (c.policy === 'drop' || c.policy === 'accept') chain.policy = c.policy;
      chains.push(chain);
      byId.set(chainId(chain), chain);
    } else if (isObj(item.rule)) {
      const r = item.rule;
      // nft lists every chain before any rule, so the chain is known here.
      const chain = byId.get(`${String(r.family)} ${String(r.table)} ${String(r.chain)}`);
      chain?.rules.push({ handle: Number(r.handle), ...(typeof r.comment === 'string' ? { comment: r.comment } : {}), expr: Array.isArray(r.expr) ? r.expr : [] });
    }
  }
  return { chains };
}

/** The packet a chain is asked about: a VRRP advert (IP protocol 112) from `saddr`. */
export interface VrrpAdvert {
  saddr: string;
  /** The interface it arrives on; unknown, a rule matching an interface is not sure to match. */
  iifname?: string;
}

/** What a chain does with the advert, and which rule (or the policy) decided. */
export interface Verdict {
  verdict: 'accept' | 'drop';
  /** `policy drop`, `rule 7`, `rule 5 (jump allowed)`. */
  by: string;
}

type Truth = true | false | 'unknown';

/** Is `addr` in a value of nft's JSON: an address, a prefix, a range, a set of those? */
function holdsAddress(v: unknown, addr: number): Truth {
  if (typeof v === 'string') return ipv4(v) === addr;
  if (Array.isArray(v)) return anyOf(v.map((x) => holdsAddress(x, addr)));
  if (!isObj(v)) return 'unknown';
  if (Array.isArray(v.set)) return holdsAddress(v.set, addr);
  if (isObj(v.prefix)) {
    const base = ipv4(v.prefix.addr);
    const len = Number(v.prefix.len);
    if (base === undefined || !Number.isInteger(len)) return 'unknown';
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return ((addr & mask) >>> 0) === ((base & mask) >>> 0);
  }
  if (Array.isArray(v.range)) {
    const [lo, hi] = v.range.map(ipv4);
    return lo === undefined || hi === undefined ? 'unknown' : addr >= lo && addr <= hi;
  }
  return 'unknown';
}

/** Is VRRP (112, `vrrp` in /etc/protocols) in a protocol value? */
function holdsVrrp(v: unknown): Truth {
  if (v === 'vrrp' || v === 112) return true;
  if (typeof v === 'string' || typeof v === 'number') return false;
  if (Array.isArray(v)) return anyOf(v.map(holdsVrrp));
  if (isObj(v) && Array.isArray(v.set)) return holdsVrrp(v.set);
  return 'unknown';
}

function anyOf(ts: Truth[]): Truth {
  return ts.includes(true) ? true : ts.includes('unknown') ? 'unknown' : false;
}

/** Does one `match` statement hold for the advert? Anything not understood is `unknown`. */
function matches(m: Json, p: VrrpAdvert): Truth {
  const left = m.left;
  const op = m.op;
  if (op !== '==' && op !== '!=' && op !== 'in') return 'unknown';
  let t: Truth = 'unknown';
  if (isObj(left) && isObj(left.payload) && left.payload.protocol === 'ip') {
    if (left.payload.field === 'protocol') t = holdsVrrp(m.right);
    else if (left.payload.field === 'saddr') t = holdsAddress(m.right, ipv4(p.saddr)!);
  } else if (isObj(left) && isObj(left.meta)) {
    const key = left.meta.key;
    if (key === 'l4proto') t = holdsVrrp(m.right);
    else if (key === 'nfproto') t = m.right === 'ipv4';
    // `meta protocol` is the ethertype: an advert is IPv4.
    else if (key === 'protocol') t = m.right === 'ip';
    else if ((key === 'iifname' || key === 'iif') && typeof m.right === 'string') {
      // Loopback is never where a peer's advert comes from; another name only when we know ours.
      t = m.right === 'lo' ? false : p.iifname === undefined ? 'unknown' : m.right === p.iifname;
    }
  }
  if (t === 'unknown' || op !== '!=') return t;
  return !t;
}

type Outcome = { verdict: 'accept' | 'drop'; by: string } | { verdict: 'fall' } | { verdict: 'return' };
const NOT_A_CONDITION = new Set(['counter', 'log', 'comment', 'notrack']);

/**
 * Walk a chain's rules for the advert, as the kernel would: the first rule
 * whose every condition surely holds decides (accept, drop, reject) or
 * moves on (jump, goto, return). A rule with a condition play cannot judge
 * (`ct state`, `limit`, an address set by name, iptables-nft's `xt`
 * matches…) is passed over: it is not counted on to accept, and a drop that
 * depends on it is not the one that drops VRRP (a policy drop or an
 * unconditional final drop is). Passing over a `return` or `jump` play
 * cannot judge may find a drop the advert never reaches: play then admits
 * VRRP where it was perhaps not needed, which is the safe side to err on.
 */
function walk(rs: NftRuleset, chain: NftChain, p: VrrpAdvert, skip: (r: NftRule) => boolean, depth: number): Outcome {
  if (depth > 16) return { verdict: 'fall' };
  for (const rule of chain.rules) {
    if (skip(rule)) continue;
    let sure = true;
    let outcome: Outcome | undefined;
    for (const e of rule.expr) {
      if (!isObj(e)) { sure = false; break; }
      const [kind] = Object.keys(e);
      if (kind === undefined || NOT_A_CONDITION.has(kind)) continue;
      if (kind === 'match') {
        const t = matches(e.match as Json, p);
        if (t === false) { sure = false; outcome = undefined; break; }
        if (t === 'unknown') sure = false;
        continue;
      }
      if (!sure) break;
      if (kind === 'accept') outcome = { verdict: 'accept', by: `rule ${rule.handle}` };
      else if (kind === 'drop' || kind === 'reject') outcome = { verdict: 'drop', by: `rule ${rule.handle}` };
      else if (kind === 'return') outcome = { verdict: 'return' };
      else if (kind === 'jump' || kind === 'goto') {
        const target = isObj(e[kind]) ? String((e[kind] as Json).target) : '';
        const next = rs.chains.find((c) => c.family === chain.family && c.table === chain.table && c.name === target);
        const inner = next ? walk(rs, next, p, skip, depth + 1) : { verdict: 'fall' as const };
        if (inner.verdict === 'accept' || inner.verdict === 'drop') outcome = { ...inner, by: `rule ${rule.handle} (${kind} ${target}: ${inner.by})` };
        // goto does not come back: what falls through there ends this chain too.
        else if (kind === 'goto') outcome = { verdict: 'return' };
      } else { sure = false; }
      break;
    }
    if (sure && outcome) return outcome;
  }
  return { verdict: 'fall' };
}

/**
 * What a base chain does with a VRRP advert from `p.saddr`. Rules that
 * `skip` says are not to be counted (play's own) are left out, so the
 * question "would the user's own firewall drop it?" can be asked.
 *
 * @example
 * ```ts
 * import { chainVerdict, parseNftRuleset, type NftRuleset } from './nft-ruleset.ts';
 * const rs = parseNftRuleset('{"nftables": [{"chain": {"family": "inet", "table": "filter", "name": "input", "hook": "input", "policy": "drop"}}]}') as NftRuleset;
 * chainVerdict(rs, rs.chains[0]!, { saddr: '192.168.56.102' }); // { verdict: 'drop', by: 'policy drop' }
 * ```
 */
export function chainVerdict(rs: NftRuleset, chain: NftChain, p: VrrpAdvert, skip: (r: NftRule) => boolean = () => false): Verdict {
  const o = walk(rs, chain, p, skip, 0);
  if (o.verdict === 'accept' || o.verdict === 'drop') return o;
  const policy = chain.policy ?? 'accept';
  return { verdict: policy, by: `policy ${policy}` };
}

/** The `ip saddr` values of a rule (one address or an anonymous set of them), sorted; undefined if it has none of that shape. */
export function ruleSources(rule: NftRule): string[] | undefined {
  for (const e of rule.expr) {
    if (!isObj(e) || !isObj(e.match)) continue;
    const left = e.match.left;
    if (!isObj(left) || !isObj(left.payload) || left.payload.protocol !== 'ip' || left.payload.field !== 'saddr') continue;
    const right = e.match.right;
    const values = typeof right === 'string' ? [right] : isObj(right) && Array.isArray(right.set) ? right.set : undefined;
    if (!values || !values.every((v) => typeof v === 'string')) return undefined;
    return [...(values as string[])].sort();
  }
  return undefined;
}
