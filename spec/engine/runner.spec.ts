import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostView } from '../../lib/core/host.ts';
import { compile, type Selection } from '../../lib/engine/compile.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { definePlaybook, type Play } from '../../lib/dsl/playbook.ts';
import { defineRole } from '../../lib/dsl/role.ts';
import { command } from '../../lib/tasks/command.ts';
import { pathExists } from '../../lib/tasks/path-facts.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runOnFakes, type FakeRunOptions } from '../support/fake-run.ts';

type Vars = { motd: string };
const inventory = () => defineInventory<Vars>({
  vars: { motd: 'hello' },
  hosts: {
    A: { address: '192.0.2.1', groups: ['web'] },
    B: { address: '192.0.2.2', groups: ['web'], vars: { motd: 'hi' } },
    C: { address: '192.0.2.3', groups: ['db'] },
  },
});

/** Run a playbook against fake hosts; `script(host)` gives each host's answers. */
const play = (plays: Play<Vars>[], script: (h: HostView) => Scripted[] | 'unreachable', o: FakeRunOptions = {}) => runOnFakes(inventory(), plays, script, o);

const run = (cmd: string, o: object = {}) => command({ cmd, title: cmd, ...o });
const ok = (cmd: string, extra: Partial<Scripted> = {}): Scripted => ({ cmd, ...extra });

const Runner = suite('runner');

Runner('tasks run in order per host; plays are barriers', async () => {
  const { reporter } = await play([
    { name: 'one', hosts: 'web', tasks: () => [run('echo 1'), run('echo 2')] },
    { name: 'two', hosts: 'all', tasks: () => [run('echo 3')] },
  ], () => [ok('echo 1'), ok('echo 2'), ok('echo 3')]);
  assert.equal(reporter.of('A'), ['changed echo 1', 'changed echo 2', 'changed echo 3']);
  const firstTwo = reporter.events.indexOf('play two [A,B,C]');
  // Every result of play one comes before play two starts.
  assert.ok(reporter.events.slice(firstTwo).every((e) => !e.includes('echo 1') && !e.includes('echo 2')));
});

Runner('a failed task stops that host only; the failed host sits out later plays', async () => {
  const { reporter, recap } = await play([
    { name: 'one', hosts: 'web', tasks: () => [run('step1'), run('step2')] },
    { name: 'two', hosts: 'web', tasks: () => [run('step3')] },
  ], (h) => (h.name === 'A' ? [ok('step1', { code: 1, stderr: 'boom' })] : [ok('step1'), ok('step2'), ok('step3')]));
  assert.equal(reporter.of('A'), ['failed step1']);
  assert.equal(reporter.of('B'), ['changed step1', 'changed step2', 'changed step3']);
  const err = reporter.results.find((r) => r.host === 'A')!.error!;
  assert.match(err, /host A/);
  assert.match(err, /step1/);
  assert.match(err, /boom/);
  assert.is(recap.hosts.A!.failed, 1);
  assert.is(recap.hosts.B!.changed, 3);
});

Runner('an unreachable host is reported, others complete', async () => {
  const { reporter, recap } = await play([{ name: 'p', hosts: 'all', tasks: () => [run('x')] }], (h) => (h.name === 'C' ? 'unreachable' : [ok('x')]));
  assert.equal(reporter.of('C'), ['unreachable connect']);
  assert.is(recap.hosts.C!.unreachable, 1);
  assert.equal(reporter.of('A'), ['changed x']);
});

Runner('when skips with a reason; register feeds later tasks', async () => {
  const { reporter } = await play([{
    name: 'p', hosts: 'A', tasks: () => [
      run('probe', { register: 'probe', changedWhen: () => false }),
      run('only-if-yes', { when: ({ results }: any) => results.probe.stdout.trim() === 'yes' }),
      run('only-if-no', { when: ({ results }: any) => results.probe.stdout.trim() === 'no' }),
      run('uses-vars', { when: ({ vars }: any) => vars.motd === 'hello' }),
    ],
  }], () => [ok('probe', { stdout: 'yes\n' }), ok('only-if-yes'), ok('uses-vars')]);
  assert.equal(reporter.of('A'), ['ok probe', 'changed only-if-yes', 'skipped only-if-no', 'changed uses-vars']);
  assert.equal(reporter.results[2]!.notes, ['condition (when) is false']);
});

const restart = () => run('restart', { title: 'restart svc' });
Runner('handlers run once, at the end, only when notified by a change', async () => {
  const { reporter } = await play([{
    name: 'p', hosts: 'web',
    tasks: (ctx) => [
      run('conf1', { notify: 'restart svc', changedWhen: () => ctx.host.name === 'A' }),
      run('conf2', { notify: 'restart svc', changedWhen: () => ctx.host.name === 'A' }),
      run('after'),
    ],
    handlers: () => [restart()],
  }], () => [ok('conf1'), ok('conf2'), ok('after'), ok('restart')]);
  assert.equal(reporter.of('A'), ['changed conf1', 'changed conf2', 'changed after', 'changed restart svc']);
  assert.equal(reporter.of('B'), ['ok conf1', 'ok conf2', 'changed after']);
  assert.ok(reporter.results.find((r) => r.task === 'restart svc')!.handler);
});

Runner('a failure skips handlers unless --force-handlers', async () => {
  const plays: Play<Vars>[] = [{ name: 'p', hosts: 'A', tasks: () => [run('conf', { notify: 'restart svc' }), run('bad')], handlers: () => [restart()] }];
  const script = () => [ok('conf'), ok('bad', { code: 2 }), ok('restart')];
  assert.equal((await play(plays, script)).reporter.of('A'), ['changed conf', 'failed bad']);
  assert.equal((await play(plays, script, { forceHandlers: true })).reporter.of('A'), ['changed conf', 'failed bad', 'changed restart svc']);
});

Runner('check mode applies nothing, reports planned changes, and runs read-only commands', async () => {
  const { reporter, hosts, recap } = await play([{
    name: 'p', hosts: 'all', tasks: () => [
      run('rm -rf /srv/old', { removes: '/srv/old' }),
      run('cat /etc/os-release', { check: 'run', changedWhen: () => false, register: 'os' }),
    ],
    handlers: () => [restart()],
  }], () => [{ cmd: pathExists('/srv/old').command, stdout: 'yes\n' }, ok('cat /etc/os-release', { stdout: 'ID=debian' })], { check: true });
  for (const t of hosts.values()) assert.equal(t.applied, ['cat /etc/os-release'], `${t.host} applied only the read-only command`);
  assert.equal(reporter.of('A'), ['changed rm -rf /srv/old', 'ok cat /etc/os-release']);
  assert.ok(reporter.results[0]!.changes[0]!.planned);
  assert.equal(recap.hosts.A!.changes, ['rm -rf /srv/old: run rm -rf /srv/old (planned)']);
});

Runner('facts of a whole play are gathered in one round trip', async () => {
  const facts = ['/a', '/b', '/c'].map((p) => ({ cmd: pathExists(p).command, stdout: 'yes\n' }));
  const { hosts, reporter } = await play([{
    name: 'p', hosts: 'A', tasks: () => ['/a', '/b', '/c'].map((p) => run(`make ${p}`, { creates: p })),
  }], () => facts);
  assert.equal(reporter.of('A'), ['ok make /a', 'ok make /b', 'ok make /c']);
  assert.is(hosts.get('A')!.commandCount, 1);
});

Runner('facts are re-read after a change is applied (no stale facts)', async () => {
  let made = false;
  const { reporter, hosts } = await play([{
    name: 'p', hosts: 'A', tasks: () => [run('touch /x', { creates: '/x' }), run('touch /x again', { creates: '/x' })],
  }], () => [
    { cmd: pathExists('/x').command, stdout: 'no\n', times: 1 },
    ok('touch /x', { effect: () => { made = true; } }),
    { cmd: pathExists('/x').command, stdout: 'yes\n' },
  ]);
  assert.ok(made);
  assert.equal(reporter.of('A'), ['changed touch /x', 'ok touch /x again']);
  assert.is(hosts.get('A')!.commandCount, 3);
});

Runner('Ctrl-C: the running command finishes, no new task or play starts, recap says interrupted', async () => {
  const ac = new AbortController();
  const { reporter, recap, hosts } = await play([
    { name: 'one', hosts: 'A', tasks: () => [run('first'), run('second')], handlers: () => [restart()] },
    { name: 'two', hosts: 'A', tasks: () => [run('third')] },
  ], () => [ok('first', { effect: () => ac.abort() }), ok('second'), ok('third')], { signal: ac.signal });
  assert.equal(reporter.of('A'), ['changed first']);
  assert.equal(hosts.get('A')!.applied, ['first']);
  assert.ok(recap.interrupted);
  assert.ok(hosts.get('A')!.closed, 'connections are closed');
  const { exitCode } = await import('../../lib/cli/main.ts');
  assert.is(exitCode(recap), 130);
});

const Select = suite('selection');
const web = defineRole<Vars>({ name: 'web', tasks: () => [run('web-task', { tags: ['nginx'] }), run('other', { tags: ['misc'] })] });
const db = defineRole<Vars>({ name: 'db', tasks: () => [run('db-task'), run('always', { tags: ['always'] })] });
const pb = definePlaybook<Vars>({ name: 'pb', plays: [{ name: 'web', hosts: 'web', roles: [web] }, { name: 'db', hosts: 'db', roles: [db] }] });
const names = (sel: Selection) => compile(pb, inventory(), sel).plays.flatMap((p) => p.work.flatMap((w) => w.tasks.map((t) => `${w.host.name}:${t.task.name}`)));

Select('--limit keeps only named hosts or groups', () => {
  assert.equal(names({ limit: ['B', 'db'] }), ['B:web-task', 'B:other', 'C:db-task', 'C:always']);
});
Select('--role runs only that role', () => {
  assert.equal(names({ roles: ['db'] }), ['C:db-task', 'C:always']);
});
Select('--tags keeps tagged tasks and always', () => {
  assert.equal(names({ tags: ['nginx'] }), ['A:web-task', 'B:web-task', 'C:always']);
});
Select('unknown limit, role, group and handler are problems, all listed', () => {
  const bad = definePlaybook<Vars>({ name: 'bad', plays: [{ name: 'p', hosts: ['nope'], tasks: () => [run('x', { notify: 'ghost' })] }, { name: 'q', hosts: 'A', tasks: () => [run('y', { notify: 'ghost' })] }] });
  const c = compile(bad, inventory(), { limit: ['zzz'] });
  const msgs = c.problems.map((p) => `${p.host ?? ''}|${p.field ?? ''}|${p.message}`);
  assert.ok(msgs.some((m) => m.includes('--limit') && m.includes('zzz')), msgs.join('\n'));
  assert.ok(msgs.some((m) => m.includes('unknown host or group "nope"')), msgs.join('\n'));
  const c2 = compile(bad, inventory(), { roles: ['nope'] });
  assert.ok(c2.problems.some((p) => p.field === '--role'));
  const c3 = compile(bad, inventory(), {});
  assert.ok(c3.problems.some((p) => p.host === 'A' && p.field === 'notify' && p.message.includes('ghost')));
});
Select('role validation and unknown task parameters are problems naming host, task, field', () => {
  const strict = defineRole<Vars>({
    name: 'strict',
    validate: ({ vars }) => (vars.motd.length > 3 ? [{ field: 'motd', message: 'too long' }] : []),
    tasks: () => [command({ cmd: 'x', bogus: 1 } as any)],
  });
  const c = compile(definePlaybook<Vars>({ name: 'p', plays: [{ name: 'p', hosts: 'web', roles: [strict] }] }), inventory());
  assert.ok(c.problems.some((p) => p.host === 'A' && p.field === 'motd' && /too long/.test(p.message)));
  assert.not.ok(c.problems.some((p) => p.host === 'B' && p.field === 'motd'));
  assert.ok(c.problems.some((p) => p.host === 'B' && p.task === 'command x' && p.field === 'bogus'));
});
Select('inventory problems: unknown group member, duplicate address, reserved name', () => {
  const inv = defineInventory<Vars>({
    vars: { motd: '' },
    hosts: { A: { address: '192.0.2.1' }, B: { address: '192.0.2.1' }, controller: { address: '192.0.2.9' } },
    groups: { g: { hosts: ['A', 'Z'] } },
  });
  const msgs = inv.problems.map((p) => `${p.host ?? ''} ${p.field ?? ''} ${p.message}`);
  assert.ok(msgs.some((m) => m.includes('unknown host "Z"')));
  assert.ok(msgs.some((m) => m.startsWith('B address')));
  assert.ok(msgs.some((m) => m.startsWith('controller')));
});

Runner.run();
Select.run();
