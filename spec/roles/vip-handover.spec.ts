/**
 * vipHandover: the offset fact in, a handover step out; when the quiesce is
 * sent (keepalived's preemption timer, as measured on the lab); and the
 * step's order on the hosts, played against simulated directors: the track
 * file, the taker's first discarded advert, the quiesce on the director
 * giving the VIP up, the move, and the rule removed wherever it was set,
 * also when the VIP never moves.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostReader } from '../../lib/core/task.ts';
import { handoverOffset, HANDOVER_OFFSET, JOURNAL_CURSOR, quiesceCommand, unquiesceCommand } from '../../roles/director/keepalived-commands.ts';
import { handoverStep, QUIESCE_LEAD_MS, quiesceWaitMs, takeoverAfterDiscardMs, vipHandover } from '../../roles/director/vip-handover.ts';
import { testHost } from '../support/plan-harness.ts';
import { planTable } from '../tasks/table.ts';

const VIP = '192.168.56.200';
const base = { vip: VIP, interface: 'enp0s8', priorities: { h1: 200, LB2: 100 }, advertInterval: 1 };

const Plans = suite('vip handover: offset fact → step');
planTable(Plans, [
  { name: 'offset 0, handover asked: one step', task: vipHandover({ ...base, offset: HANDOVER_OFFSET }), facts: [{ cmd: handoverOffset.command, stdout: '0\n' }], changes: ['hand the VIP to LB2 (offset 0 → 253)'] },
  { name: 'already handed over: nothing to do', task: vipHandover({ ...base, offset: HANDOVER_OFFSET }), facts: [{ cmd: handoverOffset.command, stdout: '253\n' }], changes: [], notes: ['handover offset is 253 already'] },
  { name: 'no track file, handback asked: nothing to do', task: vipHandover({ ...base, offset: 0 }), facts: [{ cmd: handoverOffset.command, stdout: '' }], changes: [], notes: ['handover offset is 0 already'] },
  {
    name: 'handed over, handback asked: one step whose shell shows offset, wait for the preemption, quiesce, unquiesce',
    task: vipHandover({ ...base, offset: 0 }), facts: [{ cmd: handoverOffset.command, stdout: '253\n' }], changes: ['take the VIP back (offset 253 → 0)'],
    then: (plan) => {
      const exec = plan.changes[0]!.exec;
      const order = ['play-handover', 'received lower priority', '1919 ms after it', 'tcp_flags 0x2/0x12', 'LB2 or'].map((x) => exec.indexOf(x));
      assert.ok(order.slice(0, 4).every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), exec);
      assert.ok(exec.lastIndexOf('filter del') > exec.indexOf('tcp_flags 0x2/0x12'), exec);
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
  ['no VIP', { interface: 'enp0s8', priorities: base.priorities, advertInterval: 1, offset: 0 }, ['vip: is required']],
];
for (const [name, p, want] of rows) Checks(name, () => assert.equal(problems(p), want));
Checks.run();

const Timing = suite('vip handover: when the quiesce is sent');
const timing: Array<[string, Parameters<typeof quiesceWaitMs>[0], number]> = [
  // keepalived 2.2.7, seen on the lab: LB2 (100) discarded at 41.902, took the VIP at 44.512 (2 s + 156/256 s).
  ['seed handover, reported at once', { advertInterval: 1, takerPriority: 100, seenLagMs: 0, takerOneWayMs: 0, giverOneWayMs: 0 }, 2609.375 - QUIESCE_LEAD_MS],
  ['reported late and slowly, a slow giver', { advertInterval: 1, takerPriority: 100, seenLagMs: 100, takerOneWayMs: 40, giverOneWayMs: 60 }, 2609.375 - 100 - 40 - 60 - QUIESCE_LEAD_MS],
  // LB1 (200) discarded at 49.917, took it back at 52.146.
  ['seed handback', { advertInterval: 1, takerPriority: 200, seenLagMs: 0, takerOneWayMs: 0, giverOneWayMs: 0 }, 2218.75 - QUIESCE_LEAD_MS],
  ['advert interval 3', { advertInterval: 3, takerPriority: 100, seenLagMs: 0, takerOneWayMs: 0, giverOneWayMs: 0 }, 6609.375 - QUIESCE_LEAD_MS],
  ['the report came too late to lead: at once', { advertInterval: 1, takerPriority: 200, seenLagMs: 2000, takerOneWayMs: 0, giverOneWayMs: 0 }, 0],
];
for (const [name, o, want] of timing) Timing(name, () => assert.is(quiesceWaitMs(o), want));
Timing('takeover after the first discarded advert: 2 intervals and the skew', () => {
  assert.is(takeoverAfterDiscardMs(1, 100), 2609.375);
  assert.is(takeoverAfterDiscardMs(1, 254), 2007.8125);
});
Timing.run();

type Name = 'h1' | 'LB2';
/** Two simulated directors: the VIP moves to where the track file puts it, after the quiesce if one is sent. */
function cluster(o: { holder: Name; neverMoves?: boolean; quiesceFails?: boolean; noJournal?: boolean }) {
  const log: string[] = [];
  let holder = o.holder;
  let want: Name = holder;
  let quiet = false;
  const reader = (name: Name): HostReader => ({
    host: testHost({ name }),
    run: async (cmd) => {
      const done = (stdout = '') => ({ code: 0, stdout, stderr: '' });
      if (cmd === 'true') return done();
      if (cmd.startsWith('ip -o -4 addr')) {
        if (holder !== want && !o.neverMoves && (quiet || o.noJournal)) { holder = want; log.push(`${name === holder ? name : holder} takes the VIP`); }
        return { code: holder === name ? 0 : 1, stdout: '', stderr: '' };
      }
      if (cmd === JOURNAL_CURSOR) return done(o.noJournal ? '' : 's=abc\n');
      if (cmd.includes('received lower priority')) { log.push(`${name}: discarded an advert`); return done('1000.000000 1000.020000\n'); }
      if (cmd.includes('action drop') && cmd.startsWith(quiesceCommand(VIP, 'enp0s8').split('\n')[0]!)) {
        log.push(`${name}: quiesce`);
        if (o.quiesceFails) return { code: 2, stdout: '', stderr: 'Error: Unknown filter "flower"' };
        quiet = true;
        return done();
      }
      if (cmd === unquiesceCommand('enp0s8')) { log.push(`${name}: unquiesce`); return done(); }
      if (cmd.includes('play-handover')) {
        log.push(`${name}: offset ${/printf '%s\\n' (\d+)/.exec(cmd)![1]}`);
        want = cmd.includes(` ${HANDOVER_OFFSET} `) ? 'LB2' : 'h1';
        return done();
      }
      throw new Error(`unexpected command on ${name}: ${cmd}`);
    },
  });
  const io = { self: reader('h1'), reader: async (n: string) => reader(n as Name) };
  return { io, log, holder: () => holder };
}
// A short interval and a high-priority taker: the wait before the quiesce clamps to 0 here.
const fast = { ...base, advertInterval: 0.01, priorities: { h1: 254, LB2: 253 } };

const Apply = suite('vip handover: the order on the directors');
Apply('handover: offset here, LB2 sees the lower priority, LB1 stops new connections, LB2 takes the VIP, LB1 takes connections again', async () => {
  const c = cluster({ holder: 'h1' });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['h1: offset 253', 'LB2: discarded an advert', 'h1: quiesce', 'LB2 takes the VIP', 'h1: unquiesce']);
});
Apply('handback: this director watches its own log, and the peer holding the VIP is the one that stops new connections', async () => {
  const c = cluster({ holder: 'LB2' });
  const r = await handoverStep({ ...fast, offset: 0 }, 'h1', 'take back').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['h1: offset 0', 'h1: discarded an advert', 'LB2: quiesce', 'h1 takes the VIP', 'LB2: unquiesce']);
});
Apply('the VIP never moves: a bounded failure, and the quiesce rule is removed anyway', async () => {
  const c = cluster({ holder: 'h1', neverMoves: true });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET, boundMs: 300 }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 1);
  assert.match(r.stderr, /the VIP did not move to LB2 within 0\.3 s/);
  assert.equal(c.log, ['h1: offset 253', 'LB2: discarded an advert', 'h1: quiesce', 'h1: unquiesce']);
});
Apply('quiescing fails (no flower classifier): reported, and whatever was set is removed', async () => {
  const c = cluster({ holder: 'h1', quiesceFails: true });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 2);
  assert.match(r.stderr, /could not stop new connections before the move: Error: Unknown filter "flower"/);
  assert.equal(c.log, ['h1: offset 253', 'LB2: discarded an advert', 'h1: quiesce', 'h1: unquiesce']);
});
Apply('no journal to time it by: the VIP moves without a quiesce', async () => {
  const c = cluster({ holder: 'h1', noJournal: true });
  const r = await handoverStep({ ...fast, offset: HANDOVER_OFFSET }, 'h1', 'hand over').apply!(c.io);
  assert.is(r.code, 0, r.stderr);
  assert.equal(c.log, ['h1: offset 253', 'LB2 takes the VIP']);
});
Apply.run();

const Shell = suite('vip handover: the quiesce rule');
Shell('drops only new TCP handshakes to the VIP, removes itself within the 1 s a client waits to send its SYN again, and does nothing without IPVS', () => {
  const q = quiesceCommand(VIP, 'enp0s8', { afterMs: 1200, forMs: 550 });
  assert.match(q, /^\[ -e \/proc\/net\/ip_vs \] \|\| exit 0\nsleep 1\.200\ntc filter replace/);
  assert.match(q, /ingress pref 4243 handle 1 protocol ip flower ip_proto tcp dst_ip '?192\.168\.56\.200'? tcp_flags 0x2\/0x12 action drop/);
  assert.match(q, /setsid sh -c .*sleep 0\.550; exec tc filter del dev '?enp0s8'? ingress pref 4243/);
  assert.match(unquiesceCommand('enp0s8'), /tc filter del dev '?enp0s8'? ingress pref 4243 .*; true$/);
});
Shell.run();
