/**
 * How a run that found no agent hands its hosts to the one it starts: a
 * private file in the agent's directory, of any size (a pipe's 60 KB cap
 * dropped every fleet past ~200 hosts), never readable by other users, read
 * and removed by the agent. The table: fleets of each size, with secrets, in
 * and out of the file; then the files the agent refuses; then a real `play
 * agent serve` started as a run starts it, handed 1,000 hosts.
 */
import { createServer, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentClient, startAgentProcess } from '../../lib/agent/client.ts';
import { sweepHandOvers, takeHandOver, writeHandOver } from '../../lib/agent/hand-over.ts';
import { AgentUnavailable, ensurePrivateDir } from '../../lib/agent/location.ts';
import type { WireSshOptions } from '../../lib/agent/protocol.ts';
import { serveAgent } from '../../lib/agent/server.ts';
import type { SshConnection, SshOptions } from '../../lib/transport/ssh-options.ts';
import { keyPair, tempDir } from '../transport/ssh-server.ts';

/** `n` hosts as a fleet's inventory gives them: each with its become (sudo) password. */
function fleet(n: number, port = 22, identityFile = '/home/op/.ssh/id_ed25519'): WireSshOptions[] {
  return Array.from({ length: n }, (_, i) => ({
    host: `h${String(i + 1).padStart(4, '0')}`, address: '127.0.0.1', port, user: 'op', become: true,
    becomePassword: `sudo-${i}`, identityFile,
    knownHostsFile: ['/home/op/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts'], connectTimeoutMs: 2_000,
    env: { HOME: '/home/op', SSH_AUTH_SOCK: '/run/user/1000/ssh-agent.sock' },
  }));
}

/** A private agent directory (0700), as `ensurePrivateDir` makes it. */
function agentDirIn(base: string): string {
  const dir = join(base, 'agent');
  ensurePrivateDir(dir);
  return dir;
}

/** `fn` with a fresh agent directory (and its temporary parent, `base`), removed after, whatever happens. */
function inAgentDir(fn: (dir: string, base: string) => void): void {
  const base = tempDir('play-handover-');
  try {
    fn(agentDirIn(base.path), base.path);
  } finally {
    base.remove();
  }
}

const Sizes = suite('hand-over: a fleet of any size, in and out of a private file');

const SIZES: Array<{ hosts: number; why: string }> = [
  { hosts: 1, why: 'one host' },
  { hosts: 200, why: 'about what the 60 KB pipe held' },
  { hosts: 1_000, why: 'past the old cap: it was dropped whole' },
  { hosts: 10_000, why: 'a large fleet (~3 MB)' },
];

for (const row of SIZES) {
  Sizes(`${row.hosts} host(s) (${row.why}): written 0600, read back equal, then gone`, () => inAgentDir((dir) => {
    const hosts = fleet(row.hosts);
    const file = writeHandOver(dir, hosts);
    assert.is(statSync(file).mode & 0o777, 0o600, 'only its owner reads the passwords');
    assert.equal(readdirSync(dir), [file.slice(dir.length + 1)], 'no temporary file left beside it');
    assert.equal(takeHandOver(dir, file), hosts);
    assert.not.ok(existsSync(file), 'the agent removes it once read');
  }));
}

Sizes('two runs ending at once write two files, neither over the other', () => inAgentDir((dir) => {
  const a = writeHandOver(dir, fleet(3));
  const b = writeHandOver(dir, fleet(5));
  assert.is.not(a, b);
  assert.is(takeHandOver(dir, a).length, 3);
  assert.is(takeHandOver(dir, b).length, 5);
}));

const Refused = suite('hand-over: what the agent refuses to read (and leaves alone)');

const REFUSED: Array<{ name: string; make(dir: string, other: string): string; message: RegExp }> = [
  { name: 'a file other users can read', message: /open to other users \(mode 644\)/, make: (dir) => {
    const f = writeHandOver(dir, fleet(1));
    chmodSync(f, 0o644);
    return f;
  } },
  { name: 'a link to a hand-over elsewhere', message: /not a regular file/, make: (dir, other) => {
    const target = writeHandOver(other, fleet(1));
    const f = join(dir, 'handover-1-0123456789abcdef.jsonl');
    symlinkSync(target, f);
    return f;
  } },
  { name: 'a hand-over outside the agent directory', message: /is not a hand-over file of/, make: (_dir, other) => writeHandOver(other, fleet(1)) },
  { name: 'any other file of the directory', message: /is not a hand-over file of/, make: (dir) => {
    const f = join(dir, 'agent-1.sock');
    writeFileSync(f, '', { mode: 0o600 });
    return f;
  } },
  { name: 'a hand-over still being written', message: /is not a hand-over file of/, make: (dir) => {
    const f = join(dir, 'handover-1-0123456789abcdef.jsonl.tmp');
    writeFileSync(f, '', { mode: 0o600 });
    return f;
  } },
];

for (const row of REFUSED) {
  Refused(row.name, () => inAgentDir((dir, base) => {
    const other = join(base, 'other');
    mkdirSync(other, { mode: 0o700 });
    const file = row.make(dir, other);
    let error: unknown;
    try {
      takeHandOver(dir, file);
    } catch (e) {
      error = e;
    }
    assert.instance(error, AgentUnavailable);
    assert.match((error as Error).message, row.message);
    assert.ok(existsSync(file), 'left where it was');
  }));
}

Refused('a hand-over nobody took for a minute is swept; a fresh one is not', () => inAgentDir((dir) => {
  const old = writeHandOver(dir, fleet(1));
  const fresh = writeHandOver(dir, fleet(1));
  const past = new Date(Date.now() - 120_000);
  utimesSync(old, past, past);
  writeFileSync(join(dir, 'keep-me'), '');
  sweepHandOvers(dir);
  assert.not.ok(existsSync(old));
  assert.ok(existsSync(fresh));
  assert.ok(existsSync(join(dir, 'keep-me')));
}));

const Keep = suite('hand-over: the agent opens every host handed over');

Keep('1,000 hosts: all opened, at most 100 handshakes at once', async () => {
  const base = tempDir('play-handover-');
  let opening = 0, most = 0;
  const opened = new Set<string>();
  const connect = async (o: SshOptions): Promise<SshConnection> => {
    opening++;
    most = Math.max(most, opening);
    await new Promise((r) => setTimeout(r, 1));
    opening--;
    opened.add(o.host);
    return { host: o.host, hostKey: Buffer.from('k'), isOpen: true, commandCount: 0, alive: async () => true, run: async () => ({ code: 0, stdout: '', stderr: '' }), close: async () => undefined };
  };
  const agent = await serveAgent({ dir: agentDirIn(base.path), persistMs: 30_000, connect });
  try {
    agent.keep(fleet(1_000));
    for (let i = 0; i < 200 && opened.size < 1_000; i++) await new Promise((r) => setTimeout(r, 10));
    assert.is(opened.size, 1_000);
    assert.ok(most <= 100, `${most} handshakes at once`);
  } finally {
    await agent.stop();
    base.remove();
  }
});

Keep('`play agent serve`, started as a cold run ends, is handed 1,000 hosts and tries each; the file is gone', async () => {
  const base = tempDir('play-handover-');
  // Stands in for the hosts: counts the connections the agent makes, and hangs up (each host then fails, at once).
  const seen: Socket[] = [];
  const door = createServer((s) => { seen.push(s); s.destroy(); });
  await new Promise<void>((r) => door.listen(0, '127.0.0.1', r));
  const port = (door.address() as { port: number }).port;
  const dir = join(base.path, 'agent');
  let pid: number | undefined;
  try {
    // As lib/cli/main.ts does when a run found no agent, with the hosts it connected to.
    const identityFile = join(base.path, 'id_test');
    writeFileSync(identityFile, keyPair().private, { mode: 0o600 });
    startAgentProcess(dir, 30_000, fleet(1_000, port, identityFile).map(({ env: _env, ...o }) => o));
    const client = await started(dir);
    pid = (await client.status()).pid;
    for (let i = 0; i < 400 && seen.length < 1_000; i++) await new Promise((r) => setTimeout(r, 50));
    assert.is(seen.length, 1_000, 'every host handed over was connected to');
    assert.equal(readdirSync(dir).filter((n) => n.startsWith('handover-')), [], 'the hand-over file is removed');
    await client.stop();
    client.close();
    pid = undefined;
  } finally {
    // Ours by PID, should the spec have failed before `stop`.
    if (pid !== undefined) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await new Promise<void>((r) => door.close(() => r()));
    base.remove();
  }
});

/** The agent a spec started, once it listens. */
async function started(dir: string): Promise<AgentClient> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(dir)) {
      const client = await AgentClient.find(dir);
      if (client) return client;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no agent listens in ${dir} after 10 s`);
}

Sizes.run();
Refused.run();
Keep.run();
