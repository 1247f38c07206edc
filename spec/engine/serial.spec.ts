import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostView } from '../../lib/core/host.ts';
import { maxFailProblem, orderHosts, serialProblem, splitBatches } from '../../lib/engine/batches.ts';
import { compile } from '../../lib/engine/compile.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { definePlaybook, type HostOrder, type Play, type Serial } from '../../lib/dsl/playbook.ts';
import { defineRole } from '../../lib/dsl/role.ts';
import { command } from '../../lib/tasks/command.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runOnFakes } from '../support/fake-run.ts';

// ---------------------------------------------------------------- batches

const Batches = suite('serial: batches');

const five = ['a', 'b', 'c', 'd', 'e'];
const batchTable: Array<[string, readonly string[], Serial | undefined, string[][]]> = [
  ['serial 1', five, 1, [['a'], ['b'], ['c'], ['d'], ['e']]],
  ['serial 2: the last batch is short', five, 2, [['a', 'b'], ['c', 'd'], ['e']]],
  ["'50%' of 5 rounds down to 2", five, '50%', [['a', 'b'], ['c', 'd'], ['e']]],
  ["'30%' of 5 rounds down to 1", five, '30%', [['a'], ['b'], ['c'], ['d'], ['e']]],
  ["'10%' of 5 is 0.5: still one host", five, '10%', [['a'], ['b'], ['c'], ['d'], ['e']]],
  ["'100%' is every host at once", five, '100%', [five]],
  ["'29%' of 100 is 29, not 28 (no floating-point loss)", Array.from({ length: 100 }, (_, i) => `h${i}`), '29%', [29, 29, 29, 13].map((n, k) => Array.from({ length: n }, (_, i) => `h${k * 29 + i}`))],
  ["[1, '50%']: a canary, then the last size repeats", five, [1, '50%'], [['a'], ['b', 'c'], ['d', 'e']]],
  ['[1, 2, 1]: sizes in turn, the last repeats', five, [1, 2, 1], [['a'], ['b', 'c'], ['d'], ['e']]],
  ['larger than the host count: one batch', five, 10, [five]],
  ['no serial: one batch of every host', five, undefined, [five]],
  ['no hosts: no batch', [], 2, []],
  ['no hosts, no serial: no batch', [], undefined, []],
];
for (const [name, items, serial, want] of batchTable) {
  Batches(`splitBatches: ${name}`, () => assert.equal(splitBatches(items, serial), want));
}

const serialTable: Array<[unknown, boolean]> = [
  [undefined, true], [1, true], [3, true], ['30%', true], ['12.5%', true], ['100%', true], [[1, '50%'], true], [[2], true],
  [0, false], [-1, false], [1.5, false], [Number.NaN, false], [Number.POSITIVE_INFINITY, false],
  ['0%', false], ['150%', false], ['abc', false], ['5', false], ['%', false], ['-10%', false],
  [[], false], [[1, 0], false], [[1, 'abc'], false], [null, false], [{}, false],
];
Batches('serialProblem: whole numbers ≥ 1, 0–100 % (not 0), or a non-empty list of those', () => {
  for (const [v, fine] of serialTable) {
    const p = serialProblem(v);
    assert.is(p === undefined, fine, `serial ${JSON.stringify(v)}: ${p ?? 'accepted'}`);
  }
  assert.match(serialProblem([]) ?? '', /empty list/);
  assert.match(serialProblem([1, 'abc']) ?? '', /"abc"/);
});

const maxFailValues: Array<[unknown, boolean]> = [
  [undefined, true], [0, true], [1.5, true], [50, true], [100, true],
  [-1, false], [101, false], [Number.NaN, false], [Number.POSITIVE_INFINITY, false],
  ['0%', false], ['150%', false], ['50', false], ['abc', false], [[], false], [null, false],
];
Batches('maxFailProblem: a number 0–100', () => {
  for (const [v, fine] of maxFailValues) {
    const p = maxFailProblem(v);
    assert.is(p === undefined, fine, `maxFailPercentage ${JSON.stringify(v)}: ${p ?? 'accepted'}`);
  }
  assert.match(maxFailProblem(-1) ?? '', /0–100, got -1/);
});

const hv = (name: string, rank = 0) => ({ name, address: '192.0.2.1', port: 22, user: 'root', become: false, groups: [], vars: { rank } }) as HostView<{ rank: number }>;
const given = [hv('web2', 3), hv('web10', 1), hv('web1', 2)];
const orderTable: Array<[string, HostOrder<{ rank: number }> | undefined, string[]]> = [
  ['no order: inventory', undefined, ['web2', 'web10', 'web1']],
  ['inventory', 'inventory', ['web2', 'web10', 'web1']],
  ['reverse_inventory', 'reverse_inventory', ['web1', 'web10', 'web2']],
  ['sorted', 'sorted', ['web1', 'web10', 'web2']],
  ['reverse_sorted', 'reverse_sorted', ['web2', 'web10', 'web1']],
  ['a function (by a typed variable)', (hs) => [...hs].sort((a, b) => a.vars.rank - b.vars.rank), ['web10', 'web1', 'web2']],
];
for (const [name, order, want] of orderTable) {
  Batches(`orderHosts: ${name}`, () => {
    assert.equal(orderHosts(given, order).map((h) => h.name), want);
    assert.equal(given.map((h) => h.name), ['web2', 'web10', 'web1'], 'the input is not reordered in place');
  });
}
Batches('orderHosts: a function that adds, drops or repeats a host throws', () => {
  const bad: Array<HostOrder<{ rank: number }>> = [(hs) => hs.slice(1), (hs) => [...hs, hv('ghost')], (hs) => [hs[0]!, hs[0]!, hs[1]!], () => []];
  for (const order of bad) assert.throws(() => orderHosts(given, order), /not a reordering of web2, web10, web1/);
});

// ---------------------------------------------------------------- compile

type Vars = { rank: number };
const inventory = () => defineInventory<Vars>({
  vars: { rank: 0 },
  hosts: {
    A: { address: '192.0.2.1', groups: ['web'], vars: { rank: 3 } },
    B: { address: '192.0.2.2', groups: ['web'], vars: { rank: 1 } },
    C: { address: '192.0.2.3', groups: ['web'], vars: { rank: 2 } },
    D: { address: '192.0.2.4', groups: ['db'] },
  },
});
const run = (cmd: string, o: object = {}) => command({ cmd, title: cmd, ...o });
const compiled = (play: Partial<Play<Vars>>) => compile(definePlaybook<Vars>({ name: 'pb', plays: [{ name: 'p', hosts: 'web', tasks: () => [run('x')], ...play }] }), inventory());
const batchNames = (play: Partial<Play<Vars>>) => compiled(play).plays[0]!.batches.map((b) => b.map((w) => w.host.name));

const Compile = suite('serial: compile');

const compileTable: Array<[string, Partial<Play<Vars>>, string[][]]> = [
  ['no serial', {}, [['A', 'B', 'C']]],
  ['serial 2', { serial: 2 }, [['A', 'B'], ['C']]],
  ["serial '34%' (1 of 3)", { serial: '34%' }, [['A'], ['B'], ['C']]],
  ['serial 1, reverse_sorted', { serial: 1, order: 'reverse_sorted' }, [['C'], ['B'], ['A']]],
  ['serial 1, by rank', { serial: 1, order: (hs) => [...hs].sort((a, b) => a.vars.rank - b.vars.rank) }, [['B'], ['C'], ['A']]],
];
for (const [name, play, want] of compileTable) Compile(`batches: ${name}`, () => assert.equal(batchNames(play), want));

Compile('the order also sets the play\'s work, not only its batches', () => {
  assert.equal(compiled({ order: 'reverse_inventory' }).plays[0]!.work.map((w) => w.host.name), ['C', 'B', 'A']);
});

Compile('pre and post tasks are placed around the roles, with their phase', () => {
  const role = defineRole<Vars>({ name: 'r', tasks: () => [run('role-task')] });
  const c = compiled({ preTasks: () => [run('gate')], roles: [role], tasks: () => [run('loose')], postTasks: () => [run('check')] });
  assert.equal(c.plays[0]!.work[0]!.tasks.map((t) => `${t.phase ?? 'main'} ${t.role ?? '-'} ${t.task.name}`), ['pre - gate', 'main r role-task', 'main - loose', 'post - check']);
});

const problemTable: Array<[string, Partial<Play<Vars>>, string, RegExp]> = [
  ['serial 0', { serial: 0 }, 'play "p" serial', /whole number/],
  ["serial '0%'", { serial: '0%' }, 'play "p" serial', /got "0%"/],
  ['serial []', { serial: [] }, 'play "p" serial', /empty list/],
  ['maxFailPercentage 150', { serial: 1, maxFailPercentage: 150 }, 'play "p" maxFailPercentage', /0–100/],
  ['an order that drops a host', { order: (hs) => hs.slice(1) }, 'play "p" order', /not a reordering of A, B, C/],
  ['an order that throws', { order: () => { throw new Error('no ranks here'); } }, 'play "p" order', /no ranks here/],
];
for (const [name, play, field, message] of problemTable) {
  Compile(`a problem, naming the play's field: ${name}`, () => {
    const c = compiled(play);
    assert.is(c.problems.length, 1, JSON.stringify(c.problems));
    assert.is(c.problems[0]!.field, field);
    assert.match(c.problems[0]!.message, message);
  });
}

// ---------------------------------------------------------------- runner

/** Run plays against fake hosts; `script(host)` gives each host's answers. */
async function play(plays: Play<Vars>[], script: (h: HostView) => Scripted[] | 'unreachable', o: { check?: boolean } = {}) {
  const { reporter, recap, hosts } = await runOnFakes(inventory(), plays, script, o);
  /** Commands each host ran, fact batches left out. */
  const applied = (h: string) => hosts.get(h)?.applied ?? [];
  const notReached = (recap.notReached ?? []).map((n) => `${n.host} ${n.play}`);
  return { reporter, recap, applied, notReached };
}

const ok = (cmd: string, extra: Partial<Scripted> = {}): Scripted => ({ cmd, ...extra });
const fails = (cmd: string): Scripted => ({ cmd, code: 1, stderr: 'boom' });
const everything: Scripted[] = [{ cmd: /.*/ }];
/** Every command succeeds, except `bad` on the hosts named. */
const failOn = (bad: string, ...names: string[]) => (h: HostView) => (names.includes(h.name) ? [fails(bad), ...everything] : everything);

const restartHandler = () => [run('restart', { title: 'restart svc' })];
const conf = defineRole<Vars>({ name: 'conf', tasks: () => [run('conf', { notify: 'restart svc' })] });
const rolling = (o: Partial<Play<Vars>> = {}): Play<Vars> => ({
  name: 'roll', hosts: 'web', serial: 1,
  preTasks: () => [run('drain')], roles: [conf], postTasks: () => [run('health')], handlers: restartHandler, ...o,
});

const Runner = suite('serial: runner');

Runner('serial 1: a host finishes (pre, role, handler, post) before the next starts', async () => {
  const { reporter, notReached } = await play([rolling()], () => everything);
  const host = (h: string) => [`${h} changed drain`, `${h} changed conf`, `${h} changed restart svc`, `${h} changed health`];
  assert.equal(reporter.events, [
    'run pb',
    'play roll 1/3 [A]', ...host('A'),
    'play roll 2/3 [B]', ...host('B'),
    'play roll 3/3 [C]', ...host('C'),
  ]);
  assert.equal(notReached, []);
});

Runner('handlers are flushed at the end of each phase: pre → main → post', async () => {
  const { reporter } = await play([rolling({
    hosts: 'A',
    preTasks: () => [run('pre-conf', { notify: 'restart svc' })],
    postTasks: () => [run('health'), run('post-conf', { notify: 'restart svc' })],
  })], () => everything);
  assert.equal(reporter.of('A'), ['changed pre-conf', 'changed restart svc', 'changed conf', 'changed restart svc', 'changed health', 'changed post-conf', 'changed restart svc']);
});

Runner('a handler notified by an unchanged task does not run before the post tasks', async () => {
  const { reporter } = await play([rolling({ hosts: 'A', roles: [defineRole<Vars>({ name: 'r', tasks: () => [run('conf', { notify: 'restart svc', changedWhen: () => false })] })] })], () => everything);
  assert.equal(reporter.of('A'), ['changed drain', 'ok conf', 'changed health']);
});

Runner('`when: ({ changed })`: a gate runs only after a host that changed something', async () => {
  const role = defineRole<Vars>({ name: 'r', tasks: ({ host }) => [run('conf', { changedWhen: () => host.name === 'B' })] });
  const { reporter } = await play([rolling({ preTasks: undefined, roles: [role], postTasks: () => [run('health', { when: ({ changed }: { changed: boolean }) => changed })] })], () => everything);
  assert.equal(['A', 'B', 'C'].map((h) => reporter.of(h)), [['ok conf', 'skipped health'], ['changed conf', 'changed health'], ['ok conf', 'skipped health']]);
});

Runner('a failed pre task (a health gate) skips the roles, the handlers and the post tasks', async () => {
  const { reporter, applied } = await play([rolling({ hosts: 'A' })], failOn('drain', 'A'));
  assert.equal(reporter.of('A'), ['failed drain']);
  assert.equal(applied('A'), ['drain']);
});

Runner('a failed handler skips the post tasks', async () => {
  const { reporter } = await play([rolling({ hosts: 'A' })], failOn('restart', 'A'));
  assert.equal(reporter.of('A'), ['changed drain', 'changed conf', 'failed restart svc']);
});

const reason = (recap: { notReached?: ReadonlyArray<{ reason: string }> }) => [...new Set((recap.notReached ?? []).map((n) => n.reason))];

Runner('a failure in batch 1 stops the run: later batches and later plays are not run', async () => {
  const { reporter, recap, applied, notReached } = await play([rolling(), { name: 'after', hosts: 'all', tasks: () => [run('later')] }], failOn('health', 'A'));
  assert.equal(reporter.events, ['run pb', 'play roll 1/3 [A]', 'A changed drain', 'A changed conf', 'A changed restart svc', 'A failed health']);
  for (const h of ['B', 'C', 'D']) assert.equal(applied(h), [], `${h} ran nothing`);
  assert.equal(notReached, ['B roll', 'C roll', 'B after', 'C after', 'D after']);
  assert.equal(reason(recap), ['play "roll" stopped after batch 1/3: 1 of 1 host(s) failed']);
  assert.is(recap.hosts.A!.failed, 1);
});

Runner('a failure in the last batch stops later plays', async () => {
  const { reporter, notReached, recap } = await play([rolling(), { name: 'after', hosts: 'db', tasks: () => [run('later')] }], failOn('conf', 'C'));
  assert.equal(reporter.of('C'), ['changed drain', 'failed conf']);
  assert.equal(reporter.of('D'), []);
  assert.equal(notReached, ['D after']);
  assert.match(reason(recap)[0]!, /play "roll" stopped after batch 3\/3/);
});

Runner('an unreachable host counts as failed for its batch', async () => {
  const { reporter, notReached, recap } = await play([rolling({ serial: 2 })], (h) => (h.name === 'A' ? 'unreachable' : everything));
  assert.equal(reporter.of('A'), ['unreachable connect']);
  assert.equal(reporter.of('B').at(-1), 'changed health', 'the rest of batch 1 finishes');
  assert.equal(notReached, ['C roll']);
  assert.equal(reason(recap), ['play "roll" stopped after batch 1/2: 1 of 2 host(s) failed']);
});

// serial 2 over A, B, C, D: batches [A, B] and [C, D].
const four = (o: Partial<Play<Vars>>): Play<Vars> => ({ name: 'four', hosts: ['web', 'db'], serial: 2, tasks: () => [run('step')], ...o });
const rolloutTable: Array<[string, Partial<Play<Vars>>, string[], string[]]> = [
  ['maxFailPercentage 50, 1 of 2 failed: goes on (50 is not more than 50)', { maxFailPercentage: 50 }, ['A'], []],
  ['maxFailPercentage 50, 2 of 2 failed: stops', { maxFailPercentage: 50 }, ['A', 'B'], ['C four', 'D four']],
  ['maxFailPercentage 49, 1 of 2 failed: stops', { maxFailPercentage: 49 }, ['B'], ['C four', 'D four']],
  ['maxFailPercentage 100, 2 of 2 failed: goes on', { maxFailPercentage: 100 }, ['A', 'B'], []],
  ['maxFailPercentage 50, 1 of 2 failed in batch 2: nothing left to stop', { maxFailPercentage: 50 }, ['C'], []],
  ['no maxFailPercentage with serial: any failure stops', {}, ['B'], ['C four', 'D four']],
];
for (const [name, o, failing, wantNotReached] of rolloutTable) {
  Runner(name, async () => {
    const { reporter, notReached } = await play([four(o)], failOn('step', ...failing));
    assert.equal(notReached, wantNotReached);
    const ran = ['A', 'B', 'C', 'D'].filter((h) => reporter.of(h).length > 0);
    assert.equal(ran, wantNotReached.length ? ['A', 'B'] : ['A', 'B', 'C', 'D']);
  });
}

Runner('the halt reason names the percentage when one is set', async () => {
  const { recap } = await play([four({ maxFailPercentage: 50 })], failOn('step', 'A', 'B'));
  assert.equal(reason(recap), ['play "four" stopped after batch 1/2: 2 of 2 host(s) failed (more than 50 %)']);
});

Runner('without serial: a failing host stops neither the other hosts nor later plays (as before)', async () => {
  const { reporter, notReached } = await play([
    { name: 'one', hosts: 'web', tasks: () => [run('step'), run('step2')] },
    { name: 'two', hosts: 'all', tasks: () => [run('later')] },
  ], failOn('step', 'A'));
  assert.equal(reporter.of('A'), ['failed step']);
  assert.equal(reporter.of('B'), ['changed step', 'changed step2', 'changed later']);
  assert.equal(reporter.of('D'), ['changed later']);
  assert.ok(reporter.events.includes('play one [A,B,C]'), 'no batch number without serial');
  assert.ok(reporter.events.includes('play two [B,C,D]'), 'the failed host sits out later plays');
  assert.equal(notReached, []);
});

Runner('maxFailPercentage without serial: the play\'s hosts all run, later plays are not reached', async () => {
  const { reporter, notReached, recap } = await play([
    { name: 'one', hosts: 'web', maxFailPercentage: 0, tasks: () => [run('step')] },
    { name: 'two', hosts: 'all', tasks: () => [run('later')] },
  ], failOn('step', 'A'));
  assert.equal(reporter.of('B'), ['changed step']);
  assert.equal(reporter.of('C'), ['changed step']);
  assert.equal(notReached, ['B two', 'C two', 'D two']);
  assert.equal(reason(recap), ['play "one" stopped after its hosts: 1 of 3 host(s) failed']);
});

Runner('a host that failed an earlier play is left out of its batch, and of the failure count', async () => {
  const { reporter, notReached } = await play([
    { name: 'first', hosts: 'A', tasks: () => [run('first')] },
    four({}),
  ], failOn('first', 'A'));
  assert.ok(reporter.events.includes('play four 1/2 [B]'), reporter.events.join('\n'));
  assert.ok(reporter.events.includes('play four 2/2 [C,D]'), 'A\'s failure in an earlier play does not stop this one');
  assert.equal(notReached, []);
});

Runner('check mode rolls in batches too, and applies nothing', async () => {
  const { reporter, applied } = await play([rolling()], () => everything, { check: true });
  assert.equal(reporter.events.filter((e) => e.startsWith('play ')), ['play roll 1/3 [A]', 'play roll 2/3 [B]', 'play roll 3/3 [C]']);
  const firstB = reporter.events.indexOf('play roll 2/3 [B]');
  assert.ok(reporter.events.slice(firstB).every((e) => !e.startsWith('A ')), 'A is done before B starts');
  assert.equal(reporter.of('A'), ['changed drain', 'changed conf', 'changed restart svc', 'changed health']);
  for (const h of ['A', 'B', 'C']) assert.equal(applied(h), [], `${h} applied nothing`);
});

Runner('check mode: a failing read-only gate stops the rollout', async () => {
  const { reporter, notReached } = await play([rolling({ preTasks: () => [run('gate', { check: 'run' })] })], failOn('gate', 'A'), { check: true });
  assert.equal(reporter.of('A'), ['failed gate']);
  assert.equal(notReached, ['B roll', 'C roll']);
});

Batches.run();
Compile.run();
Runner.run();
