/**
 * Issue 14, part A: every mistake gets one clear problem, against the file,
 * host, task and field at fault, before anything is contacted. Tables:
 * broken input in, the exact problem list out.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Problem } from '../../lib/core/errors.ts';
import { describe, wholeNumber } from '../../lib/core/rules.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { definePlaybook } from '../../lib/dsl/playbook.ts';
import { defineRole } from '../../lib/dsl/role.ts';
import { compile } from '../../lib/engine/compile.ts';
import { command } from '../../lib/tasks/index.ts';
import { lvsGroups, type LvsCluster, type LvsVars } from '../../roles/lvs/cluster.ts';
import seed from '../../inventory/inventory.ts';
import site from '../../playbooks/site.ts';

const FILES = { playbook: 'pb.ts', inventory: 'inv.ts' };
const one = defineInventory<Record<string, never>>({ vars: {}, hosts: { A: { address: '192.0.2.1' } } });
/** A playbook of one play on host A running `tasks`. */
const playOf = (tasks: () => ReturnType<typeof command>[]) => definePlaybook({ name: 'p', plays: [{ name: 'p', hosts: 'A', tasks }] });
/** A task given options as an untyped playbook would. */
const cmd = (extra: Record<string, unknown>) => command({ cmd: ['true'], ...extra } as never);
const WHEN = 'must be a function ({ host, vars, results, changed }) => boolean';

const Rules = suite('rules: a wrong JS type is named as such');

const described: Array<[unknown, string]> = [
  [62, '62'], ['62', 'the string "62"'], [true, 'the boolean true'], [[1], 'an array'],
  [null, 'null'], [undefined, 'undefined'], [{}, 'an object'], [() => 1, 'a function'],
];
for (const [v, want] of described) Rules(`describe(${want})`, () => assert.is(describe(v), want));

Rules('wholeNumber: range, unit, note; a numeric string is refused', () => {
  assert.is(wholeNumber('62', 1, 255), 'must be a whole number 1–255, got the string "62"');
  assert.is(wholeNumber(300, 1, 255), 'must be a whole number 1–255, got 300');
  assert.is(wholeNumber(1.5, 1, 3600, { unit: 'seconds' }), 'must be a whole number of seconds 1–3600, got 1.5');
  assert.is(wholeNumber(undefined, 0, 2 ** 31, { unit: 'ms' }), 'must be a whole number of ms 0 or more, got undefined');
  assert.is(wholeNumber(62, 1, 255), undefined);
});

Rules.run();

const Options = suite('task options: checked like parameters, before any connection');

// Each case: options as an untyped playbook writes them, and every problem they give.
const optionCases: Array<[string, Record<string, unknown>, Array<[task: string, field: string, message: string]>]> = [
  ['when: false (a boolean, not a function)', { when: false }, [['command true', 'when', `${WHEN}, got the boolean false`]]],
  ['when: a string', { when: 'results.x.rc == 0' }, [['command true', 'when', `${WHEN}, got the string "results.x.rc == 0"`]]],
  ['tags: one string is one tag', { tags: 'web' }, []],
  ['tags: a number', { tags: 5 }, [['command true', 'tags', 'must be a string or a list of strings, got 5']]],
  ['tags: a list with a number', { tags: ['web', 3] }, [['command true', 'tags', 'must be a string or a list of strings, got an array with 3 at [1]']]],
  ['tags: an empty string', { tags: '' }, [['command true', 'tags', 'must not be empty or blank']]],
  ['notify: an object', { notify: { name: 'x' } }, [['command true', 'notify', 'must be a string or a list of strings, got an object']]],
  ['notify: a list with null', { notify: ['x', null] }, [['command true', 'notify', 'must be a string or a list of strings, got an array with null at [1]']]],
  ['register: empty', { register: '' }, [['command true', 'register', 'must be a non-empty name, got the string ""']]],
  ['register: a number', { register: 7 }, [['command true', 'register', 'must be a non-empty name, got 7']]],
  ['ignoreErrors: the string "yes"', { ignoreErrors: 'yes' }, [['command true', 'ignoreErrors', 'must be true or false, got the string "yes"']]],
  ['title: a number (the default name is used)', { title: 42 }, [['command true', 'title', 'must be a non-empty string, got 42']]],
  ['changedWhen: false', { changedWhen: false }, [['command true', 'changedWhen', 'must be a function (result) => boolean, got the boolean false']]],
  ['failedWhen: a string', { failedWhen: 'rc != 0' }, [['command true', 'failedWhen', 'must be a function (result) => boolean, got the string "rc != 0"']]],
  ['check: a boolean', { check: true }, [['command true', 'check', "must be one of 'skip', 'run', got the boolean true"]]],
  ['several at once: all listed, parameters first', { title: 'x', when: true, tags: 1, changedWhen: 0, ignoreErrors: 1 }, [
    ['x', 'changedWhen', 'must be a function (result) => boolean, got 0'],
    ['x', 'when', `${WHEN}, got the boolean true`],
    ['x', 'tags', 'must be a string or a list of strings, got 1'],
    ['x', 'ignoreErrors', 'must be true or false, got 1'],
  ]],
];
for (const [name, options, want] of optionCases) {
  Options(name, () => {
    const c = compile(playOf(() => [cmd(options)]), one, {}, FILES);
    const expected: Problem[] = want.map(([task, field, message]) => ({ file: 'pb.ts', host: 'A', task, field, message }));
    assert.equal(c.problems, expected);
  });
}

Options('a string tag is a list of one for every reader: --tags selects it, options.tags is an array', () => {
  const pb = playOf(() => [cmd({ title: 'web', tags: 'web' }), cmd({ title: 'db', tags: ['db'] }), cmd({ title: 'always', tags: 'always' })]);
  const c = compile(pb, one, { tags: ['web'] }, FILES);
  assert.equal(c.problems, []);
  assert.equal(c.plays[0]!.work[0]!.tasks.map((t) => [t.task.name, t.task.options.tags]), [['web', ['web']], ['always', ['always']]]);
});

Options('a task list with something else in it, or no list at all: a problem naming the place, not a crash', () => {
  const pb = definePlaybook({ name: 'p', plays: [{ name: 'p', hosts: 'A', tasks: () => [cmd({}), false as never], handlers: () => undefined as never }] });
  assert.equal(compile(pb, one, {}, FILES).problems, [
    { file: 'pb.ts', host: 'A', message: 'play "p": entry [1] is not a task (made by a task constructor such as command()), got the boolean false' },
    { file: 'pb.ts', host: 'A', message: 'play "p" handlers returned undefined, not a list' },
  ]);
});

Options('a wrong option is left out of task.options, so nothing reads it before validation stops the run', () => {
  const t = cmd({ when: false, tags: 'a', notify: 3, register: 'r' });
  assert.equal(Object.keys(t.options).sort(), ['register', 'tags']);
});

Options.run();

const Once = suite('inventory-wide rules: each problem once, against the inventory');

const base = (): LvsCluster => structuredClone(seed.vars.cluster);
/** The seed inventory with `cluster` changed (hosts may set their own). */
const lvsInv = (c: unknown, hostVars: Record<string, unknown> = {}) => defineInventory<LvsVars>({
  vars: { cluster: c as LvsCluster },
  hosts: Object.fromEntries(Object.entries(seed.def.hosts).map(([n, h]) => [n, { ...h, ...(hostVars[n] ? { vars: hostVars[n] as Partial<LvsVars> } : {}) }])),
  groups: lvsGroups(seed.vars.cluster),
});
const ROLES = '(roles realserver, director, verify)';
const inInv = (field: string, message: string, host?: string): Problem => ({ file: 'inv.ts', ...(host ? { host } : {}), field, message: `${message} ${ROLES}` });
const mutated = (f: (c: Record<string, any>) => void) => { const c: Record<string, any> = base(); f(c); return lvsInv(c); };

const clusterCases: Array<[string, ReturnType<typeof lvsInv>, Problem[]]> = [
  ['virtualRouterId as the string "62"', mutated((c) => { c.virtualRouterId = '62'; }),
    [inInv('cluster.virtualRouterId', 'must be a whole number 1–255, got the string "62"')]],
  ['a 9-character auth pass: one problem, not one per host and role', mutated((c) => { c.auth.pass = '123456789'; }),
    [inInv('cluster.auth.pass', 'is 9 characters; keepalived silently uses only the first 8')]],
  ['port as the boolean true', mutated((c) => { c.port = true; }), [inInv('cluster.port', 'must be a whole number 1–65535, got the boolean true')]],
  ['a priority missing: no host named, least of all a real server', mutated((c) => { c.directors.LB2 = {}; }),
    [inInv('cluster.directors.LB2.priority', 'must be a whole number 1–254 (255 is reserved for the address owner), got undefined')]],
  ['directors is null: no knock-on from the roles or the gates', mutated((c) => { c.directors = null; }),
    [inInv('cluster.directors', 'must be an object of host name: { priority }, got null')]],
  ['no director at all: said once, not again by each host the director role runs on', mutated((c) => { c.directors = {}; }),
    [inInv('cluster.directors', 'needs at least one director')]],
  ['healthCheck an array', mutated((c) => { c.healthCheck = []; }), [inInv('cluster.healthCheck.kind', 'must be one of TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, got undefined')]],
  ['subnet a number', mutated((c) => { c.subnet = 24; }), [inInv('cluster.subnet', 'must be a CIDR like 192.168.56.0/24, got 24')]],
  ['no cluster at all', lvsInv(undefined), [inInv('cluster', 'is required (an LvsCluster), got undefined')]],
  ['five mistakes: five problems', mutated((c) => {
    c.virtualRouterId = 0; c.auth.pass = '123456789'; c.scheduler = 'random'; c.directors.LB2.priority = 200; c.realServers.RS1.weight = '1';
  }), [
    inInv('cluster.virtualRouterId', 'must be a whole number 1–255, got 0'),
    inInv('cluster.auth.pass', 'is 9 characters; keepalived silently uses only the first 8'),
    inInv('cluster.scheduler', 'must be one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, got the string "random"'),
    inInv('cluster.directors.LB2.priority', "200 is also LB1's priority; priorities must differ so one director is MASTER"),
    inInv('cluster.realServers.RS1.weight', 'must be a whole number 0–65535, got the string "1"'),
  ]],
  ['a host with a cluster of its own: its problems name that host', lvsInv(base(), { LB2: { cluster: { ...base(), advertInterval: '1' } } }),
    [{ file: 'inv.ts', host: 'LB2', field: 'cluster.advertInterval', message: `must be a whole number of seconds 1–255, got the string "1" ${ROLES}` }]],
];
for (const [name, inv, want] of clusterCases) {
  Once(name, () => assert.equal(compile(site, inv, {}, FILES).problems, want));
}

Once('a role whose inventory rule failed builds no tasks anywhere; the other roles still do', () => {
  const c = compile(site, mutated((c) => { c.virtualRouterId = '62'; }), {}, FILES);
  const byRole = (role: string) => c.plays.flatMap((p) => p.work.flatMap((w) => w.tasks.filter((t) => t.role === role)));
  assert.is(byRole('director').length + byRole('realserver').length + byRole('verify').length, 0);
  assert.ok(byRole('packages').length > 0);
});

Once('a role whose validate() failed for a host builds nothing for that host: no knock-on "threw"', () => {
  const fragile = defineRole<{ site?: string }>({
    name: 'fragile',
    validate: ({ vars }) => (vars.site ? [] : [{ field: 'site', message: 'is required' }]),
    tasks: ({ vars }) => [command({ cmd: ['echo', vars.site!.toUpperCase()] })],
    handlers: ({ vars }) => [command({ title: vars.site!.toUpperCase(), cmd: ['true'] })],
  });
  const inv = defineInventory<{ site?: string }>({ vars: {}, hosts: { A: { address: '192.0.2.1' }, B: { address: '192.0.2.2', vars: { site: 'b' } } } });
  const c = compile(definePlaybook({ name: 'p', plays: [{ name: 'p', hosts: ['A', 'B'], roles: [fragile] }] }), inv, {}, FILES);
  assert.equal(c.problems, [{ file: 'inv.ts', host: 'A', field: 'site', message: 'is required (role fragile)' }]);
  assert.equal(c.plays[0]!.work.map((w) => [w.host.name, w.tasks.length, w.handlers.length]), [['A', 0, 0], ['B', 1, 1]]);
});

Once('warnings of an inventory rule: once, naming no host', () => {
  const c = compile(site, mutated((c) => { c.persistenceTimeout = 50; }), {}, FILES);
  assert.equal(c.problems, []);
  assert.equal(c.warnings.filter((w) => /persistenceTimeout/.test(w)).length, 1);
  assert.match(c.warnings.join('\n'), /^roles realserver, director, verify: cluster.persistenceTimeout: 50 s with rr/m);
});

Once.run();

const Plays = suite('a play without roles checks the cluster its own tasks read');

Plays('handover with no director: the cluster problem, once; no tasks, no knock-on', async () => {
  const { default: handover } = await import('../../playbooks/handover.ts');
  const c: Record<string, any> = base();
  c.directors = null;
  const inv = defineInventory<LvsVars>({ ...seed.def, vars: { cluster: c as LvsCluster }, groups: { master: { hosts: [] } } });
  const compiled = compile(handover, inv, {}, FILES);
  assert.equal(compiled.problems, [{ file: 'inv.ts', field: 'cluster.directors', message: 'must be an object of host name: { priority }, got null (play "handover")' }]);
});

Plays('drain with a port given as a string: once, naming the play', async () => {
  const { default: drain } = await import('../../playbooks/drain.ts');
  const compiled = compile(drain, mutated((c) => { c.port = '80'; }), {}, FILES);
  assert.equal(compiled.problems, [{ file: 'inv.ts', field: 'cluster.port', message: 'must be a whole number 1–65535, got the string "80" (play "drain real servers")' }]);
  assert.equal(compiled.plays[0]!.work.map((w) => w.tasks.length), [0, 0]);
});

Plays.run();

const Missing = suite('an untyped inventory lacking a role\'s variable: named, never a TypeError');

const motd = defineRole<{ greeting: string; root: { path: string }; note?: string }>({
  name: 'motd',
  tasks: ({ vars }) => [command({ cmd: ['echo', vars.greeting], creates: `${vars.root.path}/motd`, title: vars.note ?? 'greet' })],
});
const motdPlay = definePlaybook({ name: 'p', plays: [{ name: 'p', hosts: 'A', roles: [motd] }] });
const missingCases: Array<[string, Record<string, unknown>, Problem[]]> = [
  ['a variable the role reads a property of: the variable, not the TypeError', { greeting: 'hi' },
    [{ file: 'inv.ts', host: 'A', field: 'root', message: 'variable root is missing (needed by role motd)' }]],
  ['two missing: both, one problem each', {},
    [{ file: 'inv.ts', host: 'A', field: 'greeting', message: 'variable greeting is missing (needed by role motd)' },
      { file: 'inv.ts', host: 'A', field: 'root', message: 'variable root is missing (needed by role motd)' }]],
  ['an optional variable left out, the rest there: no problem', { greeting: 'hi', root: { path: '/srv' } }, []],
];
for (const [what, vars, want] of missingCases) {
  Missing(what, () => {
    const inv = defineInventory<Record<string, unknown>>({ vars, hosts: { A: { address: '192.0.2.1' } } });
    assert.equal(compile(motdPlay, inv as never, {}, FILES).problems, want);
  });
}

Missing('a missing variable that only makes a parameter wrong: the parameter\'s problem and the variable', () => {
  const plain = defineRole<{ dest: string }>({ name: 'plain', tasks: ({ vars }) => [command({ cmd: vars.dest })] });
  const inv = defineInventory<Record<string, unknown>>({ vars: {}, hosts: { A: { address: '192.0.2.1' } } });
  const problems = compile(definePlaybook({ name: 'p', plays: [{ name: 'p', hosts: 'A', roles: [plain] }] }), inv as never, {}, FILES).problems;
  assert.ok(problems.some((p) => p.message === 'variable dest is missing (needed by role plain)'), JSON.stringify(problems));
});

Missing.run();

const Unrelated = suite('a role\'s own bug is not blamed on an optional variable left out');
Unrelated('it throws its own error: that error, not "variable note is missing"', () => {
  const buggy = defineRole<{ note?: string }>({ name: 'buggy', tasks: ({ vars }) => { if (vars.note === undefined) throw new Error('buggy role'); return []; } });
  const inv = defineInventory<Record<string, unknown>>({ vars: {}, hosts: { A: { address: '192.0.2.1' } } });
  const problems = compile(definePlaybook({ name: 'p', plays: [{ name: 'p', hosts: 'A', roles: [buggy] }] }), inv as never, {}, FILES).problems;
  assert.equal(problems.map((p) => p.message), ['role buggy threw: buggy role']);
});
Unrelated.run();
