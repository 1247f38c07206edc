/**
 * The connection agent against a real SSH server on 127.0.0.1: runs reuse its
 * connections, get the same results and errors as a direct connection, and
 * never get a connection that is dead or no longer trusted.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentClient, startAgentProcess } from '../../lib/agent/client.ts';
import { AgentUnavailable, socketPath } from '../../lib/agent/location.ts';
import { serveAgent, type AgentServer } from '../../lib/agent/server.ts';
import type { WireSshOptions } from '../../lib/agent/protocol.ts';
import { ConnectError, HostKeyError, TransportError } from '../../lib/core/errors.ts';
import { connectSsh } from '../../lib/transport/ssh.ts';
import type { SshOptions } from '../../lib/transport/ssh-options.ts';
import { closedPort, keyPair, startRelay, startSshServer, tempDir, type TestServer } from '../transport/ssh-server.ts';

const hostKey = keyPair();
const clientKey = keyPair();
const strangerKey = keyPair();
const repo = new URL('../../', import.meta.url).pathname;

interface World {
  server: TestServer;
  dir: ReturnType<typeof tempDir>;
  agentDir: string;
  knownHostsFile: string;
  agent: AgentServer;
  clients: AgentClient[];
  opts(extra?: Partial<SshOptions>): SshOptions;
  /** A new run's line to the agent. */
  client(): Promise<AgentClient>;
}

async function world(persistMs = 30_000, unusedMs?: number): Promise<World> {
  const dir = tempDir('play-agent-');
  const server = await startSshServer({ hostKeys: [hostKey], clientKey });
  const identityFile = join(dir.path, 'id_test');
  writeFileSync(identityFile, clientKey.private, { mode: 0o600 });
  const knownHostsFile = join(dir.path, 'known_hosts');
  writeFileSync(knownHostsFile, khLine(server.port, hostKey));
  const agentDir = join(dir.path, 'agent');
  const agent = await serveAgent({ dir: agentDir, persistMs, unusedMs });
  const clients: AgentClient[] = [];
  return {
    server, dir, agentDir, knownHostsFile, agent, clients,
    opts: (extra = {}) => ({ host: 'web1', address: '127.0.0.1', port: server.port, user: 'tester', identityFile, knownHostsFile, connectTimeoutMs: 5_000, ...extra }),
    client: async () => {
      const c = await AgentClient.find(agentDir);
      if (!c) throw new Error(`no agent in ${agentDir}`);
      clients.push(c);
      return c;
    },
  };
}

async function dispose(w: World): Promise<void> {
  for (const c of w.clients) c.close();
  await w.agent.stop();
  await w.server.close();
  w.dir.remove();
}

function khLine(port: number, key: { public: string }): string {
  return `[127.0.0.1]:${port} ${key.public.split(' ').slice(0, 2).join(' ')}\n`;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

// ------------------------------------------------------------------- reuse

const Reuse = suite('agent: reuse');

Reuse('a second run reuses the first run\'s connection: one login in all', async () => {
  const w = await world();
  try {
    const first = await (await w.client()).transport(w.opts());
    assert.equal(await first.run('echo one'), { code: 0, stdout: 'one\n', stderr: '' });
    await first.close();
    w.clients[0]!.close();
    const second = await (await w.client()).transport(w.opts());
    assert.equal(await second.run('echo two'), { code: 0, stdout: 'two\n', stderr: '' });
    assert.is(w.server.connections, 1);
    const status = await w.clients[1]!.status();
    assert.equal(status.connections.map((c) => [c.host, c.runs, c.commands, c.open]), [['web1', 2, 2, true]]);
  } finally {
    await dispose(w);
  }
});

Reuse('a run that connected by itself hands its hosts over as it ends: the next run finds them connected', async () => {
  const w = await world();
  try {
    // As a run sends them: its HOME and SSH_AUTH_SOCK are part of what makes a connection the same.
    const env = { HOME: process.env.HOME, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK };
    w.agent.keep([{ ...w.opts(), env }, { ...w.opts({ user: 'other' }), env }] as WireSshOptions[]);
    const c = await w.client();
    let status = await c.status();
    for (let i = 0; i < 100 && status.connections.filter((x) => x.open).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = await c.status();
    }
    assert.equal(status.connections.map((x) => [x.user, x.open, x.commands]).sort(), [['other', true, 0], ['tester', true, 0]]);
    assert.is((await (await c.transport(w.opts())).run('echo kept')).stdout, 'kept\n');
    assert.is(w.server.connections, 2, 'the handed-over connection was reused');
  } finally {
    await dispose(w);
  }
});

Reuse('two runs connecting at once share one connection', async () => {
  const w = await world();
  try {
    const [a, b] = await Promise.all([w.client(), w.client()]);
    const [ta, tb] = await Promise.all([a.transport(w.opts()), b.transport(w.opts())]);
    const [ra, rb] = await Promise.all([ta.run('echo a'), tb.run('echo b')]);
    assert.is(ra.stdout + rb.stdout, 'a\nb\n');
    assert.is(w.server.connections, 1);
  } finally {
    await dispose(w);
  }
});

// Anything that changes how the host is reached or logged in to is a different connection.
const distinct: Array<[string, (w: World) => Partial<SshOptions>]> = [
  ['another user', () => ({ user: 'other' })],
  ['become on', () => ({ become: true })],
  ['another known_hosts list', (w) => ({ knownHostsFile: [w.knownHostsFile, join(w.dir.path, 'more')] })],
  ['another HOME', () => ({ env: { HOME: '/nonexistent' } })],
];
for (const [what, extra] of distinct) {
  Reuse(`${what}: a connection of its own`, async () => {
    const w = await world();
    try {
      const c = await w.client();
      await (await c.transport(w.opts())).run('true');
      await (await c.transport(w.opts(extra(w)))).run('true');
      assert.is(w.server.connections, 2);
    } finally {
      await dispose(w);
    }
  });
}

// ------------------------------------------------------- never a bad connection

const Stale = suite('agent: stale connections');

Stale('a host key no longer in known_hosts is not reused: the run gets the HostKeyError it would get alone', async () => {
  const w = await world();
  try {
    await (await (await w.client()).transport(w.opts())).run('true');
    writeFileSync(w.knownHostsFile, khLine(w.server.port, strangerKey));
    const e = await rejection((await w.client()).transport(w.opts()));
    assert.instance(e, HostKeyError);
    assert.match(e.message, /HOST KEY CHANGED/);
    assert.equal((await w.clients[1]!.status()).connections, []);
  } finally {
    await dispose(w);
  }
});

// How a kept connection can have died since the last run.
const deaths: Array<[string, 'cut' | 'freeze']> = [
  ['a connection cut since the last run is replaced by a new one', 'cut'],
  ['a silently dead connection (no reset, no answer) is replaced once the keepalive goes unanswered', 'freeze'],
];
for (const [what, death] of deaths) {
  Stale(what, async () => {
    const w = await world();
    const relay = await startRelay(w.server.port);
    try {
      const opts = w.opts({ port: relay.port });
      writeFileSync(w.knownHostsFile, khLine(relay.port, hostKey));
      await (await (await w.client()).transport(opts)).run('true');
      relay[death]();
      const t = await (await w.client()).transport(opts);
      assert.equal(await t.run('echo again'), { code: 0, stdout: 'again\n', stderr: '' });
      assert.is(w.server.connections, 2);
    } finally {
      await relay.close();
      await dispose(w);
    }
  });
}

// ------------------------------------------------- the same answers as alone

const Same = suite('agent: same results and errors as a direct connection');

const commands: Array<[string, string, string | Buffer | undefined]> = [
  ['exit code and both streams', 'echo out; echo err >&2; exit 3', undefined],
  ['input bytes, binary included', 'od -An -tx1', Buffer.from([0, 1, 2, 255, 10])],
  ['text input', 'cat', 'line one\nline two\n'],
  ['a large output', 'head -c 3000000 /dev/zero | tr "\\0" a', undefined],
  ['killed by a signal', 'kill -TERM $$', undefined],
];
for (const [what, cmd, stdin] of commands) {
  Same(what, async () => {
    const w = await world();
    const direct = await connectSsh(w.opts());
    try {
      const via = await (await w.client()).transport(w.opts());
      assert.equal(await via.run(cmd, { stdin }), await direct.run(cmd, { stdin }));
    } finally {
      await direct.close();
      await dispose(w);
    }
  });
}

Same('a host that refuses: ConnectError naming the host', async () => {
  const w = await world();
  try {
    const e = await rejection((await w.client()).transport(w.opts({ port: await closedPort() })));
    assert.instance(e, ConnectError);
    assert.match(e.message, /^web1: cannot connect to 127\.0\.0\.1:\d+: connection refused/);
    assert.equal((await w.clients[0]!.status()).connections, [], 'a failed connection is not kept');
  } finally {
    await dispose(w);
  }
});

Same('a command over its timeout: TransportError', async () => {
  const w = await world();
  try {
    const t = await (await w.client()).transport(w.opts());
    const e = await rejection(t.run('sleep 5', { timeoutMs: 300 }));
    assert.instance(e, TransportError);
    assert.match(e.message, /^web1: command timed out after 0\.3 s/);
  } finally {
    await dispose(w);
  }
});

Same('the agent stopping mid-command fails that command, not the run\'s process', async () => {
  const w = await world();
  try {
    const t = await (await w.client()).transport(w.opts());
    const running = rejection(t.run('sleep 5'));
    await new Promise((r) => setTimeout(r, 200));
    await w.agent.stop();
    const e = await running;
    assert.instance(e, TransportError);
    const again = await rejection(t.run('true'));
    assert.instance(again, TransportError);
    assert.match(again.message, /connection agent went away/);
  } finally {
    await dispose(w);
  }
});

// --------------------------------------------------------------- lifecycle

const Life = suite('agent: lifecycle');

Life('with no run attached, the agent closes its connections and leaves after persist', async () => {
  const w = await world(300);
  try {
    const c = await w.client();
    await (await c.transport(w.opts())).run('true');
    c.close();
    await w.agent.done;
    assert.not.ok(existsSync(socketPath(w.agentDir)), 'socket removed');
  } finally {
    await dispose(w);
  }
});

Life('an agent nobody uses leaves soon', async () => {
  const w = await world(60_000, 100);
  try {
    await w.agent.done;
  } finally {
    await dispose(w);
  }
});

Life('a directory other users can enter is refused, before any socket is made', async () => {
  const dir = tempDir('play-agent-');
  try {
    chmodSync(dir.path, 0o755);
    const e = await rejection(AgentClient.find(dir.path));
    assert.instance(e, AgentUnavailable);
    assert.match(e.message, /open to other users \(mode 755\)/);
    const e2 = await rejection(serveAgent({ dir: dir.path, persistMs: 1_000 }));
    assert.instance(e2, AgentUnavailable);
  } finally {
    dir.remove();
  }
});

Life('a second agent on the same socket gives way to the running one', async () => {
  const w = await world();
  try {
    const e = await rejection(serveAgent({ dir: w.agentDir, persistMs: 1_000 }));
    assert.match(e.message, /already listens/);
    await (await (await w.client()).transport(w.opts())).run('true');
  } finally {
    await dispose(w);
  }
});

Life('a run with no agent starts one (`play agent serve`, detached); `play agent stop` ends it', async () => {
  const dir = tempDir('play-agent-');
  const server = await startSshServer({ hostKeys: [hostKey], clientKey });
  const env = { ...process.env, PLAY_AGENT_DIR: join(dir.path, 'agent') };
  let pid: number | undefined;
  try {
    const identityFile = join(dir.path, 'id_test');
    writeFileSync(identityFile, clientKey.private, { mode: 0o600 });
    writeFileSync(join(dir.path, 'known_hosts'), khLine(server.port, hostKey));
    // As a run that found no agent does, then the next run finding it.
    startAgentProcess(env.PLAY_AGENT_DIR, 30_000, []);
    const client = await started(env.PLAY_AGENT_DIR);
    pid = (await client.status()).pid;
    assert.is.not(pid, process.pid);
    const t = await client.transport({ host: 'web1', address: '127.0.0.1', port: server.port, identityFile, knownHostsFile: join(dir.path, 'known_hosts') });
    assert.is((await t.run('echo via agent')).stdout, 'via agent\n');
    client.close();
    const status = await cli(['agent', 'status'], env);
    assert.match(status, new RegExp(`^agent ${pid} on .*agent-1\\.sock: keeps connections 30 s after the last run`));
    assert.match(status, /web1 {2}root@127\.0\.0\.1:\d+ {2}open {2}1 run\(s\), 1 command\(s\)/);
    assert.is(await cli(['agent', 'stop'], env), `agent ${pid} stopped\n`);
    await waitGone(pid);
    pid = undefined;
    assert.match(await cli(['agent', 'status'], env), /^no agent is running/);
  } finally {
    // Ours by PID, should the spec have failed before `stop`.
    if (pid !== undefined) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await server.close();
    dir.remove();
  }
});

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => execFile(process.execPath, [`${repo}bin/play.js`, ...args], { env }, (e, out, err) => e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out)));
}

/** The agent a spec started, once it listens. */
async function started(dir: string): Promise<AgentClient> {
  for (let i = 0; i < 100; i++) {
    const client = await AgentClient.find(dir);
    if (client) return client;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no agent listens in ${dir} after 5 s`);
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.unreachable(`agent ${pid} still running`);
}

Reuse.run();
Stale.run();
Same.run();
Life.run();
