import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import type { Play } from '../../lib/dsl/playbook.ts';
import { ConsoleReporter } from '../../lib/report/console.ts';
import { JsonReporter } from '../../lib/report/json.ts';
import { command } from '../../lib/tasks/command.ts';
import { file } from '../../lib/tasks/file.ts';
import { fileState } from '../../lib/tasks/file-facts.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runOnFakes } from '../support/fake-run.ts';
import { testHost } from '../support/plan-harness.ts';
import { runCli } from '../support/cli.ts';
import { fileURLToPath } from 'node:url';

const inv = () => defineInventory<{}>({ vars: {}, hosts: { A: { address: '192.0.2.1' } } });
const play = (tasks: Play<{}>['tasks'], script: Scripted[], check = false) => runOnFakes(inv(), [{ name: 'p', hosts: 'A', tasks }], () => script, { check });

const Retries = suite('retries, delay, until');

Retries('a failing command is tried again until it succeeds; the result says how many attempts', async () => {
  const { reporter } = await play(() => [command({ cmd: 'probe', title: 'probe', retries: 3, delay: 0 })], [{ cmd: 'probe', code: 1, stderr: 'not yet', times: 2 }, { cmd: 'probe' }]);
  assert.equal(reporter.of('A'), ['changed probe']);
  assert.is(reporter.results[0]!.attempts, 3);
  assert.equal(reporter.retries.map((r) => [r.attempt, r.attempts, r.reason]), [[1, 4, '"run probe" failed (exit 1):\nnot yet'], [2, 4, '"run probe" failed (exit 1):\nnot yet']]);
});

Retries('until: repeated while the predicate says no, then ok', async () => {
  const { reporter } = await play(() => [command({ cmd: 'state', title: 'state', changedWhen: () => false, until: (r) => r.stdout?.trim() === 'ready', delay: 0 })],
    [{ cmd: 'state', stdout: 'starting\n', times: 2 }, { cmd: 'state', stdout: 'ready\n' }]);
  assert.equal(reporter.of('A'), ['ok state']);
  assert.is(reporter.results[0]!.attempts, 3);
  assert.equal(reporter.retries.map((r) => r.reason), ['until is false', 'until is false']);
});

Retries('until alone gives 3 retries (4 attempts), as Ansible; still false: failed, naming the count', async () => {
  const { reporter } = await play(() => [command({ cmd: 'state', title: 'state', until: () => false, delay: 0 })], [{ cmd: 'state' }]);
  assert.equal(reporter.of('A'), ['failed state']);
  assert.is(reporter.results[0]!.attempts, 4);
  assert.match(reporter.results[0]!.error!, /^host A: task "state": until still false after 4 attempts$/);
  assert.is(reporter.retries.length, 3);
});

Retries('each attempt plans from fresh facts: a file another process wrote meanwhile is seen', async () => {
  const st = fileState('/etc/x');
  const { reporter, hosts } = await play(() => [file({ path: '/etc/x', state: 'absent', retries: 1, delay: 0, until: (r) => r.status === 'ok' })], [
    { cmd: st.command, stdout: 'type=missing\nparent=yes\n', times: 1 },
    { cmd: st.command, stdout: 'type=missing\nparent=yes\n' },
  ]);
  assert.equal(reporter.of('A'), ['ok file /etc/x']);
  assert.is(reporter.results[0]!.attempts, 1);
  assert.is(hosts.get('A')!.commandCount, 1, 'a first attempt that holds costs nothing more');
});

Retries('a change applied by an earlier attempt keeps the task changed', async () => {
  const { reporter } = await play(() => [command({ cmd: 'step', title: 'step', until: (r) => r.stdout === 'done', delay: 0 })], [{ cmd: 'step', stdout: 'more', times: 1 }, { cmd: 'step', stdout: 'done' }]);
  assert.equal(reporter.of('A'), ['changed step']);
  assert.is(reporter.results[0]!.changes.length, 2);
});

Retries('check mode: changes only planned are not judged by until, nor retried', async () => {
  const { reporter, hosts } = await play(() => [command({ cmd: 'step', title: 'step', until: () => false, delay: 0 })], [], true);
  assert.equal(reporter.of('A'), ['changed step']);
  assert.is(reporter.results[0]!.attempts, 1);
  assert.is(hosts.get('A')!.commandCount, 0);
});

Retries('options checked before anything connects', () => {
  const t = command({ cmd: 'x', retries: -1, delay: '5' as never, until: true as never });
  assert.equal(t.validate!(testHost()).map((p) => [p.field, p.message]), [
    ['retries', 'must be a whole number 0–100, got -1'],
    ['delay', 'must be a number of seconds 0–3600, got the string "5"'],
    ['until', 'must be a function (result) => boolean, got the boolean true'],
  ]);
});

Retries('shown: -v prints each retry and the attempts; --json has a retry event and attempts on the task', async () => {
  let text = '';
  const consoleR = new ConsoleReporter({ write: (s: string) => { text += s; }, verbose: true, diff: false, color: false });
  consoleR.runStart({ playbook: 'pb', check: false, hosts: ['A'] });
  const e = { host: 'A', task: 'probe', attempt: 1, attempts: 4, reason: '"run probe" failed (exit 1):\nnot yet', delay: 2 };
  consoleR.retry(e);
  assert.match(text, /A +retrying +probe — attempt 1\/4: "run probe" failed \(exit 1\):; again in 2 s/);
  let json = '';
  new JsonReporter((s) => { json += s; }).retry(e);
  assert.equal(JSON.parse(json), { event: 'retry', ...e });
});

Retries('through the CLI: -v prints each retry and the attempts; --json has retry events and attempts on the task', async () => {
  const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));
  const host = () => [{ cmd: 'state', stdout: 'starting\n', times: 2 }, { cmd: 'state', stdout: 'ready\n' }];
  const args = [fixture('playbooks/retries.ts'), '-i', fixture('inventory/three.ts')];
  const v = await runCli([...args, '-v'], host);
  assert.is(v.code, 0, v.err);
  assert.match(v.out, /A +retrying +ready\? — attempt 1\/6: until is false; again in 0 s\n/);
  assert.match(v.out, /A +retrying +ready\? — attempt 2\/6: until is false; again in 0 s\n/);
  assert.match(v.out, /ok +ready\?.*\[3 attempts, 3 cmd/);
  const j = await runCli([...args, '--json'], host);
  const events = j.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events.filter((e) => e.event === 'retry').map((e) => [e.host, e.task, e.attempt, e.attempts, e.reason]), [['A', 'ready?', 1, 6, 'until is false'], ['A', 'ready?', 2, 6, 'until is false']]);
  assert.is(events.find((e) => e.event === 'task').attempts, 3);
});

Retries.run();
