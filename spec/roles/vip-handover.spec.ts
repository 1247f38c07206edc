/**
 * vipHandover: the offset fact in, a handover step out; when the taker
 * triggers the quiesce (keepalived's master-down timer, as measured on the
 * lab); and the step's order on the hosts, played against simulated
 * directors: the giver's quiesce table armed first, the taker's cue set up
 * before the priorities change, the track file (here handing over; by the
 * taker at its advert taking back), the trigger, the move, and the cue and
 * the table removed wherever they were set, also when the VIP never moves.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostAccess } from '../../lib/core/task.ts';
import { handoverOffset, HANDOVER_OFFSET, quiesceArmCommand, quiesceDisarmCommand, QUIESCE_FOR_MS } from '../../roles/director/keepalived-commands.ts';
import { CONNECTIONS_COMMAND } from '../../roles/lvs/ipvs-connections.ts';
import { handoverStep, QUIESCE_LEAD_MS, takeoverAfterAnchorMs, vipHandover } from '../../roles/director/vip-handover.ts';
import { testHost, whatOf } from '../support/plan-harness.ts';
import { planTable } from '../tasks/table.ts';

const VIP = '192.168.56.200';
const base = { vip: VIP, interface: 'enp0s8', priorities: { h1: 200, LB2: 100 }, advertInterval: 1, virtualRouterId: 62 };

const Plans = suite('vip handover: offset fact → step');
planTable(Plans, [
  { name: 'offset 0, handover asked: one step', task: vipHandover({ ...base, offset: HANDOVER_OFFSET }), facts: [{ cmd: handoverOffset.command, stdout: '0\n' }], changes: ['hand the VIP to LB2 (offset 0 → 253)'] },
  { name: 'already handed over: nothing to do', task: vipHandover({ ...base, offset: HANDOVER_OFFSET }), facts: [{ cmd: handoverOffset.command, stdout: '253\n' }], changes: [], notes: ['handover offset is 253 already'] },
  { name: 'no track file, handback asked: nothing to do', task: vipHandover({ ...base, offset: 0 }), facts: [{ cmd: handoverOffset.command, stdout: '' }], changes: [], notes: ['handover offset is 0 already'] },
  {
    name: 'handed over, handback asked: one step whose outline shows the giver armed, the cue set up, the raise inside the cue, the table removed',
    task: vipHandover({ ...base, offset: 0 }), facts: [{ cmd: handoverOffset.command, stdout: '253\n' }], changes: ['take the VIP back (offset 253 → 0)'],
    then: (plan) => {
      const what = whatOf(plan.changes[0]);
      const order = ['table ip play_quiesce {', 'play-cue-mark', 'printf warm', 'play-handover', 'nft delete table ip play_quiesce'].map((x) => what.indexOf(x));
      assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `${order}\n${what}`);
      assert.match(what, new RegExp(`timeout ${QUIESCE_FOR_MS}ms`));
      assert.match(what, /trigger the quiesce 2919 ms after the last advert accepted \(300 ms before the takeover\)/);
    },
  },
  {
    name: 'handover asked: the track file is written here, between the cue set up there and the cue read',
    task: vipHandover({ ...base, offset: HANDOVER_OFFSET }), facts: [{ cmd: handoverOffset.command, stdout: '0\n' }], changes: ['hand the VIP to LB2 (offset 0 → 253)'],
    then: (plan) => {
      const what = whatOf(plan.changes[0]);
      const at = ['play-cue-mark', '\nhere:\n', 'play-handover', 'printf warm'].map((x) => what.indexOf(x));
      assert.ok(at.every((x, i) => x >= 0 && (i === 0 || x > at[i - 1]!)), `${at}\n${what}`);
      assert.match(what, /@th,16,8 < 100 log prefix "play-cue lo "/);
    },
  },
]);
Plans.run();

const Checks = suite('vip handover: parameters');
const problems = (p: Record<string, unknown>) => vipHandover(p as never).validate!(testHost()).map((x) => `${x.field}: ${x.message}`);
const rows: Array<[string, Record<string, unknown>, string[]]> = [
  ['the seed cluster', { ...base, offset: 253 }, []],
  ['an offset keepalived would not take', { ...base, offset: 300 }, ['offset: must be a whole number 0–253, got 300']],
  ['a fractional offset', { ...base, offset: 1.5 }, ['offset: must be a whole number 0–253, got 1.5']],
  ['a director alone', { ...base, priorities: { h1: 200 }, offset: 253 }, ['priorities: names no other director: there is nowhere to hand the VIP to']],
  ['run on a host that is no director', { ...base, priorities: { LB1: 200, LB2: 100 }, offset: 253 }, ['priorities: has no priority for h1, the director this runs on']],
  ['an advert interval of 0', { ...base, advertInterval: 0, offset: 0 }, ['advertInterval: must be a number of seconds above 0, got 0']],
  ['an offset given as a string, as an untyped playbook may', { ...base, offset: '253' }, ['offset: must be a whole number 0–253, got the string "253"']],
  ['an advert interval as a string', { ...base, advertInterval: '1', offset: 0 }, ['advertInterval: must be a number of seconds above 0, got the string "1"']],
  ['a priority as a string', { ...base, priorities: { h1: '200', LB2: 100 }, offset: 0 }, ['priorities.h1: must be a whole number 1–254, got the string "200"']],
  ['no VIP', { interface: 'enp0s8', priorities: base.priorities, advertInterval: 1, virtualRouterId: 62, offset: 0 }, ['vip: is required']],
  ['a VRID keepalived would not take', { ...base, virtualRouterId: 256, offset: 0 }, ['virtualRouterId: must be a whole number 1–255, got 256']],
  ['no VRID', { vip: VIP, interface: 'enp0s8', priorities: base.priorities, advertInterval: 1, offset: 0 }, ['virtualRouterId: is required']],
];
for (const [name, p, want] of rows) Checks(name, () => assert.equal(problems(p), want));
Checks.run();

const Timing = suite('vip handover: when the takeover comes');
Timing('3 intervals and the skew after the last advert accepted', () => {
  // keepalived 2.2.7 on the lab: LB2 (100) last accepted an advert at 22.24 and took the VIP at 25.849.
  assert.is(takeoverAfterAnchorMs(1, 100), 3609.375);
  assert.is(takeoverAfterAnchorMs(1, 254), 3007.8125);
  assert.is(takeoverAfterAnchorMs(3, 200), 9218.75);
  assert.ok(QUIESCE_LEAD_MS < QUIESCE_FOR_MS && QUIESCE_FOR_MS < 1000, 'the window leads the takeover and ends before a dropped SYN is sent again');
});
Timing.run();

type Name = 'h1' | 'LB2';
/**
 * Two simulated directors: the VIP moves to where the track file puts it,
 * once the taker's cue has run (or at once without a cue). Commands are
 * told apart by what only they contain.
 */
function cluster(o: { holder: Name; neverMoves?: boolean; armFails?: boolean; noCue?: boolean; cueRefused?: boolean; cueLost?: boolean; conns?: { carried: string; syncedAfter: number } }) {
  const log: string[] = [];
  let looks = 0;
  let holder = o.holder;
  let want: Name = holder;
  let cued = false;
  const offset = (cmd: string) => /(\d+) > \/etc\/keepalived\/play-handover/.exec(cmd)?.[1];
  const reader = (name: Name): HostAccess => ({
    host: testHost({ name }),
    run: async (cmd) => {
      const done = (stdout = '') => ({ code: 0, stdout, stderr: '' });
      // IPVS connection tables: none unless the row says; the taker learns the holder's after some looks.
      if (cmd === CONNECTIONS_COMMAND) {
        if (!o.conns) return done();
        if (name === holder) return done(o.conns.carried);
        looks++;
        log.push(`${name}: connections, look ${looks}`);
        return done(looks > o.conns.syncedAfter ? o.conns.carried : '');
      }
      if (cmd.startsWith('ip -o -4 addr')) {
        if (holder !== want && !o.neverMoves && (cued || o.noCue)) { holder = want; log.push(`${holder} takes the VIP`); }
        return { code: holder === name ? 0 : 1, stdout: '', stderr: '' };
      }
      if (cmd.includes('table ip play_quiesce {')) {
        log.push(`${name}: arm`);
        return o.armFails ? { code: 127, stdout: '', stderr: 'nft not found (the director role installs nftables)\n' } : done();
      }
      if (cmd.startsWith('bash -c') && cmd.includes('mkfifo -m 0600')) {
        log.push(`${name}: cue set up`);
        if (o.cueRefused) return { code: 0, stdout: '', stderr: 'nft refused the cue rules: Error: Could not resolve protocol name\n' };
        return done(o.noCue ? '' : '1000000000 -5 1000000000\n');
      }
      if (cmd.includes('printf warm') || cmd.includes('echo none')) {
        const o2 = offset(cmd);
        if (o2) { log.push(`${name}: offset ${o2} at its advert`); want = o2 === String(HANDOVER_OFFSET) ? 'LB2' : 'h1'; }
        if (cmd.includes('echo none') && !cmd.includes('printf warm')) return done('none\n');
        if (o.cueLost) throw new Error(`${name}: connection lost`);
        // The first lower-priority advert comes once the track file changed.
        for (let i = 0; i < 200 && want === holder; i++) await new Promise((res) => setTimeout(res, 5));
        log.push(`${name}: trigger`);
        cued = true;
        return done('1000.000000 1000.300000 1003.300000\n');
      }
      if (cmd.includes('Entering MASTER STATE')) return done('1003.600000\n');
      if (cmd.startsWith('nft delete table ip play_cue')) { log.push(`${name}: cue removed`); return done(); }
      if (cmd === quiesceDisarmCommand()) { log.push(`${name}: disarm`); return done('packets 2 trigger 1 held 3\n'); }
      if (cmd.includes('play-handover')) {
        log.push(`${name}: offset ${offset(cmd)}`);
        want = cmd.includes(` ${HANDOVER_OFFSET} `) ? 'LB2' : 'h1';
        return done();
      }
      throw new Error(`unexpected command on ${name}: ${cmd}`);
    },
  });
  const io = { self: reader('h1'), host: async (n: string) => reader(n as Name) };
  return { io, log, holder: () => holder };
}
const fast = { ...base, advertInterval: 0.01 };

const Apply = suite('vip handover: the order on the directors');
Apply('handover: armed here, the cue set up on LB2, the offset here, LB2 triggers, LB2 takes the VIP, everything removed', async () => {
  const c = cluster({ holder: 'h1' });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['h1: arm', 'LB2: cue set up', 'h1: offset 253', 'LB2: trigger', 'LB2 takes the VIP', 'LB2: cue removed', 'h1: disarm']);
  assert.match(r.stdout, /LB2: quiesce triggered .* ms before the expected takeover, 300 ms before the takeover/);
});
Apply('handback: the peer holding the VIP is armed, this director raises its own priority from its cue, at an advert', async () => {
  const c = cluster({ holder: 'LB2' });
  const r = await handoverStep({ ...fast, offset: 0 }, 'h1', 'take back').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['LB2: arm', 'h1: cue set up', 'h1: offset 0 at its advert', 'h1: trigger', 'h1 takes the VIP', 'h1: cue removed', 'LB2: disarm']);
});
const CARRIED = `IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 192.168.56.1:45000 192.168.56.200:80  192.168.56.103:80
TCP 14:58  ESTABLISHED 192.168.56.1:45001 192.168.56.200:80  192.168.56.104:80
TCP 01:50  FIN_WAIT    192.168.56.1:45002 192.168.56.200:80  192.168.56.104:80
`;
Apply('taking back after a restart: first the holder\'s established connections in this director\'s table, then the move', async () => {
  const c = cluster({ holder: 'LB2', conns: { carried: CARRIED, syncedAfter: 2 } });
  const r = await handoverStep({ ...fast, offset: 0 }, 'h1', 'take back').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['h1: connections, look 1', 'h1: connections, look 2', 'h1: connections, look 3', 'LB2: arm', 'h1: cue set up', 'h1: offset 0 at its advert', 'h1: trigger', 'h1 takes the VIP', 'h1: cue removed', 'LB2: disarm']);
  assert.match(r.stdout, /h1 had all 2 active connection\(s\) of the holder after \d+ ms/);
});
Apply('handing over: no wait for connections (the taker has kept its table)', async () => {
  const c = cluster({ holder: 'h1', conns: { carried: CARRIED, syncedAfter: 99 } });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.ok(!c.log.some((l) => l.includes('connections')), c.log.join('\n'));
});
Apply('the VIP never moves: a bounded failure, and the cue and the table are removed anyway', async () => {
  const c = cluster({ holder: 'h1', neverMoves: true });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET, boundMs: 300 }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 1);
  assert.match(r.stderr, /the VIP did not move to LB2 within 0\.3 s/);
  assert.equal(c.log, ['h1: arm', 'LB2: cue set up', 'h1: offset 253', 'LB2: trigger', 'LB2: cue removed', 'h1: disarm']);
});
Apply('the giver cannot be armed (no nft): reported before any priority changes, and the table removed', async () => {
  const c = cluster({ holder: 'h1', armFails: true });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 127);
  assert.match(r.stderr, /could not prepare h1 to stop new connections before the move: nft not found \(the director role installs nftables\)/);
  assert.equal(c.log, ['h1: arm', 'LB2: cue removed', 'h1: disarm']);
});
Apply('no cue on the taker (no kernel log, no advert): handing over, the VIP moves without a quiesce', async () => {
  const c = cluster({ holder: 'h1', noCue: true });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['h1: arm', 'LB2: cue set up', 'h1: offset 253', 'LB2 takes the VIP', 'LB2: cue removed', 'h1: disarm']);
  assert.match(r.stdout, /LB2: no advert to time the quiesce by/);
});
Apply('nft refuses the taker\'s cue rules: the move goes on without a quiesce, and the note says why', async () => {
  const c = cluster({ holder: 'h1', cueRefused: true, noCue: true });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /LB2: no quiesce: nft refused the cue rules: Error: Could not resolve protocol name/);
});
Apply('no cue taking back: the priority is still raised', async () => {
  const c = cluster({ holder: 'LB2', noCue: true });
  const r = await handoverStep({ ...fast, offset: 0 }, 'h1', 'take back').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['LB2: arm', 'h1: cue set up', 'h1: offset 0 at its advert', 'h1 takes the VIP', 'h1: cue removed', 'LB2: disarm']);
});
Apply('the taker\'s connection lost while it times the quiesce: taking back, a failure that says so, nothing left behind, no unhandled rejection', async () => {
  const c = cluster({ holder: 'LB2', cueLost: true });
  const r = await handoverStep({ ...fast, offset: 0 }, 'h1', 'take back').apply!(c.io);
  assert.is(r.code, 1);
  assert.match(r.stderr, /could not set the handover offset: h1: connection lost/);
  assert.equal(c.log.slice(-2), ['h1: cue removed', 'LB2: disarm']);
});
Apply.run();

const Shell = suite('vip handover: the quiesce table');
Shell('the trigger is the token on the VIP\'s port, once; then new handshakes only are dropped, for the window, by the kernel', () => {
  const q = quiesceArmCommand(VIP, 'abcd1234');
  assert.match(q, /^\[ -e \/proc\/net\/ip_vs \] \|\| exit 0\n/);
  assert.match(q, /ip daddr 192\.168\.56\.200 udp dport 4243 @th,64,64 0x6162636431323334 ip daddr @fired drop/);
  assert.match(q, new RegExp(`@th,64,64 0x6162636431323334 add @hold \\{ ip daddr timeout ${QUIESCE_FOR_MS}ms \\} add @fired`));
  assert.match(q, /ip daddr @hold tcp flags & \(syn \| ack\) == syn counter drop/);
  assert.match(q, /type filter hook prerouting priority -300/);
});
Shell('several VIPs: each one\'s trigger opens its own window; the handshakes to any of them are held', () => {
  const q = quiesceArmCommand([VIP, '192.168.56.201'], 'abcd1234');
  assert.match(q, /ip daddr \{ 192\.168\.56\.200, 192\.168\.56\.201 \} udp dport 4243 @th,64,64 0x6162636431323334 ip daddr @fired drop/);
  assert.match(q, /ip daddr \{ 192\.168\.56\.200, 192\.168\.56\.201 \} udp dport 4243 @th,64,64 0x6162636431323334 add @hold \{ ip daddr timeout/);
  assert.match(q, /ip daddr @hold tcp flags & \(syn \| ack\) == syn counter drop/);
});
Shell('a token that is not 8 printable characters is refused', () => {
  assert.throws(() => quiesceArmCommand(VIP, 'short'), /8 printable ASCII characters/);
  assert.throws(() => quiesceArmCommand(VIP, 'abc 1234'), /8 printable ASCII characters/);
  assert.throws(() => quiesceArmCommand(VIP, 'abcd12345'), /8 printable ASCII characters/);
});
Shell.run();
