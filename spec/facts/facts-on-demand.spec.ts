/**
 * Host facts on demand: a task names the facts its `when` reads (`facts`)
 * or the facts its parameters are built from (`withFacts`); the runner
 * gathers exactly those, in the play's one batched round trip. Fixture
 * tables of raw command output; round trips counted.
 */
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostView } from '../../lib/core/host.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import type { Play } from '../../lib/dsl/playbook.ts';
import { defineRole } from '../../lib/dsl/role.ts';
import { compile } from '../../lib/engine/compile.ts';
import { definePlaybook } from '../../lib/dsl/playbook.ts';
import { parseBatchScript } from '../../lib/engine/fact-batch.ts';
import { hostFacts, kernel, osRelease, packageManager } from '../../lib/facts/host.ts';
import { withFacts } from '../../lib/facts/with-facts.ts';
import { command } from '../../lib/tasks/command.ts';
import { pathExists } from '../../lib/tasks/path-facts.ts';
import type { FakeTransport, Scripted } from '../support/fake-transport.ts';
import { runOnFakes } from '../support/fake-run.ts';
import { runCli } from '../support/cli.ts';

type Vars = { motd: string };
const inventory = () => defineInventory<Vars>({
  vars: { motd: 'hello' },
  hosts: { D: { address: '192.0.2.1', groups: ['web'] }, U: { address: '192.0.2.2', groups: ['web'] } },
});

/** Raw outputs recorded on a Debian 12 and an Ubuntu 22.04 host. */
const HOSTS: Record<string, { os: string; kernel: string; pm: string }> = {
  D: { os: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n', kernel: 'Linux 6.1.0-18-amd64 x86_64\n', pm: 'apt-get\n' },
  U: { os: 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\n', kernel: 'Linux 5.15.0-91-generic aarch64\n', pm: 'apt-get\n' },
};
const factsOf = (h: HostView): Scripted[] => [
  { cmd: osRelease.command, stdout: HOSTS[h.name]!.os },
  { cmd: kernel.command, stdout: HOSTS[h.name]!.kernel },
  { cmd: packageManager.command, stdout: HOSTS[h.name]!.pm },
];

/** The fact commands of each batch a host was sent, in order. */
const batches = (t: FakeTransport) => t.calls.map((c) => parseBatchScript(c.cmd)?.commands).filter((b): b is string[] => b !== undefined);

const run = (plays: Play<Vars>[], extra: (h: HostView) => Scripted[] = () => [], check = false) =>
  runOnFakes(inventory(), plays, (h) => [...factsOf(h), ...extra(h)], { check });

/** The role of the examples: a fact in a `when`, a fact in a parameter. */
const base = defineRole<Vars>({
  name: 'base',
  tasks: ({ vars }) => [
    command({ title: 'motd', cmd: `echo ${vars.motd}` }),
    command({
      title: 'debian 12 or later', cmd: 'debian-step',
      facts: { os: hostFacts.osRelease }, when: ({ facts }) => facts.os.id === 'debian' && Number(facts.os.versionId) >= 12,
    }),
    withFacts({
      title: 'arch marker', facts: { kernel: hostFacts.kernel, os: hostFacts.osRelease },
      build: ({ facts, vars: v }) => command({ cmd: `touch /etc/${facts.os.id}-${facts.kernel.machine}-${v.motd}`, creates: `/etc/${facts.os.id}-${facts.kernel.machine}-${v.motd}` }),
    }),
  ],
});
const marker = (h: string) => (h === 'D' ? '/etc/debian-x86_64-hello' : '/etc/ubuntu-aarch64-hello');

const Facts = suite('host facts on demand');

Facts('a role reads a fact in a when and in a parameter: each host gets its own outcome', async () => {
  const { reporter, hosts } = await run([{ name: 'p', hosts: 'web', roles: [base] }], (h) => [
    { cmd: 'echo hello' }, { cmd: 'debian-step' },
    { cmd: pathExists(marker(h.name)).command, stdout: 'no\n' }, { cmd: `touch ${marker(h.name)}` },
  ]);
  assert.equal(reporter.of('D'), ['changed motd', 'changed debian 12 or later', 'changed arch marker']);
  assert.equal(reporter.of('U'), ['changed motd', 'skipped debian 12 or later', 'changed arch marker']);
  assert.equal(hosts.get('D')!.applied, ['echo hello', 'debian-step', 'touch /etc/debian-x86_64-hello']);
  assert.equal(hosts.get('U')!.applied, ['echo hello', 'touch /etc/ubuntu-aarch64-hello']);
  const built = reporter.results.find((r) => r.host === 'U' && r.task === 'arch marker')!;
  assert.match(built.notes[0]!, /^built from facts kernel, os: command touch \/etc\/ubuntu-aarch64-hello/);
});

Facts('the facts join the play\'s one batched round trip, each once, with the other tasks\' facts', async () => {
  const { hosts } = await run([{ name: 'p', hosts: 'web', roles: [base] }], (h) => [
    { cmd: 'echo hello' }, { cmd: 'debian-step' },
    // The built task's own fact (its `creates`) depends on the facts' values: read when it is planned.
    { cmd: pathExists(marker(h.name)).command, stdout: 'yes\n' },
  ]);
  const d = hosts.get('D')!;
  // Before any task ran: one round trip with both host facts, once each (os is named twice).
  assert.equal(parseBatchScript(d.calls[0]!.cmd)?.commands, [osRelease.command, kernel.command]);
  // Then, still before any task, the facts of the task built from them (its `creates`), which depend on their values.
  assert.equal(parseBatchScript(d.calls[1]!.cmd)?.commands, [pathExists('/etc/debian-x86_64-hello').command]);
  // `echo hello` and `debian-step` changed the host, so each later read is fresh, as for any fact:
  // the when's os; then the built task's facts; then its own fact.
  assert.equal(batches(d).slice(2), [[osRelease.command], [kernel.command, osRelease.command], [pathExists('/etc/debian-x86_64-hello').command]]);
});

Facts('a play of read-only tasks costs one round trip, facts of every task included', async () => {
  const readOnly = defineRole<Vars>({
    name: 'r',
    tasks: () => [
      command({ title: 'only if /srv', cmd: 'x', creates: '/srv' }),
      command({ title: 'arm only', cmd: 'arm', facts: { k: hostFacts.kernel }, when: ({ facts }) => facts.k.machine === 'aarch64' }),
      withFacts({ title: 'apt hosts', facts: { pm: hostFacts.packageManager }, build: ({ facts }) => command({ cmd: `echo ${facts.pm}`, creates: '/srv' }) }),
    ],
  });
  const { reporter, hosts } = await run([{ name: 'p', hosts: 'D', roles: [readOnly] }], () => [{ cmd: pathExists('/srv').command, stdout: 'yes\n' }]);
  assert.equal(reporter.of('D'), ['ok only if /srv', 'skipped arm only', 'ok apt hosts']);
  const d = hosts.get('D')!;
  assert.is(d.commandCount, 1, d.calls.map((c) => c.cmd).join('\n---\n'));
  assert.equal(batches(d)[0], [pathExists('/srv').command, kernel.command, packageManager.command]);
});

Facts('only the facts some task names are gathered: none when no task names one', async () => {
  const plain = defineRole<Vars>({ name: 'plain', tasks: () => [command({ title: 'x', cmd: 'x', creates: '/srv' })] });
  const { hosts } = await run([{ name: 'p', hosts: 'D', roles: [plain] }], () => [{ cmd: pathExists('/srv').command, stdout: 'yes\n' }]);
  const sent = hosts.get('D')!.calls.map((c) => c.cmd).join('\n');
  for (const f of Object.values(hostFacts)) assert.not.ok(sent.includes(f.command), `${f.key} was gathered`);
  // A when that reads no fact gathers none either.
  const { hosts: h2 } = await run([{ name: 'p', hosts: 'D', tasks: () => [command({ cmd: 'y', creates: '/srv', when: ({ vars }) => vars.motd === 'hello' })] }], () => [{ cmd: pathExists('/srv').command, stdout: 'yes\n' }]);
  assert.equal(batches(h2.get('D')!), [[pathExists('/srv').command]]);
});

Facts('check mode: the same facts, the same single round trip, nothing applied; built tasks are planned', async () => {
  const { reporter, hosts, recap } = await run([{ name: 'p', hosts: 'web', roles: [base] }], (h) => [{ cmd: pathExists(marker(h.name)).command, stdout: 'no\n' }], true);
  assert.equal(reporter.of('D'), ['changed motd', 'changed debian 12 or later', 'changed arch marker']);
  assert.equal(reporter.of('U'), ['changed motd', 'skipped debian 12 or later', 'changed arch marker']);
  for (const name of ['D', 'U']) {
    const t = hosts.get(name)!;
    assert.equal(t.applied, []);
    // Nothing was applied, so nothing went stale: the first batch serves every task; the built task's own fact is one more read.
    assert.equal(batches(t), [[osRelease.command, kernel.command], [pathExists(marker(name)).command]]);
  }
  assert.ok(recap.hosts.U!.changes.includes('arch marker: run touch /etc/ubuntu-aarch64-hello (planned)'), recap.hosts.U!.changes.join('\n'));
});

Facts('tasks built from facts: their own facts, every one of them, in one more round trip before the first task', async () => {
  const built = defineRole<Vars>({
    name: 'b',
    tasks: () => ['a', 'b', 'c'].map((n) => withFacts({
      title: `marker ${n}`, facts: { os: hostFacts.osRelease },
      build: ({ facts }) => command({ cmd: `touch /etc/${n}-${facts.os.id}`, creates: `/etc/${n}-${facts.os.id}` }),
    })),
  });
  const { reporter, hosts } = await run([{ name: 'p', hosts: 'D', roles: [built] }], () => ['a', 'b', 'c'].map((n) => ({ cmd: pathExists(`/etc/${n}-debian`).command, stdout: 'no\n' })), true);
  assert.equal(reporter.of('D'), ['changed marker a', 'changed marker b', 'changed marker c']);
  const d = hosts.get('D')!;
  assert.equal(batches(d), [[osRelease.command], ['a', 'b', 'c'].map((n) => pathExists(`/etc/${n}-debian`).command)]);
  assert.is(d.commandCount, 2);
});

Facts('typed: a fact\'s fields have its types, and a name not declared does not compile', () => {
  command({ cmd: 'x', facts: { os: hostFacts.osRelease, m: hostFacts.memory }, when: ({ facts }) => facts.os.versionId.startsWith('12') && facts.m.total > 2 ** 30 });
  // @ts-expect-error misspelt: only the names declared in `facts` exist
  command({ cmd: 'x', facts: { os: hostFacts.osRelease }, when: ({ facts }) => facts.oss.id === 'debian' });
  // @ts-expect-error versionId is a string
  command({ cmd: 'x', facts: { os: hostFacts.osRelease }, when: ({ facts }) => facts.os.versionId === 12 });
  // @ts-expect-error no `facts` named: `when` sees none
  command({ cmd: 'x', when: ({ facts }) => facts.os.id === 'debian' });
  // @ts-expect-error hostFacts has no such fact
  command({ cmd: 'x', facts: { os: hostFacts.osRelase }, when: () => true });
  withFacts({ title: 't', facts: { cpus: hostFacts.cpus }, build: ({ facts }) => command({ cmd: `make -j${facts.cpus.count}` }) });
  // @ts-expect-error count is a number
  withFacts({ title: 't', facts: { cpus: hostFacts.cpus }, build: ({ facts }) => command({ cmd: facts.cpus.count.toUpperCase() }) });
  // @ts-expect-error vars are the role's
  defineRole<Vars>({ name: 'r', tasks: () => [command({ cmd: 'x', facts: { os: hostFacts.osRelease }, when: ({ vars, facts }) => vars.motdd === facts.os.id })] });
});

Facts('checked before anything connects: a wrong facts option, withFacts without a title, facts or build', () => {
  const pb = definePlaybook<Vars>({
    name: 'pb',
    plays: [{
      name: 'p', hosts: 'D', tasks: () => [
        command({ title: 'bad facts', cmd: 'x', facts: { os: 'os-release' } as never, when: () => true }),
        withFacts({ facts: {}, build: 7 } as never),
      ],
    }],
  });
  const problems = compile(pb, inventory()).problems.map((p) => `${p.task}: ${p.field}: ${p.message}`);
  assert.equal(problems, [
    'bad facts: facts: must be an object of facts by name, e.g. { os: hostFacts.osRelease }: os is not a fact (made by fact())',
    'withFacts: title: is required (the task it builds is not known before the facts are read)',
    'withFacts: facts: names no fact: a task that needs none is an ordinary task',
    'withFacts: build: must be a function ({ facts, host, vars }) => task, got 7',
  ]);
});

Facts('a built task that is wrong fails that task, naming it; options belong on withFacts', async () => {
  const { reporter } = await run([{
    name: 'p', hosts: 'D', tasks: () => [
      withFacts({ title: 'wrong params', facts: { os: hostFacts.osRelease }, build: () => command({ cmd: 'x', bogus: 1 } as never) }),
    ],
  }, {
    name: 'q', hosts: 'U', tasks: () => [
      withFacts({ title: 'misplaced', facts: { os: hostFacts.osRelease }, build: () => command({ cmd: 'x', notify: 'h' }) }),
    ],
  }]);
  assert.match(reporter.results.find((r) => r.host === 'D')!.error!, /^host D: task "wrong params": the task built from facts \(command x\) is wrong: bogus: unknown parameter for command/);
  assert.match(reporter.results.find((r) => r.host === 'U')!.error!, /^host U: task "misplaced": the task built from facts sets notify: give it to withFacts/);
});

Facts('options on withFacts work as on any task: when over the same facts, register, notify', async () => {
  const { reporter, hosts } = await run([{
    name: 'p', hosts: 'web',
    tasks: () => [
      withFacts({
        title: 'ubuntu codename', facts: { os: hostFacts.osRelease }, register: 'codename', notify: 'h',
        when: ({ facts }) => facts.os.like.includes('debian'),
        build: ({ facts }) => command({ cmd: `echo ${facts.os.codename}` }),
      }),
    ],
    handlers: () => [command({ title: 'h', cmd: 'handler' })],
  }], (h) => (h.name === 'U' ? [{ cmd: 'echo jammy', stdout: 'jammy\n' }, { cmd: 'handler' }] : []));
  assert.equal(reporter.of('D'), ['skipped ubuntu codename']);
  assert.equal(reporter.of('U'), ['changed ubuntu codename', 'changed h']);
  assert.equal(hosts.get('U')!.applied, ['echo jammy', 'handler']);
});

Facts('under delegateTo, when judges the delegating host\'s facts; withFacts builds from the delegate\'s, where it runs', async () => {
  const { reporter, hosts } = await run([{
    name: 'p', hosts: 'D', tasks: () => [
      command({ title: 'on U, if D is debian', cmd: 'on-u', delegateTo: 'U', facts: { os: hostFacts.osRelease }, when: ({ facts }) => facts.os.id === 'debian' }),
      withFacts({ title: 'U\'s codename', delegateTo: 'U', facts: { os: hostFacts.osRelease }, build: ({ facts }) => command({ cmd: `echo ${facts.os.codename}` }) }),
    ],
  }], (h) => (h.name === 'U' ? [{ cmd: 'on-u' }, { cmd: 'echo jammy' }] : []));
  assert.equal(reporter.of('D'), ['changed on U, if D is debian', 'changed U\'s codename']);
  assert.equal(hosts.get('U')!.applied, ['on-u', 'echo jammy']);
  assert.equal(hosts.get('D')!.applied, []);
});

Facts('--list-tasks connects to nothing and says which tasks depend on which facts', async () => {
  const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
  const r = await runCli([`${fixtures}playbooks/host-facts.ts`, '-i', `${fixtures}inventory/three.ts`, '--list-tasks'], () => 'refuse');
  assert.is(r.code, 0, r.err);
  assert.equal(r.contacted, []);
  assert.match(r.out, /A 192\.0\.2\.1\n {4}base: plain step\n {4}base: debian only {2}\(when reads facts: os\)\n {4}base: say the kernel {2}\(built from facts: kernel\)\n/);
});

Facts.run();
