import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { targetNow, waitCommand, waitFromController } from '../../lib/tasks/wait-probes.ts';
import { waitFor } from '../../lib/tasks/wait-for.ts';
import { applyLocally, planLocally, scratch } from './local-host.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

const now = (t: Parameters<typeof targetNow>[0], present: boolean, yes: boolean) => ({ cmd: targetNow(t, present).command, stdout: yes ? 'yes\n' : 'no\n' });
const P80 = { kind: 'port', port: 80, host: '127.0.0.1' } as const;

const Plans = suite('waitFor: facts → plan');
planTable(Plans, [
  { name: 'the port already answers: no-op, no loop sent', task: waitFor({ port: 80 }), facts: [now(P80, true, true)], changes: [], notes: ['port 80 on 127.0.0.1 is there'] },
  {
    name: 'not yet: one bounded, read-only wait that changes nothing, with room beyond the transport default',
    task: waitFor({ port: 80, timeout: 30 }), facts: [now(P80, true, false)], changes: ['wait up to 30 s until port 80 on 127.0.0.1 is there'],
    notes: ['port 80 on 127.0.0.1 was not there yet: waited (at most 30 s)'],
    then: (plan) => {
      const c = plan.changes[0]!;
      assert.ok(c.readOnly);
      assert.is(execOf(c), waitCommand(P80, true, 30, 1));
      assert.is(c.timeoutMs, 60_000);
      assert.equal(c.judge!({ code: 0, stdout: '', stderr: '' }), { failed: false, changed: false });
      assert.is(c.failMessage!({ code: 1, stdout: '', stderr: 'port 80 on 127.0.0.1 not there after 30 s\n' }), 'port 80 on 127.0.0.1 not there after 30 s');
    },
  },
  {
    name: 'in check mode after a change not made (the service not started): skipped with the reason',
    task: waitFor({ port: 80 }), pending: PENDING, facts: [now(P80, true, false)], changes: [],
    then: (plan) => assert.match(plan.skip ?? '', /^would wait up to 60 s until port 80 on 127.0.0.1 is there; not now: earlier changes/),
  },
  { name: 'a file gone: no-op', task: waitFor({ path: '/run/old.pid', state: 'stopped' }), facts: [now({ kind: 'path', path: '/run/old.pid' }, false, true)], changes: [], notes: ['/run/old.pid is gone'] },
  {
    name: 'from the controller: no host fact, the wait runs in Node',
    task: waitFor({ url: 'http://192.0.2.10/', from: 'controller', timeout: 5 }), facts: [], roundTrips: 0,
    changes: ['wait up to 5 s until http://192.0.2.10/ answering 200 is there (from the controller)'],
    then: (plan) => assert.type(plan.changes[0]!.apply, 'function'),
  },
]);
Plans.run();

const Problems = suite('waitFor: parameter problems');
problemTable(Problems, [
  { name: 'nothing to wait for', task: waitFor({}), problems: [['port', /give exactly one of port, path, url/]] },
  { name: 'two things', task: waitFor({ port: 80, path: '/x' }), problems: [['path', /exactly one .*\(got port, path\)/]] },
  { name: 'an unbounded wait', task: waitFor({ port: 80, timeout: 0 }), problems: [['timeout', /whole number of seconds 1–3600/]] },
  { name: 'a hostile address', task: waitFor({ port: 80, address: "x'; reboot; '" }), problems: [['address', /host name or an IP address/]] },
  { name: 'a URL that is not http', task: waitFor({ url: 'file:///etc/passwd' }), problems: [['url', /http:\/\/ or https:\/\//]] },
  { name: 'a path from the controller', task: waitFor({ path: '/x', from: 'controller' }), problems: [['from', /a path is checked on the host/]] },
  { name: 'status without url', task: waitFor({ port: 80, status: 204 }), problems: [['status', /only applies to url/]] },
]);
Problems.run();

const Local = suite('waitFor: the loops run for real');
Local('on the host (sh here): a file that appears after 0.5 s ends the wait; one that never does fails it in time', async () => {
  const s = scratch('wait');
  try {
    const path = join(s.dir, "ready 'x'");
    const t = waitFor({ path, timeout: 5, sleep: 0.2 });
    const plan = await planLocally(t);
    assert.is(plan.changes.length, 1);
    setTimeout(() => writeFileSync(path, 'ok'), 500);
    assert.is((await applyLocally(plan.changes[0]!)).code, 0);
    assert.equal((await planLocally(t)).changes, [], 'the re-plan is a no-op');
    const never = await planLocally(waitFor({ path: join(s.dir, 'never'), timeout: 1, sleep: 0.2 }));
    const started = Date.now();
    const r = await applyLocally(never.changes[0]!);
    assert.is(r.code, 1);
    assert.match(r.stderr, /never not there after 1 s/);
    assert.ok(Date.now() - started < 4000, 'bounded');
  } finally {
    s.done();
  }
});
Local('from the controller: a port that opens ends the wait; an HTTP status other than the wanted one keeps waiting', async () => {
  const server = createServer((req, res) => { res.statusCode = req.url === '/ok' ? 200 : 503; res.end(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    assert.is((await waitFromController({ kind: 'port', host: '127.0.0.1', port }, true, 2, 0.1)).code, 0);
    assert.is((await waitFromController({ kind: 'url', url: `http://127.0.0.1:${port}/ok`, status: 200 }, true, 2, 0.1)).code, 0);
    const r = await waitFromController({ kind: 'url', url: `http://127.0.0.1:${port}/busy`, status: 200 }, true, 1, 0.2);
    assert.is(r.code, 1);
    assert.match(r.stderr, /answering 200 not there after 1 s \(from the controller\)/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
Local('on the host: bash /dev/tcp sees an open port', async () => {
  const server = createServer((_q, res) => res.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const plan = await planLocally(waitFor({ port, timeout: 2 }));
    assert.equal(plan.changes, []);
    assert.equal(plan.notes, [`port ${port} on 127.0.0.1 is there`]);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
Local.run();
