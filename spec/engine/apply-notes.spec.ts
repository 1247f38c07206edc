/**
 * What a task's changes said reaches its result: an apply change's notes
 * (a handover's quiesce timing) are kept in the task's stdout ahead of the
 * last change's output, whether the task ends ok or fails; a task of
 * commands alone reports the last command's output, as before.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { changes, type Change } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { runOnFakes } from '../support/fake-run.ts';

const steps = defineTask<{ steps: Array<{ note: string } | { exec: string }> }>({
  kind: 'steps',
  keys: ['steps'],
  required: ['steps'],
  name: () => 'steps',
  plan: async (p) => changes(p.steps.map((s, i): Change => ('note' in s
    ? { summary: `apply ${i}`, what: 'says a note', apply: async () => ({ code: 0, stdout: `${s.note}\n`, stderr: '' }) }
    : { summary: `run ${s.exec}`, exec: s.exec }))),
});

const inv = () => defineInventory<{}>({ vars: {}, hosts: { A: { address: '192.0.2.1' } } });
const Notes = suite('a task result keeps what its apply changes said');

const cases: Array<{ name: string; steps: Array<{ note: string } | { exec: string }>; script: Array<{ cmd: string; stdout?: string; code?: number }>; status: string; stdout: string }> = [
  { name: 'a note, then a command: both, the note first', steps: [{ note: 'LB2: quiesce triggered 300 ms before the takeover' }, { exec: 'stop' }], script: [{ cmd: 'stop', stdout: 'stopped\n' }], status: 'changed', stdout: 'LB2: quiesce triggered 300 ms before the takeover\nstopped\n' },
  { name: 'two notes and a command', steps: [{ note: 'one' }, { note: 'two' }, { exec: 'x' }], script: [{ cmd: 'x', stdout: '' }], status: 'changed', stdout: 'one\ntwo\n' },
  { name: 'a note last: as it said it', steps: [{ exec: 'x' }, { note: 'done' }], script: [{ cmd: 'x', stdout: 'x said\n' }], status: 'changed', stdout: 'done\n' },
  { name: 'commands alone: the last one\'s output only', steps: [{ exec: 'a' }, { exec: 'b' }], script: [{ cmd: 'a', stdout: 'A\n' }, { cmd: 'b', stdout: 'B\n' }], status: 'changed', stdout: 'B\n' },
  { name: 'a note, then a command that fails: the note is kept', steps: [{ note: 'handed over' }, { exec: 'stop' }], script: [{ cmd: 'stop', stdout: 'partial\n', code: 1 }], status: 'failed', stdout: 'handed over\npartial\n' },
];
for (const c of cases) {
  Notes(c.name, async () => {
    const { reporter } = await runOnFakes(inv(), [{ name: 'p', hosts: 'A', tasks: () => [steps({ steps: c.steps })] }], () => c.script);
    const r = reporter.results[0]!;
    assert.is(r.status, c.status, JSON.stringify(r));
    assert.is(r.stdout, c.stdout);
  });
}

Notes.run();
