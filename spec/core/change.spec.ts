/**
 * A change is a command or applies itself, never both: what the runner does
 * with each (the command to the task's host; `apply` with the hosts it
 * names), and `outline`, the shape of an apply change's `what`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { changes, outline, type Change } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { runOnFakes } from '../support/fake-run.ts';

const Kinds = suite('change: a command or an apply function');

// Type-level: tsc (part of every check) fails if either of these compiles.
// @ts-expect-error a command and an apply function at once
const both: Change = { summary: 's', exec: 'true', apply: async () => ({ code: 0, stdout: '', stderr: '' }), what: 'w' };
// @ts-expect-error an apply change says what it does
const mute: Change = { summary: 's', apply: async () => ({ code: 0, stdout: '', stderr: '' }) };
void both; void mute;

const inv = () => defineInventory({ vars: {}, hosts: { A: { address: '192.0.2.1' }, B: { address: '192.0.2.2' } } });

/** A change of A's that stops a service on B: the kind the failover drill makes. */
const stopOnB = defineTask<{ fail?: boolean }>({
  kind: 'stop-on-b',
  keys: ['fail'],
  name: () => 'stop on B',
  plan: async (p) => changes([{
    summary: 'stop nginx on B',
    what: outline([['on B:', 'systemctl stop nginx']]),
    apply: async (io) => {
      const b = await io.host('B');
      const r = await b.run('systemctl stop nginx');
      return p.fail ? { ...r, code: 1, stderr: 'refused' } : { ...r, stdout: `${io.self.host.name} stopped it on ${b.host.name}` };
    },
    failMessage: (r) => `could not stop nginx on B: ${r.stderr}`,
  }]),
});

Kinds('an apply change runs where it says, and its `what` is never sent as a command', async () => {
  const { reporter, hosts } = await runOnFakes(inv(), [{ name: 'p', hosts: 'A', tasks: () => [stopOnB({})] }], (h) => (h.name === 'B' ? [{ cmd: 'systemctl stop nginx' }] : []));
  assert.equal(reporter.of('A'), ['changed stop on B']);
  assert.equal(hosts.get('A')!.calls, []);
  assert.equal(hosts.get('B')!.calls.map((c) => c.cmd), ['systemctl stop nginx']);
  assert.is(reporter.results[0]!.stdout, 'A stopped it on B');
});

Kinds('an apply change that fails is reported with its failMessage', async () => {
  const { reporter } = await runOnFakes(inv(), [{ name: 'p', hosts: 'A', tasks: () => [stopOnB({ fail: true })] }], (h) => (h.name === 'B' ? [{ cmd: 'systemctl stop nginx' }] : []));
  assert.equal(reporter.of('A'), ['failed stop on B']);
  assert.match(reporter.results[0]!.error!, /could not stop nginx on B: refused/);
});

Kinds('outline: each step\'s words, its commands indented under them, every line of them', () => {
  assert.is(outline([['on LB1:', 'a\nb'], ['then:'], ['on LB2:', 'c', 'd']]), 'on LB1:\n  a\n  b\nthen:\non LB2:\n  c\n  d');
});

Kinds.run();
