/**
 * The agent's pool without a socket or a host: fake connections whose state
 * (open, key trusted, answering) each row sets, then a second run's request.
 * The table says whether that run is handed the kept connection or a new one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectionPool } from '../../lib/agent/pool.ts';
import type { SshConnection, SshOptions } from '../../lib/transport/ssh-options.ts';

/** What a fake connection does when the pool looks at it. */
interface Behaviour {
  open: boolean;
  trusted: boolean;
  answers: boolean;
}

interface Fake extends SshConnection {
  behaviour: Behaviour;
  closed: boolean;
}

function fakeConnection(o: SshOptions): Fake {
  const behaviour: Behaviour = { open: true, trusted: true, answers: true };
  let count = 0;
  const fake: Fake = {
    host: o.host,
    hostKey: Buffer.from('key'),
    behaviour,
    closed: false,
    get isOpen() { return behaviour.open && !fake.closed; },
    get commandCount() { return count; },
    alive: async () => behaviour.answers,
    run: async (cmd) => { count++; return { code: 0, stdout: `${o.host}: ${cmd}`, stderr: '' }; },
    close: async () => { fake.closed = true; },
  };
  return fake;
}

/** A pool whose connections are fakes, and what it opened. */
function fakePool(failing: (o: SshOptions) => boolean = () => false) {
  const opened: Fake[] = [];
  const pool = new ConnectionPool({
    connect: async (o) => {
      if (failing(o)) throw new Error(`cannot connect to ${o.address}`);
      const c = fakeConnection(o);
      opened.push(c);
      return c;
    },
    stillTrusted: (_wanted, c) => (c as Fake).behaviour.trusted,
    now: () => 1_000,
  });
  return { pool, opened };
}

const lb1: SshOptions = { host: 'LB1', address: '10.0.0.11', user: 'deploy', env: { HOME: '/home/deploy' } };

const Reuse = suite('agent pool: a second run gets the kept connection, or a new one');

const rows: Array<[string, { second?: Partial<SshOptions>; first?: Partial<Behaviour> }, 'kept' | 'new']> = [
  ['the same options', {}, 'kept'],
  ['the same options, written in another order', { second: { env: { HOME: '/home/deploy' }, user: 'deploy', address: '10.0.0.11', host: 'LB1' } }, 'kept'],
  ['another user', { second: { user: 'root' } }, 'new'],
  ['another port', { second: { port: 2222 } }, 'new'],
  ['another HOME (other keys, other known_hosts)', { second: { env: { HOME: '/root' } } }, 'new'],
  ['a become password', { second: { becomePassword: 'pw' } }, 'new'],
  ['the kept one was lost', { first: { open: false } }, 'new'],
  ['known_hosts no longer trusts its key', { first: { trusted: false } }, 'new'],
  ['it no longer answers a keepalive', { first: { answers: false } }, 'new'],
];

for (const [name, { second, first }, want] of rows) {
  Reuse(name, async () => {
    const { pool, opened } = fakePool();
    const a = await pool.open(lb1);
    Object.assign(opened[0]!.behaviour, first);
    const b = await pool.open({ ...lb1, ...second });
    assert.is(opened.length, want === 'kept' ? 1 : 2, 'connections opened');
    assert.is(a === b, want === 'kept', 'the same id');
    const stale = first !== undefined;
    assert.is(opened[0]!.closed, stale, stale ? 'the stale one is closed' : 'the first one stays open');
    assert.is(pool.size, stale || want === 'kept' ? 1 : 2);
  });
}

const Life = suite('agent pool: commands, failures, status, closing');

Life('commands run on the connection an id names; an id the pool dropped is refused', async () => {
  const { pool, opened } = fakePool();
  const id = await pool.open(lb1);
  assert.is((await pool.run(id, 'uptime')).stdout, 'LB1: uptime');
  opened[0]!.behaviour.open = false;
  const again = await pool.open(lb1);
  assert.is.not(again, id);
  try {
    await pool.run(id, 'uptime');
    assert.unreachable('ran on a dropped connection');
  } catch (e) {
    assert.match((e as Error).message, `no connection ${id} (it was closed)`);
  }
});

Life('a connection that fails is not kept: the next run tries afresh', async () => {
  let down = true;
  const { pool, opened } = fakePool(() => down);
  try {
    await pool.open(lb1);
    assert.unreachable('connected to a host that is down');
  } catch (e) {
    assert.match((e as Error).message, 'cannot connect to 10.0.0.11');
  }
  assert.is(pool.size, 0);
  down = false;
  await pool.open(lb1);
  assert.is(opened.length, 1);
});

Life('status counts runs and commands; closeAll closes every connection', async () => {
  const { pool, opened } = fakePool();
  const id = await pool.open(lb1);
  await pool.open(lb1);
  await pool.run(id, 'true');
  await pool.open({ ...lb1, host: 'LB2', address: '10.0.0.12', port: 2222 });
  assert.equal(await pool.status(), [
    { host: 'LB1', address: '10.0.0.11', port: 22, user: 'deploy', open: true, runs: 2, commands: 1, idleMs: 0 },
    { host: 'LB2', address: '10.0.0.12', port: 2222, user: 'deploy', open: true, runs: 1, commands: 0, idleMs: 0 },
  ]);
  await pool.closeAll();
  assert.equal(opened.map((c) => c.closed), [true, true]);
  assert.is(pool.size, 0);
});

const Keep = suite('agent pool: a hand-over opens only what nobody holds');

Keep('a host a run already holds: its connection is left alone, even one slow to answer a keepalive', async () => {
  const { pool, opened } = fakePool();
  const id = await pool.open(lb1);
  opened[0]!.behaviour.answers = false;
  await pool.keep(lb1);
  assert.is(opened.length, 1, 'nothing more opened');
  assert.not.ok(opened[0]!.closed, 'the run\'s connection stays open');
  assert.is((await pool.run(id, 'uptime')).stdout, 'LB1: uptime');
});

Keep('a host nobody holds is opened and kept; one that cannot be reached is not kept, and keep does not reject', async () => {
  const { pool, opened } = fakePool((o) => o.host === 'LB2');
  await pool.keep(lb1);
  await pool.keep({ ...lb1, host: 'LB2', address: '10.0.0.12' });
  assert.is(opened.length, 1);
  assert.is(pool.size, 1);
  const id = await pool.open(lb1);
  assert.is(opened.length, 1, 'the next run gets the kept one');
  assert.is((await pool.run(id, 'true')).stdout, 'LB1: true');
});

Reuse.run();
Life.run();
Keep.run();
