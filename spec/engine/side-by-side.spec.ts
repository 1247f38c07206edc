import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostView } from '../../lib/core/host.ts';
import { compile } from '../../lib/engine/compile.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { definePlaybook, type Play, type RollDecision } from '../../lib/dsl/playbook.ts';
import { defineRole } from '../../lib/dsl/role.ts';
import { command } from '../../lib/tasks/command.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runOnFakes, type FakeRunOptions } from '../support/fake-run.ts';

type Vars = { site?: string };
const inventory = (web = 3) => defineInventory<Vars>({
  vars: {},
  hosts: {
    ...Object.fromEntries(Array.from({ length: web }, (_, i) => [`W${i + 1}`, { address: `192.0.2.${i + 1}`, groups: ['web'] }])),
    D: { address: '192.0.2.100', groups: ['db'] },
  },
});
const run = (cmd: string) => command({ cmd, title: cmd });
const everything: Scripted[] = [{ cmd: /.*/ }];
const failing = (bad: string, ...names: string[]) => (h: HostView): Scripted[] => (names.includes(h.name) ? [{ cmd: bad, code: 1, stderr: 'boom' }, ...everything] : everything);

/** A decision that answers `roll` and counts how often it was asked. */
function decision(roll: boolean | 'throws'): RollDecision<Vars> & { asked: number } {
  const d = Object.assign(async () => {
    d.asked++;
    if (roll === 'throws') throw new Error('LB1 unreachable');
    return { roll, why: roll ? 'it serves' : 'nothing serves' };
  }, { asked: 0 });
  return d;
}

const web = (o: Partial<Play<Vars>> = {}): Play<Vars> => ({ name: 'web', hosts: 'web', tasks: () => [run('web-conf')], postTasks: () => [run('web-gate')], ...o });
const db = (o: Partial<Play<Vars>> = {}): Play<Vars> => ({ name: 'db', hosts: 'db', withPrevious: true, tasks: () => [run('db-conf')], postTasks: () => [run('db-gate')], ...o });

async function play(plays: Play<Vars>[], script: (h: HostView) => Scripted[] = () => everything, o: FakeRunOptions & { web?: number } = {}) {
  const { reporter, recap } = await runOnFakes(inventory(o.web), plays, script, o);
  const plays_ = reporter.events.filter((e) => e.startsWith('play '));
  const at = (e: string) => reporter.events.indexOf(e);
  return { reporter, recap, plays: plays_, at, notReached: (recap.notReached ?? []).map((n) => `${n.host} ${n.play}`) };
}

// ---------------------------------------------------------------- runner

const Runner = suite('side by side: runner');

Runner('two plays side by side: both start at once, and every post task waits for every host\'s tasks', async () => {
  const { plays, at, reporter } = await play([web(), db()]);
  assert.equal(plays, ['play web [W1,W2,W3] (side by side with "db")', 'play db [D] (side by side with "web")']);
  const mains = ['W1 changed web-conf', 'W2 changed web-conf', 'W3 changed web-conf', 'D changed db-conf'];
  const posts = ['W1 changed web-gate', 'W2 changed web-gate', 'W3 changed web-gate', 'D changed db-gate'];
  for (const e of [...mains, ...posts]) assert.ok(at(e) >= 0, `${e} in ${reporter.events.join(' | ')}`);
  assert.ok(Math.max(...mains.map(at)) < Math.min(...posts.map(at)), reporter.events.join(' | '));
});

Runner('one after the other without withPrevious: the second play starts when the first is through', async () => {
  const { plays, at } = await play([web(), db({ withPrevious: false })]);
  assert.equal(plays, ['play web [W1,W2,W3]', 'play db [D]']);
  assert.ok(at('W3 changed web-gate') < at('D changed db-conf'));
});

const rollTable: Array<[string, boolean | 'throws', string[]]> = [
  ['answers no: every host at once, saying why', false, ['play web [W1,W2,W3] (all at once: nothing serves)']],
  ['answers yes: the batches serial asks for', true, ['play web 1/3 [W1] (rolling: it serves)', 'play web 2/3 [W2]', 'play web 3/3 [W3]']],
  ['throws: rolls, the safe default, saying why', 'throws', ['play web 1/3 [W1] (rolling: could not tell (LB1 unreachable), so rolling)', 'play web 2/3 [W2]', 'play web 3/3 [W3]']],
];
for (const [name, roll, want] of rollTable) {
  Runner(`rollIf ${name}`, async () => {
    const d = decision(roll);
    const { plays } = await play([web({ serial: 1, rollIf: d })]);
    assert.equal(plays, want);
    assert.is(d.asked, 1);
  });
}

Runner('rollIf sees the play\'s hosts (after --limit), every inventory host, and a reader', async () => {
  let seen = '';
  const rollIf: RollDecision<Vars> = async ({ hosts, inventoryHosts, reader }) => {
    const r = await (await reader('D')).run('hostname');
    seen = `${hosts.map((h) => h.name)} / ${inventoryHosts.map((h) => h.name)} / ${r.code}`;
    return { roll: false, why: 'x' };
  };
  await play([web({ serial: 1, rollIf })], () => everything, { sel: { limit: ['W1', 'W2', 'D'] } });
  assert.is(seen, 'W1,W2 / W1,W2,W3,D / 0');
});

Runner('side by side only when none rolls: one rolling play makes the group run one after the other', async () => {
  const no = decision(false);
  const { plays, at } = await play([web({ serial: 1, rollIf: decision(true) }), db({ serial: 1, rollIf: no })]);
  assert.equal(plays, ['play web 1/3 [W1] (rolling: it serves)', 'play web 2/3 [W2]', 'play web 3/3 [W3]', 'play db [D] (all at once: nothing serves)']);
  assert.ok(at('W3 changed web-gate') < at('D changed db-conf'));
  assert.is(no.asked, 2, 'asked at the group\'s start, and again at its turn: the play before may have changed the answer');
});

Runner('a play with serial and no rollIf always rolls, so it never runs side by side', async () => {
  const { plays } = await play([web({ serial: 2 }), db()]);
  assert.equal(plays, ['play web 1/2 [W1,W2]', 'play web 2/2 [W3]', 'play db [D]']);
});

Runner('more hosts than --forks: one after the other, saying why (the post tasks would wait for hosts that cannot start)', async () => {
  const { plays } = await play([web(), db()], () => everything, { forks: 3 });
  assert.equal(plays, ['play web [W1,W2,W3] (not side by side with the plays beside it: 4 hosts, more than --forks 3)', 'play db [D] (not side by side with the plays beside it: 4 hosts, more than --forks 3)']);
});

Runner('a host that fails leaves the meeting point: the others\' post tasks still run', async () => {
  const { reporter } = await play([web(), db()], failing('web-conf', 'W2'));
  assert.equal(reporter.of('W2'), ['failed web-conf']);
  assert.equal(reporter.of('D'), ['changed db-conf', 'changed db-gate']);
  assert.equal(reporter.of('W1'), ['changed web-conf', 'changed web-gate']);
});

Runner('a failure in a side-by-side play that stops on failure stops the later plays, not its neighbour', async () => {
  const after: Play<Vars> = { name: 'after', hosts: 'all', tasks: () => [run('later')] };
  const { reporter, notReached, recap } = await play([web({ serial: 1, rollIf: decision(false) }), db(), after], failing('web-conf', 'W1'));
  assert.equal(reporter.of('D'), ['changed db-conf', 'changed db-gate']);
  assert.equal(notReached, ['W2 after', 'W3 after', 'D after']);
  assert.equal([...new Set((recap.notReached ?? []).map((n) => n.reason))], ['play "web" stopped after its hosts: 1 of 3 host(s) failed']);
});

Runner('--role leaves the group\'s first play out: the rest of the group still runs side by side', async () => {
  const r = (name: string) => defineRole<Vars>({ name, tasks: () => [run(`${name}-task`)] });
  const plays: Play<Vars>[] = [
    { name: 'p1', hosts: 'W1', roles: [r('one')] },
    { name: 'p2', hosts: 'W2', roles: [r('two')], withPrevious: true },
    { name: 'p3', hosts: 'W3', roles: [r('three')], withPrevious: true },
  ];
  const { plays: started } = await play(plays, () => everything, { sel: { roles: ['two', 'three'] } });
  assert.equal(started, ['play p2 [W2] (side by side with "p3")', 'play p3 [W3] (side by side with "p2")']);
});

Runner('check mode: the decision is asked too (it only reads), and side by side holds', async () => {
  const d = decision(false);
  const { plays } = await play([web({ serial: 1, rollIf: d }), db()], () => everything, { check: true });
  assert.is(d.asked, 1);
  assert.equal(plays, ['play web [W1,W2,W3] (side by side with "db"; all at once: nothing serves)', 'play db [D] (side by side with "web")']);
});

// ---------------------------------------------------------------- compile

const Compile = suite('side by side: compile');

const problemTable: Array<[string, Play<Vars>[], string, RegExp]> = [
  ['withPrevious on the first play', [db({ hosts: 'db' })], 'play "db" withPrevious', /the first play has no play before it/],
  ['side-by-side plays sharing a host', [web(), db({ hosts: ['db', 'W2'] })], 'play "db" withPrevious', /side by side with play "web", but both run on W2/],
  ['sharing a host with the group\'s first play, two plays back', [web(), db(), { name: 'third', hosts: 'W3', withPrevious: true, tasks: () => [run('x')] }], 'play "third" withPrevious', /play "web", but both run on W3/],
  ['withPrevious that is not a boolean', [web(), db({ withPrevious: 'yes' as unknown as boolean })], 'play "db" withPrevious', /true or false, got the string "yes"/],
  ['rollIf without serial', [web({ rollIf: decision(false) })], 'play "web" rollIf', /the play has no serial/],
  ['rollIf that is not a function', [web({ serial: 1, rollIf: true as unknown as RollDecision<Vars> })], 'play "web" rollIf', /must be a function/],
];
for (const [name, plays, field, message] of problemTable) {
  Compile(`a problem before anything is contacted: ${name}`, () => {
    const c = compile(definePlaybook<Vars>({ name: 'pb', plays }), inventory());
    assert.is(c.problems.length, 1, JSON.stringify(c.problems));
    assert.is(c.problems[0]!.field, field);
    assert.match(c.problems[0]!.message, message);
  });
}

Compile('a shared host is judged before --limit: the playbook is wrong whatever the selection', () => {
  const c = compile(definePlaybook<Vars>({ name: 'pb', plays: [web(), db({ hosts: ['db', 'W2'] })] }), inventory(), { limit: ['W1', 'D'] });
  assert.equal(c.problems.map((p) => p.field), ['play "db" withPrevious']);
});

Runner.run();
Compile.run();
