import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApplyIO } from '../../lib/core/change.ts';
import { ConnectError, HostKeyError } from '../../lib/core/errors.ts';
import { bootId, REBOOT_COMMAND, reboot, rebootAndWait } from '../../lib/tasks/reboot.ts';
import { testHost, whatOf } from '../support/plan-harness.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { command } from '../../lib/tasks/command.ts';
import { runOnFakes } from '../support/fake-run.ts';
import { planTable, problemTable } from './table.ts';

const OLD = '0f2c1a9e-0000-4000-8000-000000000001';
const NEW = '7b3d4e5f-0000-4000-8000-000000000002';

const Plans = suite('reboot: facts → plan');
planTable(Plans, [
  {
    name: 'always one change that applies itself (check mode reports it and does nothing)',
    task: reboot({ timeout: 300 }), facts: [{ cmd: bootId.command, stdout: `${OLD}\n` }], changes: ['reboot and wait until h1 answers again (up to 300 s)'],
    then: (plan) => { assert.ok(whatOf(plan.changes[0]).includes(REBOOT_COMMAND.replace(/^/gm, '  ')), 'the reboot command, in what it does'); assert.type(plan.changes[0]!.apply, 'function'); assert.not.ok(plan.changes[0]!.readOnly); },
  },
  { name: 'no boot id: refused (a new boot could not be told from the old)', task: reboot({}), facts: [{ cmd: bootId.command, stdout: '' }], error: /cannot read the boot id/ },
]);
Plans.run();

/** A host that reboots: answers with the old boot id `early` times, is unreachable `down` times, then answers with the new one. */
function host(o: { early?: number; down?: number; keyChanged?: boolean; test?: number }) {
  let connects = 0;
  const sent: string[] = [];
  let early = o.early ?? 0, down = o.down ?? 0;
  let booted = false;
  const io: ApplyIO = {
    host: async () => { throw new Error('no'); },
    self: {
      host: testHost(),
      run: async (cmd) => {
        sent.push(cmd);
        if (cmd === bootId.command) return { code: 0, stdout: `${booted ? NEW : OLD}\n`, stderr: '' };
        if (cmd === 'test-ready') return { code: o.test ?? 0, stdout: '', stderr: o.test ? 'not ready' : '' };
        return { code: 0, stdout: '', stderr: '' };
      },
    },
    reconnect: async () => {
      connects++;
      if (early > 0) { early--; return; }
      if (down > 0) { down--; throw new ConnectError('h1', 'connect ECONNREFUSED'); }
      if (o.keyChanged) throw new HostKeyError('h1', 'host key changed: SHA256:aaa → SHA256:bbb');
      booted = true;
    },
  };
  return { io, sent, connects: () => connects };
}
const fast = { timeout: 5, pollInterval: 0.01, testCommand: 'test-ready' };

const Apply = suite('reboot: the wait, against a host that reboots');
Apply('old boot, then down, then a new boot: reconnects until the boot id changes, then the test command', async () => {
  const h = host({ early: 1, down: 3 });
  const r = await rebootAndWait(h.io, OLD, fast);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^boot 0f2c1a9e → 7b3d4e5f, back after \d+ s\n$/);
  assert.is(h.connects(), 5);
  assert.is(h.sent[0], REBOOT_COMMAND);
  assert.is(h.sent.at(-1), 'test-ready');
});
Apply('another host key after the reboot: refused at once, not waited for', async () => {
  const h = host({ keyChanged: true });
  const r = await rebootAndWait(h.io, OLD, fast);
  assert.is(r.code, 1);
  assert.match(r.stderr, /came back with another host key: host key changed/);
  assert.is(h.connects(), 1);
});
Apply('never back: fails after the timeout, naming the last error', async () => {
  const h = host({ down: 1e9 });
  let t = 0;
  const r = await rebootAndWait(h.io, OLD, { ...fast, timeout: 1 }, () => (t += 300));
  assert.is(r.code, 1);
  assert.match(r.stderr, /did not answer with a new boot within 1 s \(last: h1: connect ECONNREFUSED\)/);
});
Apply('back but the test command fails: the task fails with its output', async () => {
  const r = await rebootAndWait(host({ test: 3 }).io, OLD, fast);
  assert.is(r.code, 3);
  assert.match(r.stderr, /the test command failed \(exit 3\): not ready/);
});
Apply('through the runner: the tasks after a reboot go over the new connection, and the recap counts both', async () => {
  let connects = 0;
  const inv = defineInventory<{}>({ vars: {}, hosts: { A: { address: '192.0.2.1' } } });
  const { reporter, hosts, recap } = await runOnFakes(inv, [{ name: 'p', hosts: 'A', tasks: () => [reboot({ pollInterval: 0.01 }), command({ cmd: 'echo after', title: 'after' })] }], () => {
    connects++;
    return connects === 1
      ? [{ cmd: bootId.command, stdout: `${OLD}\n` }, { cmd: REBOOT_COMMAND }]
      : [{ cmd: bootId.command, stdout: `${NEW}\n` }, { cmd: 'true' }, { cmd: 'echo after' }];
  });
  assert.equal(reporter.of('A'), ['changed reboot', 'changed after']);
  assert.is(connects, 2);
  assert.equal(hosts.get('A')!.applied, [bootId.command, 'true', 'echo after'], 'the new connection read the boot id, ran the test command and the next task');
  assert.is(recap.hosts.A!.commands, 5, 'facts + reboot on the first connection, boot id + test + task on the second');
});
Apply.run();

const Problems = suite('reboot: parameter problems');
problemTable(Problems, [
  { name: 'an unbounded timeout', task: reboot({ timeout: 0 }), problems: [['timeout', /whole number of seconds 1–3600/]] },
  { name: 'an empty test command', task: reboot({ testCommand: ' ' }), problems: [['testCommand', /non-empty shell command/]] },
]);
Problems.run();
