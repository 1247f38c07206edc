import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectError } from '../../lib/core/errors.ts';
import type { HostView } from '../../lib/core/host.ts';
import { Connections } from '../../lib/engine/connections.ts';
import { FakeTransport } from '../support/fake-transport.ts';

const host = (i: number): HostView => ({ name: `h${i}`, address: `10.0.0.${i}`, port: 22, user: 'root', become: false, groups: [], vars: {} });

test('connections open a few at a time, in the order asked, and every one is made', async () => {
  let now = 0;
  let most = 0;
  const order: string[] = [];
  const c = new Connections(async (h) => {
    order.push(h.name);
    most = Math.max(most, ++now);
    await new Promise((r) => setTimeout(r, 1));
    now--;
    if (h.name === 'h7') throw new ConnectError(h.name, 'connect ECONNREFUSED');
    return new FakeTransport(h.name);
  }, 5);
  const hosts = Array.from({ length: 40 }, (_, i) => host(i));
  const got = await Promise.allSettled(hosts.map((h) => c.get(h)));
  assert.is(most, 5);
  assert.equal(order, hosts.map((h) => h.name));
  assert.equal(got.map((g) => g.status).filter((s) => s === 'rejected').length, 1);
  // A failed host stays failed, the others connected once.
  assert.is(await c.get(host(7)).then(() => 'ok', (e: Error) => e.message), 'h7: connect ECONNREFUSED');
  assert.is(order.length, 40);
});

test('a first connection is asked for at once, before the call returns', () => {
  const asked: string[] = [];
  const c = new Connections(async (h) => { asked.push(h.name); return new FakeTransport(h.name); });
  void c.get(host(1));
  assert.equal(asked, ['h1']);
});

test.run();
