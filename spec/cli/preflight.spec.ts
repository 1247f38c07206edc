/**
 * Every mistake gets one clear error before anything is contacted (issue
 * #14): selections that select nothing, numbers out of range, throwing
 * roles, --json on a pre-flight failure; and the exit code and recap of runs
 * whose trouble is unreachable hosts. The CLI runs in-process with a
 * connector that records every connection attempt.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { parseCli } from '../../lib/cli/args.ts';
import { exitCode } from '../../lib/cli/main.ts';
import { EXIT } from '../../lib/core/exit-codes.ts';
import type { HostView } from '../../lib/core/host.ts';
import { emptyRecap } from '../../lib/core/result.ts';
import { compile, type Selection } from '../../lib/engine/compile.ts';
import inventory from '../fixtures/inventory/three.ts';
import selection from '../fixtures/playbooks/selection.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runCli } from '../support/cli.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const at = (playbook: string, ...rest: string[]) => [`${fixtures}playbooks/${playbook}`, '-i', `${fixtures}inventory/three.ts`, ...rest];
const ok: Scripted[] = [{ cmd: /.*/ }];

/** Run the CLI; `hosts` scripts each host (the controller included) or says it is down. */
const cli = (argv: string[], hosts: (h: HostView) => Scripted[] | 'down' = () => ok) => runCli(argv, hosts);
const jsonLines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

const Pre = suite('pre-flight: one clear error, nothing contacted');

const HOSTS = 'hosts: A, B, C; groups: web, db; also all, controller';
const TAGS = 'tags: always, config, db, slow';
for (const [name, argv, message] of [
  ['--limit= is empty, never "all"', ['--limit='], `field --limit: is empty: name hosts or groups (${HOSTS})`],
  ['--limit "" (an unset $HOSTS)', ['--limit', ''], `field --limit: is empty`],
  ['--limit , names nothing', ['-l', ','], `field --limit: is empty`],
  ['--limit of an unknown host', ['--limit', 'nosuch'], `field --limit: unknown host or group "nosuch" (${HOSTS})`],
  ['--limit of hosts no selected play runs on', ['--limit', 'C', '--role', 'web'], 'field --limit: no selected play runs on C (plays run on: A, B)'],
  ['--tags of a tag no task has', ['--tags', 'nosuchtag'], `field --tags: no selected task is tagged "nosuchtag" (${TAGS})`],
  ['--tags of a tag only unselected hosts have', ['--tags', 'db', '--limit', 'A'], 'field --tags: no selected task is tagged "db" (tags: always, config, slow)'],
  ['--tags= is empty', ['--tags='], `field --tags: is empty: name tags (${TAGS})`],
  ['--skip-tags of a tag no task has', ['--skip-tags', 'sloww'], `field --skip-tags: no selected task is tagged "sloww" (${TAGS})`],
  ['--skip-tags= is empty', ['--skip-tags='], 'field --skip-tags: is empty'],
  ['--role of a role no play uses', ['--role', 'nosuch'], 'field --role: no play in "selection" uses role "nosuch" (roles: web, verify)'],
  ['--role= is empty', ['--role='], 'field --role: is empty: name roles (roles: web, verify)'],
  ['tags that leave no task', ['--tags', 'config', '--skip-tags', 'config,always'], `the selection leaves no task to run (${TAGS})`],
] as const) {
  Pre(`${name}: exit 1, listed, nothing contacted`, async () => {
    const r = await cli(at('selection.ts', ...argv));
    assert.is(r.code, EXIT.usage, r.err + r.out);
    assert.ok(r.err.includes(message), `expected "${message}" in:\n${r.err}`);
    assert.equal(r.contacted, []);
  });
}

for (const [argv, message] of [
  [['--forks', '-3'], '--forks must be a whole number of hosts ≥ 1, got "-3"'],
  [['--forks=-3'], '--forks must be a whole number of hosts ≥ 1, got "-3"'],
  [['-f', '-3'], '--forks must be a whole number of hosts ≥ 1, got "-3"'],
  [['--forks', 'abc'], '--forks must be a whole number of hosts ≥ 1, got "abc"'],
  [['--forks', '2.5'], '--forks must be a whole number of hosts ≥ 1, got "2.5"'],
  [['--forks', '0x10'], '--forks must be a whole number of hosts ≥ 1, got "0x10"'],
  [['--persist', '-1'], '--persist must be a number of seconds ≥ 0 (0: keep nothing), got "-1"'],
  [['--persist', ''], '--persist must be a number of seconds ≥ 0 (0: keep nothing), got ""'],
  [['--connect-timeout', '0'], '--connect-timeout must be a number of seconds ≥ 0.1, got "0"'],
  [['--command-timeout', '-.5'], '--command-timeout must be a number of seconds ≥ 0.1, got "-.5"'],
] as const) {
  Pre(`${argv.join(' ')}: play's own message with the range, exit 1, nothing contacted`, async () => {
    const r = await cli(at('simple.ts', ...argv));
    assert.is(r.code, EXIT.usage);
    assert.is(r.err, `play: ${message}\n`);
    assert.not.match(r.err, /ambiguous/);
    assert.equal(r.contacted, []);
  });
}

Pre('numbers in range are taken; a negative number after --limit is still a host name', () => {
  const p = parseCli(['site', '-i', 'inv', '-f', '8', '--persist', '0', '--connect-timeout', '0.5', '--command-timeout=20'], {});
  assert.ok(p.kind === 'run');
  if (p.kind !== 'run') return;
  assert.equal([p.args.forks, p.args.persist, p.args.connectTimeout, p.args.commandTimeout], [8, 0, 0.5, 20]);
  assert.throws(() => parseCli(['site', '-i', 'inv'], { PLAY_PERSIST: '-1' }), /^PLAY_PERSIST must be a number of seconds ≥ 0/);
  assert.throws(() => parseCli(['site', '-i', 'inv', '--limit', '-3']), /ambiguous/);
});

Pre('a role that throws: the problem names the line of the throw in the role\'s own file', async () => {
  const r = await cli(at('role-throws.ts'));
  assert.is(r.code, EXIT.usage);
  assert.match(r.err, new RegExp(`  - ${fixtures}roles/throwing\\.ts:3:\\d+: hosts A, B: role throwing threw: this role is broken on purpose`));
  assert.equal(r.contacted, []);
});

const Json = suite('--json: a pre-flight failure still ends with the final line');

for (const [name, argv, problems] of [
  ['a usage error after --json', [...at('simple.ts'), '--json', '--forks', '-3'], [{ message: '--forks must be a whole number of hosts ≥ 1, got "-3"' }]],
  ['a usage error before the playbook', ['--json', '--bogus'], [{ message: /Unknown option '--bogus'/ }]],
  ['a playbook that does not exist', ['nosuch', '-i', `${fixtures}inventory/three.ts`, '--json'], [{ file: 'nosuch', message: /^no such playbook/ }]],
  ['a playbook that throws on load', [...at('throws.ts'), '--json'], [{ file: `${fixtures}playbooks/throws.ts`, message: /^failed to load: this playbook is broken on purpose/ }]],
  ['validation problems', [...at('selection.ts'), '--json', '--limit='], [{ field: '--limit', message: /^is empty/ }]],
  ['a task with a bad parameter', [...at('bad.ts'), '--json'], [
    { file: `${fixtures}playbooks/bad.ts`, field: 'play "p" hosts', message: 'unknown host or group "nosuchgroup"' },
    { file: `${fixtures}playbooks/bad.ts`, task: 'command x', field: 'bogus', message: /^unknown parameter/ },
  ]],
] as const) {
  Json(`${name}: a problems event, then {"recap": {}, "exit": 1}`, async () => {
    const r = await cli(argv as unknown as string[]);
    assert.is(r.code, EXIT.usage);
    const lines = jsonLines(r.out);
    assert.equal(lines.at(-1), { recap: {}, exit: 1 });
    assert.is(lines.at(-2)!.event, 'problems');
    const got = lines.at(-2)!.problems as Array<Record<string, string>>;
    for (const want of problems) {
      const found = got.find((p) => Object.entries(want).every(([k, v]) => (typeof v === 'string' ? p[k] === v : (v as RegExp).test(p[k] ?? ''))));
      assert.ok(found, `${JSON.stringify(want)} not in ${JSON.stringify(got)}`);
    }
    // The same mistake on both hosts the play runs on: one problem naming both.
    if (name === 'a task with a bad parameter') assert.equal(got.find((p) => p.task === 'command x')?.hosts, ['A', 'B'] as never);
    assert.equal(r.contacted, []);
  });
}

Json('a run\'s last line carries its exit code', async () => {
  const r = await cli([...at('simple.ts'), '--json'], (h) => (h.name === 'C' ? 'down' : ok));
  assert.is(r.code, EXIT.unreachable);
  assert.equal(jsonLines(r.out).at(-1)!.exit, EXIT.unreachable);
});

const Tags = suite('--tags and --skip-tags: Ansible\'s rules');

for (const [sel, tasks] of [
  [{}, ['setup', 'config', 'both', 'plain']],
  [{ tags: ['config'] }, ['setup', 'config', 'both']],
  [{ tags: ['slow'] }, ['setup', 'both']],
  [{ skipTags: ['config'] }, ['setup', 'both', 'plain']],
  // An always task is left out when `always` is named…
  [{ skipTags: ['always'] }, ['config', 'plain']],
  // …or another of its tags is.
  [{ skipTags: ['slow'] }, ['setup', 'config', 'plain']],
  [{ tags: ['config'], skipTags: ['always'] }, ['config']],
] as const) {
  Tags(`${JSON.stringify(sel)} → ${tasks.join(', ')}`, () => {
    const c = compile(selection, inventory, sel as Selection);
    assert.equal(c.problems, []);
    assert.equal(c.plays[0]!.work.find((w) => w.host.name === 'A')!.tasks.map((t) => t.task.name), [...tasks]);
  });
}

Tags('--skip-tags on the command line', async () => {
  const r = await cli([...at('selection.ts'), '--skip-tags', 'always', '--list-tasks']);
  assert.is(r.code, EXIT.ok, r.err);
  assert.match(r.out, /A 192\.0\.2\.1\n    web: config  \[config\]\n    web: plain\n/);
});

const Unreachable = suite('unreachable hosts: exit 4, and the recap says who was not reached');

const failOn = (who: string, cmd: string) => (h: HostView): Scripted[] => (h.name === who ? [{ cmd, code: 1 }, ...ok] : ok);
for (const [name, hosts, code] of [
  ['every host down; verify on the controller fails because of it', (h: HostView) => (h.local ? [{ cmd: 'check-web', code: 1 }] : 'down' as const), EXIT.unreachable],
  ['one host down; verify fails', (h: HostView) => (h.name === 'C' ? 'down' as const : failOn('controller', 'check-web')(h)), EXIT.unreachable],
  ['one host down and a task failed on a reached host', (h: HostView) => (h.name === 'C' ? 'down' as const : failOn('A', 'config')(h)), EXIT.taskFailed],
  ['every host reached; verify fails', failOn('controller', 'check-web'), EXIT.taskFailed],
  ['one host down, nothing failed', (h: HostView) => (h.name === 'B' ? 'down' as const : ok), EXIT.unreachable],
] as const) {
  Unreachable(`${name}: exit ${code}`, async () => {
    const r = await cli(at('selection.ts'), hosts);
    assert.is(r.code, code, r.err + r.out);
  });
}

Unreachable('exitCode: the rule, as a table', () => {
  const h = (o: Partial<ReturnType<typeof emptyRecap>>) => ({ ...emptyRecap(), ...o });
  for (const [hosts, interrupted, code] of [
    [{ A: h({ ok: 1 }), controller: h({ ok: 1 }) }, false, EXIT.ok],
    [{ A: h({ unreachable: 1 }), controller: h({ failed: 1 }) }, false, EXIT.unreachable],
    [{ A: h({ unreachable: 1 }), B: h({ failed: 1 }), controller: h({ failed: 1 }) }, false, EXIT.taskFailed],
    [{ A: h({ ok: 1 }), controller: h({ failed: 1 }) }, false, EXIT.taskFailed],
    [{ A: h({ unreachable: 1 }) }, true, EXIT.interrupted],
  ] as const) {
    assert.is(exitCode({ hosts, local: ['controller'], durationMs: 0, check: false, interrupted }), code, JSON.stringify(hosts));
  }
});

Unreachable('a check run with a host down does not say "Nothing would change."', async () => {
  const r = await cli(at('selection.ts', '--check', '--limit', 'C', '--tags', 'db'), (h) => (h.name === 'C' ? 'down' : ok));
  assert.is(r.code, EXIT.unreachable, r.err);
  assert.not.match(r.out, /Nothing would change\./);
  assert.match(r.out, /Nothing would change on the hosts reached\.\n1 host\(s\) not reached \(unreachable\): C\n/);
});

Pre.run();
Json.run();
Tags.run();
Unreachable.run();
