/**
 * VRRP through a director's own firewall (#12). keepalived's adverts are IP
 * protocol 112, not a port: a host firewall that drops what it was not told
 * about drops them, each director then hears no MASTER and both hold the
 * VIP (acassen/keepalived#821, #2643). Where ufw is active, or an nftables
 * input chain would drop them, the adverts of every other director are
 * admitted by source address, in the place the firewall reads at boot.
 */
import { changes, noop, type Change } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { TaskError } from '../../lib/core/errors.ts';
import { fact } from '../../lib/core/fact.ts';
import { ipv4 } from '../../lib/core/ipv4.ts';
import type { PlanContext } from '../../lib/core/task.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import { describe } from '../../lib/core/rules.ts';
import type { ParamProblem } from '../../lib/tasks/checks.ts';
import { setBlock } from '../../lib/tasks/line-edit.ts';
import { planTextEdit, textEditFacts } from '../../lib/tasks/text-edit-plan.ts';
import { directorAddress, type LvsCluster, type LvsVars } from '../lvs/cluster.ts';
import { chainId, chainVerdict, parseNftRuleset, ruleSources, type NftChain, type NftRule, type NftRuleset } from './nft-ruleset.ts';

export { chainVerdict, parseNftRuleset, type NftChain, type NftRuleset, type Verdict } from './nft-ruleset.ts';

/** ufw's own rules file for what its command line cannot say (`ufw allow proto vrrp` needs ufw ≥ 0.36.2). */
export const UFW_BEFORE_RULES = '/etc/ufw/before.rules';
/** What nftables.service loads at boot and on `systemctl restart nftables`. */
export const NFTABLES_CONF = '/etc/nftables.conf';
/** The comment on play's nft rule: how a later run finds (and replaces) it. */
export const VRRP_RULE_COMMENT = 'play: VRRP from the other directors';
/** The marker lines of play's block in {@link UFW_BEFORE_RULES} and {@link NFTABLES_CONF}. */
export const VRRP_MARKERS = { begin: '# BEGIN play: VRRP from the other LVS directors', end: '# END play: VRRP from the other LVS directors' } as const;
/** Tables play itself creates for a VIP handover (keepalived-commands.ts): not the user's firewall. */
export const PLAY_NFT_TABLES = ['ip play_quiesce', 'ip play_cue'] as const;

/** Another director whose adverts this one must hear. */
export interface VrrpPeer {
  /** Its inventory name, for messages. */
  name: string;
  /** Its address on the cluster interface: the source of its adverts. */
  address: string;
}

/**
 * Every other director, by its address on the cluster interface. Multicast
 * and unicast alike: an advert leaves from the sender's own address either
 * way, so the source is what a rule can admit.
 *
 * @example
 * ```ts
 * import { vrrpPeers } from './vrrp-firewall.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const peers = vrrpPeers(inventory.vars.cluster, 'LB1', inventory); // [{ name: 'LB2', address: '192.168.56.102' }]
 * ```
 */
export function vrrpPeers(c: LvsCluster, hostName: string, inv: Pick<Inventory<LvsVars>, 'hosts'>): VrrpPeer[] {
  return Object.keys(c.directors).filter((n) => n !== hostName).map((name) => ({ name, address: directorAddress(c, name, inv) }));
}

/** What a director's firewalls say, from one command (see {@link vrrpFirewallState}). */
export interface VrrpFirewallState {
  /** `unknown`: ufw is installed but `ufw status` said nothing (not root). */
  ufw: 'absent' | 'active' | 'inactive' | 'unknown';
  /** Sources whose VRRP the live `ufw-before-input` chain accepts (`any` for a rule without one). */
  ufwAdmits: string[];
  nft: 'absent' | 'present';
  /** The live ruleset, or why it could not be listed. */
  live?: NftRuleset | { error: string };
  /** {@link NFTABLES_CONF} loaded into a scratch network namespace: the ruleset a restart or a boot makes. */
  boot?: NftRuleset | { error: string } | 'missing';
}

const VRRP_IPTABLES = /^-A ufw-before-input((?: -s \S+| -p (?:vrrp|112)| -j ACCEPT| -m comment --comment (?:"[^"]*"|\S+))+)$/;

/**
 * Parse the output of {@link vrrpFirewallState}'s command: `key=value`
 * lines, the rulesets as nft's one-line JSON (or its error).
 *
 * @example
 * ```ts
 * import { parseVrrpFirewallState } from './vrrp-firewall.ts';
 * const st = parseVrrpFirewallState('ufw=present\nufw-status=Status: active\nufw-rule=-A ufw-before-input -s 192.168.56.102/32 -p vrrp -j ACCEPT\nnft=absent\n');
 * // { ufw: 'active', ufwAdmits: ['192.168.56.102'], nft: 'absent' }
 * ```
 */
export function parseVrrpFirewallState(out: string): VrrpFirewallState {
  const st: VrrpFirewallState = { ufw: 'absent', ufwAdmits: [], nft: 'absent' };
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'ufw') st.ufw = v === 'present' ? 'unknown' : 'absent';
    else if (k === 'ufw-status') {
      // `ufw status` as it prints it: only its first line says; not root, it says an ERROR instead.
      const m = /^Status: (active|inactive)\s*$/.exec(v);
      if (m && st.ufw !== 'absent') st.ufw = m[1] as 'active' | 'inactive';
    } else if (k === 'ufw-rule') {
      const m = VRRP_IPTABLES.exec(v.trim());
      // Only a rule made of a source, VRRP and ACCEPT surely admits; one that also names a port or an interface is not counted on.
      if (m && / -p (?:vrrp|112)/.test(m[1]!) && / -j ACCEPT/.test(m[1]!)) st.ufwAdmits.push(/ -s (\S+)/.exec(m[1]!)?.[1]?.replace(/\/32$/, '') ?? 'any');
    } else if (k === 'nft') st.nft = v === 'present' ? 'present' : 'absent';
    else if (k === 'live') st.live = parseNftRuleset(v);
    else if (k === 'boot') st.boot = v === 'missing' ? 'missing' : parseNftRuleset(v);
  }
  return st;
}

/**
 * One read of both firewalls. The boot ruleset is {@link NFTABLES_CONF}
 * loaded with `unshare -n` into a namespace of its own, which is thrown
 * away at once: the host's firewall is not touched, and what comes back is
 * exactly what `systemctl restart nftables` or a reboot would load.
 */
export const vrrpFirewallState = fact('director:vrrp-firewall', [
  'if command -v ufw >/dev/null 2>&1; then',
  '  echo ufw=present',
  `  ufw status 2>&1 | sed 's/^/ufw-status=/'`,
  `  iptables -S ufw-before-input 2>/dev/null | sed 's/^/ufw-rule=/'`,
  'else echo ufw=absent; fi',
  'if command -v nft >/dev/null 2>&1; then',
  '  echo nft=present',
  `  printf 'live=%s\\n' "$(nft -j list ruleset 2>&1 | tr '\\n' ' ')"`,
  `  if [ -f ${NFTABLES_CONF} ]; then printf 'boot=%s\\n' "$(cd / && unshare -n sh -c 'nft -f ${NFTABLES_CONF} && nft -j list ruleset' 2>&1 | tr '\\n' ' ')"; else echo boot=missing; fi`,
  'else echo nft=absent; fi',
].join('\n'), parseVrrpFirewallState);

/** The iptables-restore lines of play's block in before.rules: one per peer. */
export function ufwVrrpLines(peers: readonly VrrpPeer[]): string {
  return `${peers.map((p) => `-A ufw-before-input -p vrrp -s ${p.address} -j ACCEPT`).join('\n')}\n`;
}

/**
 * before.rules with play's block: replaced where it is, or put right after
 * the `*filter` section's chain declarations (`# End required lines`), so it
 * is inside the table that COMMIT applies and ahead of ufw-not-local. Not
 * at the end of the file: a rule after COMMIT breaks `ufw reload`.
 *
 * @example
 * ```ts
 * import { withUfwBlock } from './vrrp-firewall.ts';
 * withUfwBlock('*filter\n:ufw-before-input - [0:0]\n# End required lines\nCOMMIT\n', '-A ufw-before-input -p vrrp -s 192.168.56.102 -j ACCEPT\n').text;
 * // '*filter\n:ufw-before-input - [0:0]\n# End required lines\n# BEGIN play: …\n-A ufw-before-input -p vrrp -s 192.168.56.102 -j ACCEPT\n# END play: …\nCOMMIT\n'
 * ```
 */
export function withUfwBlock(text: string, block: string): { text: string; problem?: string } {
  if (text.split('\n').includes(VRRP_MARKERS.begin)) return setBlock(text, block, VRRP_MARKERS);
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === '*filter');
  if (start < 0) return { text, problem: 'has no *filter section' };
  let at = start + 1;
  while (at < lines.length && (lines[at]!.startsWith(':') || lines[at]!.startsWith('# End required lines'))) at++;
  lines.splice(at, 0, VRRP_MARKERS.begin, ...block.replace(/\n$/, '').split('\n'), VRRP_MARKERS.end);
  return { text: lines.join('\n') };
}

/**
 * `ip saddr { a, b } ip protocol 112 accept`: what admits the peers' adverts
 * in an nft chain. 112, not `vrrp`: nft resolves a name through
 * /etc/protocols, which a host without netbase lacks; nft lists it as
 * `vrrp` where the name is known.
 */
export function nftVrrpMatch(peers: readonly VrrpPeer[]): string {
  const sources = [...peers.map((p) => p.address)].sort();
  return `ip saddr ${sources.length === 1 ? sources[0] : `{ ${sources.join(', ')} }`} ip protocol 112 accept`;
}

/** `insert rule inet filter input ip saddr { a, b } ip protocol 112 accept comment "…"`: play's rule for one chain. */
export function nftVrrpRule(chain: Pick<NftChain, 'family' | 'table' | 'name'>, peers: readonly VrrpPeer[]): string {
  return `insert rule ${chainId(chain)} ${nftVrrpMatch(peers)} comment "${VRRP_RULE_COMMENT}"`;
}

/** Parameters of {@link vrrpFirewall}. */
export interface VrrpFirewallParams {
  /** The other directors (see {@link vrrpPeers}); none: nothing to admit. */
  peers: readonly VrrpPeer[];
  /** The cluster interface: a user's rule that accepts VRRP only there is counted on. @default rules naming an interface are not counted on */
  interface?: string;
}

const ours = (r: NftRule) => r.comment === VRRP_RULE_COMMENT;
const isRuleset = (r: VrrpFirewallState['live'] | VrrpFirewallState['boot']): r is NftRuleset => typeof r === 'object' && 'chains' in r;
/**
 * Base chains iptables-nft made (ufw's, where iptables is nft): iptables'
 * own table and chain names, which a hand-written nft ruleset spells in
 * lower case. Editing them with nft would fight iptables: ufw's half or nobody's.
 */
const isIptables = (c: NftChain) => (c.family === 'ip' || c.family === 'ip6') && ['filter', 'mangle', 'raw', 'security', 'nat'].includes(c.table) && ['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING'].includes(c.name);

/**
 * The input chains of a ruleset that decide on an IPv4 advert, without
 * play's own tables: the quiesce and cue tables hook in only for a
 * handover and accept by policy.
 */
function inputChains(rs: NftRuleset): NftChain[] {
  return rs.chains.filter((c) => c.hook === 'input' && (c.family === 'ip' || c.family === 'inet') && !(PLAY_NFT_TABLES as readonly string[]).includes(`${c.family} ${c.table}`));
}

const list = (peers: readonly VrrpPeer[]) => peers.map((p) => `${p.name} (${p.address})`).join(', ');

/**
 * A director's firewall admits VRRP from every other director:
 *
 * - **ufw active**: play's block of `-A ufw-before-input -p vrrp -s PEER -j
 *   ACCEPT` lines in /etc/ufw/before.rules (what ufw loads at boot), then
 *   `ufw reload`, only when the block changed or the live chain lacks a
 *   peer. ufw inactive or absent: nothing.
 * - **nftables**: when an input base chain of the live ruleset would drop
 *   an advert (policy drop, or a final drop), play's rule is inserted at
 *   the head of that chain, live, and the same `insert rule` goes into one
 *   managed block at the end of /etc/nftables.conf, checked first by
 *   loading the edited file in a scratch namespace. Refused, with the rule
 *   to add, when the chain does not come from /etc/nftables.conf.
 *
 * Why a block in nftables.conf rather than a table of play's own: in
 * nftables an accept ends only its own chain, so a separate table cannot
 * undo the user's drop; the accept must sit in the chain that drops. And
 * why `insert rule` after the user's definitions: it puts the accept ahead
 * of a final drop without rewriting the user's chain, and the check of the
 * edited file (an empty namespace, as at boot) refuses to write a block
 * that would make the whole file fail to load, and the host boot without
 * its firewall. A chain from elsewhere (another tool, a script, an
 * nftables.conf that does not define it) would drop VRRP again after a
 * restart, so play says what to add instead of adding what does not last.
 *
 * @example
 * ```ts
 * import { vrrpFirewall } from './vrrp-firewall.ts';
 * const task = vrrpFirewall({ peers: [{ name: 'LB2', address: '192.168.56.102' }], interface: 'enp0s8' });
 * ```
 */
export const vrrpFirewall = defineTask<VrrpFirewallParams>({
  kind: 'vrrpFirewall',
  keys: ['peers', 'interface'],
  required: ['peers'],
  name: (p) => `firewall admits VRRP from ${p.peers.map((x) => x.name).join(', ') || '(no other director)'}`,
  check: (p) => {
    const out: ParamProblem[] = [];
    if (!Array.isArray(p.peers)) return [{ field: 'peers', message: `must be a list of { name, address }, got ${describe(p.peers)}` }];
    p.peers.forEach((x, i) => {
      if (typeof x !== 'object' || x === null || typeof x.name !== 'string' || typeof x.address !== 'string') out.push({ field: `peers[${i}]`, message: `must be { name, address }, got ${describe(x)}` });
    });
    if (p.interface !== undefined && (typeof p.interface !== 'string' || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(p.interface))) out.push({ field: 'interface', message: `must be an interface name, got ${describe(p.interface)}` });
    return out;
  },
  facts: () => [vrrpFirewallState, ...textEditFacts(UFW_BEFORE_RULES), ...textEditFacts(NFTABLES_CONF)],
  plan: async (p, ctx) => {
    const task = 'vrrpFirewall';
    if (p.peers.length === 0) return noop('no other director: no VRRP to admit');
    const st = await ctx.fact(vrrpFirewallState);
    const ufw = await planUfw(ctx, p.peers, st, task);
    const nft = await planNft(ctx, p, st, task);
    return changes([...ufw.changes, ...nft.changes], [...ufw.notes, ...nft.notes]);
  },
});

/** An address a rule can name: a hostname in the inventory is not one. */
function addresses(ctx: PlanContext, peers: readonly VrrpPeer[], task: string, where: string): void {
  const bad = peers.filter((x) => ipv4(x.address) === undefined);
  if (bad.length) {
    throw new TaskError(ctx.host.name, task, `${where} needs each other director's IPv4 address; ${bad.map((b) => `${b.name} is ${JSON.stringify(b.address)}`).join(', ')}: set cluster.directors.${bad[0]!.name}.address`);
  }
}

async function planUfw(ctx: PlanContext, peers: readonly VrrpPeer[], st: VrrpFirewallState, task: string) {
  if (st.ufw === 'absent') return noop('ufw is not installed: no ufw rule needed');
  if (st.ufw === 'inactive') return noop('ufw is inactive: no ufw rule needed');
  if (st.ufw === 'unknown') throw new TaskError(ctx.host.name, task, `ufw is installed but \`ufw status\` told nothing (is play root on ${ctx.host.name}? the director role needs become)`);
  addresses(ctx, peers, task, 'ufw');
  const block = ufwVrrpLines(peers);
  const written = await planTextEdit(ctx, { path: UFW_BEFORE_RULES }, {
    task,
    edit: (text) => {
      const r = withUfwBlock(text, block);
      if (r.problem) throw new TaskError(ctx.host.name, task, `${UFW_BEFORE_RULES} ${r.problem}; add the lines by hand: ${block.trim().split('\n').join('; ')}`);
      return { text: r.text, summary: `admit VRRP from ${list(peers)}`, upToDate: `${UFW_BEFORE_RULES} admits VRRP from ${list(peers)}` };
    },
  });
  const missing = peers.filter((x) => !st.ufwAdmits.includes(x.address) && !st.ufwAdmits.includes('any'));
  const reload: Change = { summary: 'ufw reload (takes the VRRP rules)', exec: 'ufw reload' };
  if (written.changes.length) return changes([...written.changes, reload], written.notes);
  if (missing.length) return changes([{ ...reload, summary: `ufw reload: ${UFW_BEFORE_RULES} admits VRRP from ${list(missing)}, the live firewall does not yet` }]);
  return noop(...written.notes, `ufw admits VRRP from ${list(peers)}`);
}

async function planNft(ctx: PlanContext, p: VrrpFirewallParams, st: VrrpFirewallState, task: string) {
  if (st.nft === 'absent') return noop('nft is not installed: no nftables rule needed');
  if (!isRuleset(st.live)) throw new TaskError(ctx.host.name, task, `cannot list the nftables ruleset: ${(st.live as { error: string } | undefined)?.error ?? 'no answer'}`);
  const live = st.live;
  const notes: string[] = [];
  const needing: NftChain[] = [];
  for (const chain of inputChains(live)) {
    const drops = p.peers.filter((x) => chainVerdict(live, chain, { saddr: x.address, iifname: p.interface }, ours).verdict === 'drop');
    if (isIptables(chain)) {
      if (drops.length === 0) continue;
      if (st.ufw === 'active') { notes.push(`${chainId(chain)} is iptables' (ufw's): admitted there by the ufw rules`); continue; }
      throw new TaskError(ctx.host.name, task, `on ${ctx.host.name}, iptables chain ${chain.name} (${chain.family} ${chain.table}) drops VRRP from ${list(drops)}, and it is not ufw's nor nftables.conf's to edit; add ${drops.map((d) => `\`iptables -I ${chain.name} -p vrrp -s ${d.address} -j ACCEPT\``).join(' and ')} where that firewall is saved`);
    }
    if (drops.length === 0) notes.push(`nftables ${chainId(chain)} accepts VRRP from ${list(p.peers)}`);
    else needing.push(chain);
  }
  if (needing.length === 0) return changes([], notes.length ? notes : ['no nftables input chain drops VRRP']);
  addresses(ctx, p.peers, task, 'nftables');
  const rules = needing.map((c) => nftVrrpRule(c, p.peers));
  // Only a chain that /etc/nftables.conf itself makes can take a rule that survives a restart.
  const boot = st.boot;
  const lost = needing.filter((c) => !isRuleset(boot) || !boot.chains.some((b) => chainId(b) === chainId(c) && b.hook === 'input'));
  if (lost.length) {
    const why = boot === 'missing' || boot === undefined ? `${NFTABLES_CONF} does not exist` : !isRuleset(boot) ? `${NFTABLES_CONF} does not load in an empty namespace (${boot.error})` : `${NFTABLES_CONF} does not define ${lost.map(chainId).join(', ')}`;
    throw new TaskError(ctx.host.name, task, `on ${ctx.host.name}, nftables chain ${lost.map(chainId).join(', ')} drops VRRP from ${list(p.peers)}, and ${why}, so a rule play adds would not survive a restart; add to that chain where it is defined: \`${nftVrrpMatch(p.peers)}\``);
  }
  const out: Change[] = [];
  const written = await planTextEdit(ctx, { path: NFTABLES_CONF, validate: 'unshare -n nft -c -f %s' }, {
    task,
    edit: (text) => {
      const r = setBlock(text, `${rules.join('\n')}\n`, VRRP_MARKERS, { after: 'EOF' });
      if (r.problem) throw new TaskError(ctx.host.name, task, `${NFTABLES_CONF} ${r.problem}; fix the file by hand`);
      return { text: r.text, summary: `admit VRRP from ${list(p.peers)} at boot`, upToDate: `${NFTABLES_CONF} admits VRRP from ${list(p.peers)}` };
    },
  });
  out.push(...written.changes);
  notes.push(...written.notes);
  const wanted = [...p.peers.map((x) => x.address)].sort().join(' ');
  const script: string[] = [];
  for (const chain of needing) {
    const mine = chain.rules.filter(ours);
    const admitted = p.peers.every((x) => chainVerdict(live, chain, { saddr: x.address, iifname: p.interface }).verdict === 'accept');
    if (mine.length === 1 && ruleSources(mine[0]!)?.join(' ') === wanted && admitted) { notes.push(`nftables ${chainId(chain)} admits VRRP from ${list(p.peers)} (play's rule)`); continue; }
    script.push(...mine.map((r) => `delete rule ${chainId(chain)} handle ${r.handle}`), nftVrrpRule(chain, p.peers));
  }
  // One transaction: the stale rule goes and the new one comes, or neither.
  if (script.length) out.push({ summary: `admit VRRP from ${list(p.peers)} in nftables ${needing.map(chainId).join(', ')} now`, exec: 'nft -f -', stdin: `${script.join('\n')}\n` });
  return changes(out, notes);
}
