/**
 * The lab specs' one check of a task kind on a real host: check mode leaves
 * the host byte-identical, apply converges, and planning again finds
 * nothing to do (the same as tasks.lab.ts, shared by the specs of the kinds
 * added after it).
 */
import * as assert from 'uvu/assert';
import type { Task } from '../../lib/core/task.ts';
import type { Transport } from '../../lib/core/transport.ts';
import { makeConnector } from '../../lib/cli/connector.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { definePlaybook } from '../../lib/dsl/playbook.ts';
import { compile } from '../../lib/engine/compile.ts';
import { runPlays } from '../../lib/engine/runner.ts';
import { RecordingReporter } from '../support/recording-reporter.ts';
import { snapshot } from '../support/lab.ts';

/** Run tasks on one lab host in-process through the real SSH connector; the recorded results. */
export async function runOn(name: string, address: string, tasks: () => Task[], check = false) {
  const inv = defineInventory<{}>({ vars: {}, hosts: { [name]: { address } } });
  const compiled = compile(definePlaybook<{}>({ name: 'spec', plays: [{ name: 'p', hosts: name, tasks }] }), inv);
  assert.equal(compiled.problems, []);
  const reporter = new RecordingReporter();
  await runPlays(compiled.plays, {
    playbook: 'spec', check, diff: true, forks: 4, forceHandlers: false, reporter, allHosts: inv.hosts,
    connect: makeConnector({ acceptNewHostKeys: false, connectTimeoutMs: 10_000, commandTimeoutMs: 120_000 }),
  });
  return reporter.results;
}

/** check (nothing changes on the host) → apply (changes) → apply again (every task ok, nothing changed). */
export async function converges(t: Transport, host: { name: string; address: string }, label: string, tasks: () => Task[]) {
  const before = await snapshot(t);
  const planned = await runOn(host.name, host.address, tasks, true);
  assert.ok(planned.every((r) => r.status !== 'failed'), `${label} check: ${JSON.stringify(planned.filter((r) => r.status === 'failed'))}`);
  assert.ok(planned.some((r) => r.status === 'changed'), `${label}: check mode planned nothing`);
  assert.is(await snapshot(t), before, `${label}: check mode changed the host`);
  const applied = await runOn(host.name, host.address, tasks);
  assert.ok(applied.every((r) => r.status === 'changed' || r.status === 'ok'), `${label} apply: ${JSON.stringify(applied.map((r) => [r.task, r.status, r.error]))}`);
  const again = await runOn(host.name, host.address, tasks);
  assert.equal(again.filter((r) => r.status !== 'ok').map((r) => `${r.task}: ${r.status} ${r.changes.map((c) => c.summary).join('; ')}`), [], `${label}: not idempotent`);
  assert.ok(again.every((r) => r.notes.length > 0), `${label}: a no-op without its reason: ${JSON.stringify(again.filter((r) => !r.notes.length).map((r) => r.task))}`);
}
