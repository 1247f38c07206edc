import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compile } from '../../lib/engine/compile.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { definePlaybook, type Play } from '../../lib/dsl/playbook.ts';
import { command } from '../../lib/tasks/command.ts';
import { file } from '../../lib/tasks/file.ts';
import { fileState } from '../../lib/tasks/file-facts.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runOnFakes } from '../support/fake-run.ts';

type V = { site: string };
const inv = () => defineInventory<V>({
  vars: { site: 'x' },
  hosts: { A: { address: '192.0.2.1', groups: ['web'], vars: { site: 'a' } }, B: { address: '192.0.2.2', groups: ['web'], vars: { site: 'b' } }, LB: { address: '192.0.2.9' } },
});
const play = (tasks: Play<V>['tasks'], script: (h: string) => Scripted[], o: { forks?: number } = {}) => runOnFakes(inv(), [{ name: 'p', hosts: 'web', tasks }], (h) => script(h.name));

const Delegate = suite('delegateTo');

Delegate('a host\'s task planned and applied on another host, with its own variables; reported for the host', async () => {
  const path = (site: string) => `/etc/lb/${site}.conf`;
  const { reporter, hosts } = await play(({ vars }) => [file({ path: path(vars.site), content: `${vars.site}\n`, delegateTo: 'LB', title: 'lb entry' }), command({ cmd: 'local-step', title: 'local' })], (h) =>
    h === 'LB'
      ? ['a', 'b'].flatMap((s) => [{ cmd: fileState(path(s)).command, stdout: 'type=missing\nparent=yes\n' }, { cmd: new RegExp(`^trap '' PIPE[^]*${s}\\.conf`) }])
      : [{ cmd: 'local-step' }]);
  assert.equal(reporter.of('A'), ['changed lb entry', 'changed local']);
  assert.equal(reporter.of('B'), ['changed lb entry', 'changed local']);
  assert.equal(reporter.of('LB'), [], 'nothing is reported for the delegate itself');
  assert.equal(hosts.get('A')!.applied, ['local-step'], 'the file was never written on A');
  assert.equal(hosts.get('LB')!.calls.map((c) => c.stdin).filter(Boolean).sort(), ['a\n', 'b\n'], "each host's own content, on LB");
  const a = reporter.results.find((r) => r.host === 'A' && r.task === 'lb entry')!;
  assert.ok(a.notes.includes('delegated to LB'));
  assert.is(a.commands, 2, "the delegate's commands count for the task");
});

Delegate('an unknown delegate is a problem before anything connects', () => {
  const c = compile(definePlaybook<V>({ name: 'pb', plays: [{ name: 'p', hosts: 'web', tasks: () => [command({ cmd: 'x', delegateTo: 'LB9' })] }] }), inv());
  assert.equal(c.problems.map((p) => ({ ...p })), [{ file: undefined, task: 'command x', field: 'delegateTo', message: 'no host named "LB9" (hosts: A, B, LB, controller)', hosts: ['A', 'B'] }]);
});
Delegate.run();

const Once = suite('runOnce');

Once('runs on one host; the others report where it ran and register its result', async () => {
  let runs = 0;
  const { reporter } = await play(() => [
    command({ cmd: 'migrate', title: 'migrate', runOnce: true, register: 'm' }),
    command({ cmd: 'after', title: 'after', when: ({ results }) => results.m?.stdout === 'done\n' }),
  ], () => [{ cmd: 'migrate', stdout: 'done\n', effect: () => { runs++; } }, { cmd: 'after' }]);
  assert.is(runs, 1);
  const statuses = ['A', 'B'].map((h) => reporter.of(h)[0]).sort();
  assert.equal(statuses, ['changed migrate', 'ok migrate']);
  const copy = reporter.results.find((r) => r.task === 'migrate' && r.status === 'ok')!;
  assert.match(copy.notes[0]!, /^ran once, on [AB]: changed$/);
  assert.equal(reporter.results.filter((r) => r.task === 'after').map((r) => r.status), ['changed', 'changed'], 'both hosts registered the one result');
});

Once('a failure where it ran fails every host of the batch', async () => {
  const { reporter } = await play(() => [command({ cmd: 'migrate', title: 'migrate', runOnce: true }), command({ cmd: 'after', title: 'after' })], () => [{ cmd: 'migrate', code: 1 }, { cmd: 'after' }]);
  assert.equal(reporter.results.map((r) => r.status), ['failed', 'failed']);
  assert.ok(reporter.results.some((r) => /failed on [AB], where it ran once for the play/.test(r.error ?? '')));
});
Once.run();
