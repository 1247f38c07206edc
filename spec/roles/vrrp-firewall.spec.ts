/**
 * VRRP through a director's firewall (#12): recorded outputs in, planned
 * changes out. Every sample under fixtures/vrrp-firewall/ is what the tool
 * printed on Debian 12 (ufw 0.36.2, nftables 1.0.6, iptables-nft 1.8.9),
 * taken in a scratch network namespace: `ufw status` active, inactive and
 * not root; `iptables -S ufw-before-input` before and after play's block
 * was reloaded; `nft -j list ruleset` for Debian's default nftables.conf
 * (policy accept), a policy drop, a final drop behind a jump next to play's
 * quiesce table, a user's own VRRP rule, play's rule (current and stale),
 * ufw's and iptables-persistent's tables as iptables-nft makes them, and
 * play's cue table.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileState, fileText } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { chainVerdict, parseNftRuleset, type NftRuleset } from '../../roles/director/nft-ruleset.ts';
import {
  NFTABLES_CONF, UFW_BEFORE_RULES, VRRP_MARKERS, nftVrrpRule, parseVrrpFirewallState, ufwVrrpLines, vrrpFirewall, vrrpFirewallState, vrrpPeers, withUfwBlock, type VrrpPeer,
} from '../../roles/director/vrrp-firewall.ts';
import seed from '../../inventory/inventory.ts';
import { planTable, problemTable } from '../tasks/table.ts';
import { execOf } from '../support/plan-harness.ts';

const sample = (name: string) => readFileSync(new URL(`./fixtures/vrrp-firewall/${name}`, import.meta.url), 'utf8');
const prefixed = (key: string, raw: string) => raw.replace(/\n$/, '').split('\n').map((l) => `${key}=${l}\n`).join('');

/** The fact's output as the director's shell prints it, from the tools' raw outputs. */
function firewallOut(o: { ufw?: { status: string; iptables?: string }; nft?: { live: string; boot?: string } }): string {
  const ufw = o.ufw ? `ufw=present\n${prefixed('ufw-status', sample(o.ufw.status))}${o.ufw.iptables ? prefixed('ufw-rule', sample(o.ufw.iptables)) : ''}` : 'ufw=absent\n';
  if (!o.nft) return `${ufw}nft=absent\n`;
  const oneLine = (s: string) => s.replace(/\n/g, ' ');
  const boot = o.nft.boot === undefined || o.nft.boot === 'missing' ? 'missing' : o.nft.boot.startsWith('error:') ? oneLine(o.nft.boot.slice(6)) : oneLine(sample(o.nft.boot));
  return `${ufw}nft=present\nlive=${oneLine(o.nft.live.startsWith('error:') ? o.nft.live.slice(6) : sample(o.nft.live))}\nboot=${boot}\n`;
}

const file = (path: string, text: string | undefined) => [
  { cmd: fileState(path).command, stdout: text === undefined ? 'type=missing\nparent=yes\n' : `type=file\nstat=644 0 0 ${text.length} root root\nsha256=${sha256(text)}  -\nparent=yes\n` },
  { cmd: fileText(path).command, stdout: text ?? '' },
];

const LB2: VrrpPeer = { name: 'LB2', address: '192.168.56.102' };
const LB3: VrrpPeer = { name: 'LB3', address: '192.168.56.103' };
const BEFORE = sample('ufw-before.rules');
const WITH_BLOCK = withUfwBlock(BEFORE, ufwVrrpLines([LB2])).text;
/** A hardened nftables.conf: the ruleset of nft-drop.json. */
const DROP_CONF = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tiif "lo" accept
\t\tct state established,related accept
\t\ttcp dport 22 accept
\t}
}
`;
const DROP_CONF_OURS = `${DROP_CONF}${VRRP_MARKERS.begin}\n${nftVrrpRule({ family: 'inet', table: 'filter', name: 'input' }, [LB2])}\n${VRRP_MARKERS.end}\n`;

/** Facts of one director: the firewall fact and both files. */
const facts = (fw: Parameters<typeof firewallOut>[0], files: { before?: string; conf?: string } = {}) => [
  { cmd: vrrpFirewallState.command, stdout: firewallOut(fw) },
  ...file(UFW_BEFORE_RULES, files.before ?? (fw.ufw ? BEFORE : undefined)),
  ...file(NFTABLES_CONF, files.conf),
];
const task = (peers: VrrpPeer[] = [LB2]) => vrrpFirewall({ peers, interface: 'enp0s8' });

const Parse = suite('vrrp firewall: raw outputs → state');

Parse('ufw status: active, inactive, not root, absent; the live VRRP rules from iptables -S', () => {
  assert.equal(parseVrrpFirewallState(firewallOut({ ufw: { status: 'ufw-status-active.txt', iptables: 'iptables-ufw-before-input.txt' } })), { ufw: 'active', ufwAdmits: [], nft: 'absent' });
  assert.equal(parseVrrpFirewallState(firewallOut({ ufw: { status: 'ufw-status-active.txt', iptables: 'iptables-ufw-before-input-admitted.txt' } })).ufwAdmits, ['192.168.56.102']);
  assert.is(parseVrrpFirewallState(firewallOut({ ufw: { status: 'ufw-status-inactive.txt' } })).ufw, 'inactive');
  assert.is(parseVrrpFirewallState(firewallOut({ ufw: { status: 'ufw-status-notroot.txt' } })).ufw, 'unknown');
  assert.is(parseVrrpFirewallState(firewallOut({})).ufw, 'absent');
  // A VRRP rule that also names a port or an interface is not counted on; one without a source admits all.
  const odd = parseVrrpFirewallState('ufw=present\nufw-status=Status: active\nufw-rule=-A ufw-before-input -i eth1 -p vrrp -j ACCEPT\nufw-rule=-A ufw-before-input -p 112 -j ACCEPT\n');
  assert.equal(odd.ufwAdmits, ['any']);
});

Parse('nft -j list ruleset: chains with hook, policy and rules in order; an error is kept as text', () => {
  const rs = parseNftRuleset(sample('nft-final-drop.json')) as NftRuleset;
  assert.equal(rs.chains.map((c) => [c.family, c.table, c.name, c.hook, c.policy, c.rules.map((r) => r.handle)]), [
    ['ip', 'fw', 'inbound', 'input', 'accept', [3, 4, 5]], ['ip', 'fw', 'allowed', undefined, undefined, [7]], ['ip', 'play_quiesce', 'pre', 'prerouting', 'accept', [3]],
  ]);
  assert.equal(parseNftRuleset('Error: Could not process rule: Operation not permitted '), { error: 'Error: Could not process rule: Operation not permitted' });
});

Parse('what each recorded ruleset does with an advert from LB2', () => {
  const verdicts = (name: string) => {
    const rs = parseNftRuleset(sample(name)) as NftRuleset;
    return rs.chains.filter((c) => c.hook === 'input').map((c) => `${c.family} ${c.table} ${c.name}: ${chainVerdict(rs, c, { saddr: LB2.address }).verdict} by ${chainVerdict(rs, c, { saddr: LB2.address }).by}`);
  };
  assert.equal(verdicts('nft-accept.json'), ['inet filter input: accept by policy accept']);
  assert.equal(verdicts('nft-drop.json'), ['inet filter input: drop by policy drop']);
  assert.equal(verdicts('nft-final-drop.json'), ['ip fw inbound: drop by rule 5']);
  assert.equal(verdicts('nft-admitted.json'), ['inet filter input: accept by rule 4']);
  assert.equal(verdicts('nft-ours.json'), ['inet filter input: accept by rule 3']);
  assert.equal(verdicts('nft-ufw-admitted.json')[0], 'ip filter INPUT: accept by rule 21 (jump ufw-before-input: rule 51)');
  assert.equal(verdicts('nft-iptables.json')[0], 'ip filter INPUT: drop by policy drop');
  // A source outside the user's VRRP rule is still dropped.
  const rs = parseNftRuleset(sample('nft-admitted.json')) as NftRuleset;
  assert.equal(chainVerdict(rs, rs.chains[0]!, { saddr: '192.168.56.109' }), { verdict: 'drop', by: 'policy drop' });
});

Parse('before.rules: the block goes inside *filter, right after the required lines, and is replaced in place', () => {
  const lines = WITH_BLOCK.split('\n');
  const at = lines.indexOf(VRRP_MARKERS.begin);
  assert.is(lines[at - 1], '# End required lines');
  assert.is(lines[at + 1], '-A ufw-before-input -p vrrp -s 192.168.56.102 -j ACCEPT');
  assert.ok(at < lines.indexOf('COMMIT'));
  assert.is(withUfwBlock(WITH_BLOCK, ufwVrrpLines([LB2])).text, WITH_BLOCK);
  const two = withUfwBlock(WITH_BLOCK, ufwVrrpLines([LB2, LB3])).text;
  assert.is(two.split('\n').filter((l) => l.includes('-p vrrp')).length, 2);
  assert.is(two.replace(/^-A ufw-before-input -p vrrp -s 192.168.56.103 -j ACCEPT\n/m, ''), WITH_BLOCK);
  assert.is(withUfwBlock('# nothing here\n', ufwVrrpLines([LB2])).problem, 'has no *filter section');
});

Parse('the peers come from the cluster: every other director, multicast and unicast alike', () => {
  assert.equal(vrrpPeers(seed.vars.cluster, 'LB1', seed), [LB2]);
  assert.equal(vrrpPeers(seed.vars.cluster, 'LB2', seed), [{ name: 'LB1', address: '192.168.56.101' }]);
  const c = { ...seed.vars.cluster, vrrp: { mode: 'unicast' as const }, directors: { ...seed.vars.cluster.directors, LB2: { priority: 100, address: '192.168.56.112' } } };
  assert.equal(vrrpPeers(c, 'LB1', seed), [{ name: 'LB2', address: '192.168.56.112' }]);
});

Parse.run();

const RULE = 'insert rule inet filter input ip saddr 192.168.56.102 ip protocol 112 accept comment "play: VRRP from the other directors"';
const Plans = suite('vrrp firewall: facts → plan');
planTable(Plans, [
  { name: 'no firewall tools: nothing, and it says why', task: task(), facts: facts({}), changes: [], notes: ['ufw is not installed: no ufw rule needed', 'nft is not installed: no nftables rule needed'] },
  { name: 'a single director: nothing to admit', task: task([]), facts: facts({}), changes: [], notes: ['no other director: no VRRP to admit'] },
  { name: 'ufw inactive, nftables with Debian\'s default (policy accept): nothing', task: task(), facts: facts({ ufw: { status: 'ufw-status-inactive.txt' }, nft: { live: 'nft-accept.json', boot: 'nft-accept.json' } }), changes: [], notes: ['ufw is inactive: no ufw rule needed', 'nftables inet filter input accepts VRRP from LB2 (192.168.56.102)'] },
  {
    name: 'ufw active: the block in before.rules (shown as a diff), then ufw reload',
    task: task(), facts: facts({ ufw: { status: 'ufw-status-active.txt', iptables: 'iptables-ufw-before-input.txt' }, nft: { live: 'nft-ufw.json', boot: 'nft-accept.json' } }),
    changes: ['admit VRRP from LB2 (192.168.56.102) in /etc/ufw/before.rules', 'ufw reload (takes the VRRP rules)'],
    notes: ['ip filter INPUT is iptables\' (ufw\'s): admitted there by the ufw rules'],
    then: (plan) => {
      assert.equal(plan.changes[0]!.diff, { path: UFW_BEFORE_RULES, before: BEFORE, after: WITH_BLOCK });
      assert.is(plan.changes[0]!.stdin, WITH_BLOCK);
      assert.is(execOf(plan.changes[1]), 'ufw reload');
    },
  },
  {
    name: 'ufw active, block there and live: no change',
    task: task(), facts: facts({ ufw: { status: 'ufw-status-active.txt', iptables: 'iptables-ufw-before-input-admitted.txt' }, nft: { live: 'nft-ufw-admitted.json', boot: 'nft-accept.json' } }, { before: WITH_BLOCK }),
    changes: [], notes: ['/etc/ufw/before.rules admits VRRP from LB2 (192.168.56.102)', 'ufw admits VRRP from LB2 (192.168.56.102)', 'no nftables input chain drops VRRP'],
  },
  {
    name: 'ufw active, block written but never reloaded: only ufw reload',
    task: task(), facts: facts({ ufw: { status: 'ufw-status-active.txt', iptables: 'iptables-ufw-before-input.txt' } }, { before: WITH_BLOCK }),
    changes: ['ufw reload: /etc/ufw/before.rules admits VRRP from LB2 (192.168.56.102), the live firewall does not yet'],
  },
  {
    name: 'ufw active, a director added: the block replaced in place, then ufw reload',
    task: task([LB2, LB3]), facts: facts({ ufw: { status: 'ufw-status-active.txt', iptables: 'iptables-ufw-before-input-admitted.txt' } }, { before: WITH_BLOCK }),
    changes: ['admit VRRP from LB2 (192.168.56.102), LB3 (192.168.56.103) in /etc/ufw/before.rules', 'ufw reload (takes the VRRP rules)'],
  },
  { name: 'ufw installed but play is not root: refused, not silently skipped', task: task(), facts: facts({ ufw: { status: 'ufw-status-notroot.txt' } }), error: /ufw is installed but `ufw status` told nothing \(is play root on h1\?/ },
  { name: 'ufw active, before.rules without *filter: refused with the lines to add', task: task(), facts: facts({ ufw: { status: 'ufw-status-active.txt' } }, { before: '# emptied by hand\n' }), error: /before\.rules has no \*filter section; add the lines by hand: -A ufw-before-input -p vrrp -s 192\.168\.56\.102 -j ACCEPT/ },
  {
    name: 'nftables policy drop from nftables.conf: one block at its end (checked in a scratch namespace), and the rule inserted live',
    task: task(), facts: facts({ nft: { live: 'nft-drop.json', boot: 'nft-drop.json' } }, { conf: DROP_CONF }),
    changes: ['admit VRRP from LB2 (192.168.56.102) at boot in /etc/nftables.conf', 'admit VRRP from LB2 (192.168.56.102) in nftables inet filter input now'],
    then: (plan) => {
      assert.is(plan.changes[0]!.stdin, DROP_CONF_OURS);
      assert.ok(execOf(plan.changes[0]).includes('unshare -n nft -c -f "$tmp"'), 'the edited file is loaded as at boot before it replaces the old one');
      assert.is(execOf(plan.changes[1]), 'nft -f -');
      assert.is(plan.changes[1]!.stdin, `${RULE}\n`);
    },
  },
  {
    name: 'nftables: play\'s rule live and in nftables.conf: no change',
    task: task(), facts: facts({ nft: { live: 'nft-ours.json', boot: 'nft-ours.json' } }, { conf: DROP_CONF_OURS }),
    changes: [], notes: ['ufw is not installed: no ufw rule needed', '/etc/nftables.conf admits VRRP from LB2 (192.168.56.102)', 'nftables inet filter input admits VRRP from LB2 (192.168.56.102) (play\'s rule)'],
  },
  {
    name: 'nftables: play\'s rule stale (a director left): replaced in one transaction, block rewritten',
    task: task(), facts: facts({ nft: { live: 'nft-ours-stale.json', boot: 'nft-ours-stale.json' } }, { conf: `${DROP_CONF}${VRRP_MARKERS.begin}\n${nftVrrpRule({ family: 'inet', table: 'filter', name: 'input' }, [LB2, LB3])}\n${VRRP_MARKERS.end}\n` }),
    changes: ['admit VRRP from LB2 (192.168.56.102) at boot in /etc/nftables.conf', 'admit VRRP from LB2 (192.168.56.102) in nftables inet filter input now'],
    then: (plan) => {
      assert.is(plan.changes[0]!.stdin, DROP_CONF_OURS);
      assert.is(plan.changes[1]!.stdin, `delete rule inet filter input handle 4\n${RULE}\n`);
    },
  },
  {
    name: 'nftables: the user\'s own rule admits VRRP from the peers: nothing added',
    task: task(), facts: facts({ nft: { live: 'nft-admitted.json', boot: 'nft-admitted.json' } }, { conf: DROP_CONF }),
    changes: [], notes: ['ufw is not installed: no ufw rule needed', 'nftables inet filter input accepts VRRP from LB2 (192.168.56.102)'],
  },
  {
    name: 'nftables: a final drop behind a jump, play\'s quiesce table beside it: play\'s rule goes into that chain',
    task: task(), facts: facts({ nft: { live: 'nft-final-drop.json', boot: 'nft-final-drop.json' } }, { conf: '#!/usr/sbin/nft -f\ninclude "/etc/nft/fw.nft"\n' }),
    changes: ['admit VRRP from LB2 (192.168.56.102) at boot in /etc/nftables.conf', 'admit VRRP from LB2 (192.168.56.102) in nftables ip fw inbound now'],
    then: (plan) => assert.is(plan.changes[1]!.stdin, `${RULE.replace('inet filter input', 'ip fw inbound')}\n`),
  },
  {
    name: 'nftables: play\'s cue table (input hook) is not the user\'s firewall',
    task: task(), facts: facts({ nft: { live: 'nft-play-cue.json', boot: 'nft-accept.json' } }),
    changes: [], notes: ['ufw is not installed: no ufw rule needed', 'nftables inet filter input accepts VRRP from LB2 (192.168.56.102)'],
  },
  {
    name: 'nftables drops, but the chain is not nftables.conf\'s: refused, naming the host and the rule to add',
    task: task(), facts: facts({ nft: { live: 'nft-final-drop.json', boot: 'nft-accept.json' } }, { conf: DROP_CONF }),
    error: /^on h1, nftables chain ip fw inbound drops VRRP from LB2 \(192\.168\.56\.102\), and \/etc\/nftables\.conf does not define ip fw inbound, so a rule play adds would not survive a restart; add to that chain where it is defined: `ip saddr 192\.168\.56\.102 ip protocol 112 accept`$/,
  },
  { name: 'nftables drops and there is no nftables.conf: refused', task: task(), facts: facts({ nft: { live: 'nft-drop.json', boot: 'missing' } }), error: /\/etc\/nftables\.conf does not exist, so a rule play adds would not survive a restart/ },
  {
    name: 'nftables drops and nftables.conf does not load without the host\'s interfaces: refused with nft\'s error',
    task: task(), facts: facts({ nft: { live: 'nft-drop.json', boot: 'error:/etc/nftables.conf:7:3-10: Error: Interface does not exist\n\t\tiif "enp0s8" accept\n\t\t^^^^^^^^\n' } }, { conf: DROP_CONF }),
    error: /does not load in an empty namespace \(\/etc\/nftables\.conf:7:3-10: Error: Interface does not exist/,
  },
  { name: 'an iptables firewall that is not ufw\'s drops VRRP: refused with the iptables rule', task: task(), facts: facts({ nft: { live: 'nft-iptables.json', boot: 'missing' } }), error: /iptables chain INPUT \(ip filter\) drops VRRP from LB2 \(192\.168\.56\.102\).*`iptables -I INPUT -p vrrp -s 192\.168\.56\.102 -j ACCEPT`/ },
  { name: 'nft cannot list the ruleset: refused', task: task(), facts: facts({ nft: { live: 'error:Error: Could not process rule: Operation not permitted\n' } }), error: /cannot list the nftables ruleset: Error: Could not process rule: Operation not permitted/ },
  { name: 'a director known only by a hostname, behind a firewall: refused with the field to set', task: task([{ name: 'LB2', address: 'lb2.example' }]), facts: facts({ ufw: { status: 'ufw-status-active.txt' } }), error: /ufw needs each other director's IPv4 address; LB2 is "lb2\.example": set cluster\.directors\.LB2\.address/ },
  { name: 'a director known only by a hostname, no firewall: nothing to refuse', task: task([{ name: 'LB2', address: 'lb2.example' }]), facts: facts({ nft: { live: 'nft-accept.json', boot: 'nft-accept.json' } }), changes: [] },
]);
Plans.run();

const Problems = suite('vrrp firewall: parameter problems');
problemTable(Problems, [
  { name: 'peers not a list', task: vrrpFirewall({ peers: 'LB2' as never }), problems: [['peers', /must be a list of \{ name, address \}/]] },
  { name: 'a peer without an address, a bad interface', task: vrrpFirewall({ peers: [{ name: 'LB2' } as never], interface: 'eth0; reboot' }), problems: [['peers[0]', /must be \{ name, address \}/], ['interface', /must be an interface name/]] },
]);
Problems.run();
