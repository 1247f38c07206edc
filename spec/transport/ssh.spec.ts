import { execFileSync, spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectError, HostKeyError, TransportError } from '../../lib/core/errors.ts';
import type { Transport } from '../../lib/core/transport.ts';
import { connectSsh } from '../../lib/transport/ssh.ts';
import { becomeCommand, withDeadline } from '../../lib/transport/ssh-commands.ts';
import type { SshOptions } from '../../lib/transport/ssh-options.ts';
import {
  closedPort, keyPair, startRelay, startSilentServer, startSshServer, tempDir, type KeyPair, type TestServer,
} from './ssh-server.ts';

const hostKey = keyPair();
const clientKey = keyPair();
const strangerKey = keyPair();

function fp(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function khLine(port: number, key: KeyPair): string {
  return `[127.0.0.1]:${port} ${key.public.split(' ').slice(0, 2).join(' ')}\n`;
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Await a rejection; return the error and how long it took. */
async function rejection(p: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (error) {
    return { error: error as Error, ms: Date.now() - t0 };
  }
  assert.unreachable('expected a rejection, got a result');
  throw new Error('unreachable');
}

interface Fixture {
  server: TestServer;
  dir: ReturnType<typeof tempDir>;
  identityFile: string;
  knownHostsFile: string;
  opts(extra?: Partial<SshOptions>): SshOptions;
}

/** A server, a client key file and a known_hosts trusting the server. */
async function fixture(hostKeys: KeyPair[] = [hostKey], serverOpts: { maxSessions?: number; binDir?: string } = {}): Promise<Fixture> {
  const dir = tempDir();
  try {
    const server = await startSshServer({ hostKeys, clientKey, ...serverOpts });
    const identityFile = join(dir.path, 'id_test');
    writeFileSync(identityFile, clientKey.private, { mode: 0o600 });
    const knownHostsFile = join(dir.path, 'known_hosts');
    writeFileSync(knownHostsFile, khLine(server.port, hostKeys[0]!));
    return {
      server, dir, identityFile, knownHostsFile,
      opts: (extra = {}) => ({
        host: 'web1', address: '127.0.0.1', port: server.port, user: 'tester', identityFile, knownHostsFile, connectTimeoutMs: 5_000, ...extra,
      }),
    };
  } catch (e) {
    dir.remove();
    throw e;
  }
}

async function dispose(f: Fixture | undefined, ...transports: Array<Transport | undefined>): Promise<void> {
  try {
    for (const t of transports) await t?.close();
  } finally {
    // Before the server: its close waits for every connection to end.
    f?.dir.remove();
    await f?.server.close();
  }
}

// ---------------------------------------------------------------------- run

const Run = suite<{ f?: Fixture; t?: Transport }>('ssh: run', {});

Run.before(async (ctx) => {
  ctx.f = await fixture();
  ctx.t = await connectSsh(ctx.f.opts());
});
Run.after(async (ctx) => dispose(ctx.f, ctx.t));

Run('exit codes are results, not rejections', async ({ t }) => {
  assert.equal(await t!.run('true'), { code: 0, stdout: '', stderr: '' });
  assert.equal(await t!.run('echo out; echo err >&2; exit 3'), { code: 3, stdout: 'out\n', stderr: 'err\n' });
});

Run('stderr on success does not reject', async ({ t }) => {
  const r = await t!.run('echo warning >&2; echo fine');
  assert.equal(r, { code: 0, stdout: 'fine\n', stderr: 'warning\n' });
});

Run('commands are POSIX shell strings run as given', async ({ t }) => {
  const r = await t!.run(`x='a b'; printf '%s|' "$x" "it's"`);
  assert.is(r.stdout, "a b|it's|");
});

Run('large output (10 MB stdout, 1 MB stderr) arrives whole', async ({ t }) => {
  const r = await t!.run(`head -c 10485760 /dev/zero | tr '\\0' a; head -c 1048576 /dev/zero | tr '\\0' e >&2`);
  assert.is(r.code, 0);
  assert.is(r.stdout.length, 10 * 1024 * 1024);
  assert.is(r.stderr.length, 1024 * 1024);
  assert.ok(/^a+$/.test(r.stdout));
});

Run('stdin as a string round-trips', async ({ t }) => {
  const text = 'line one\nünïcødé ✓\nno newline at the end';
  assert.is((await t!.run('cat', { stdin: text })).stdout, text);
});

Run('stdin as a Buffer round-trips byte for byte (2 MB of random bytes)', async ({ t }) => {
  const bytes = randomBytes(2 * 1024 * 1024);
  const r = await t!.run('sha256sum', { stdin: bytes });
  assert.is(r.stdout.split(' ')[0], createHash('sha256').update(bytes).digest('hex'));
});

Run('without stdin the command reads end-of-file, not a hang', async ({ t }) => {
  assert.is((await t!.run('cat; echo done')).stdout, 'done\n');
});

Run('death by signal maps to 128+n and names the signal in stderr', async ({ t }) => {
  const r = await t!.run('kill -TERM $$');
  assert.is(r.code, 143);
  assert.match(r.stderr, /SIGTERM/);
});

Run('a command timeout rejects with TransportError quickly, the command is stopped on the host, the connection stays usable', async ({ f, t }) => {
  // A sleep no other process runs, to look for afterwards.
  const cmd = `sleep 30.${process.pid}`;
  const { error, ms } = await rejection(t!.run(cmd, { timeoutMs: 500 }));
  assert.instance(error, TransportError);
  assert.match(error.message, /command timed out after 0.5 s \(stopped on the host\)/);
  assert.match(error.message, /sleep 30/);
  assert.ok(ms < 2_000, `took ${ms} ms`);
  assert.is((await t!.run('echo still here')).stdout, 'still here\n');
  assert.ok(f!.server.commands.includes(withDeadline(cmd, 500)));
  assert.is((await t!.run(`pgrep -fx ${JSON.stringify(cmd)} || echo gone`)).stdout, 'gone\n');
});

Run('a command that exits 124 by itself before its deadline is a result, not a timeout', async ({ t }) => {
  assert.equal(await t!.run('exit 124', { timeoutMs: 5_000 }), { code: 124, stdout: '', stderr: '' });
});

Run('the default command timeout applies when the run gives none', async ({ f }) => {
  const t = await connectSsh(f!.opts({ commandTimeoutMs: 300 }));
  try {
    const { error } = await rejection(t.run('sleep 30'));
    assert.match(error.message, /timed out after 0.3 s/);
  } finally {
    await t.close();
  }
});

Run('concurrent commands beyond the server session limit queue instead of failing', async ({ f }) => {
  const t = await connectSsh(f!.opts());
  try {
    const results = await Promise.all(Array.from({ length: 35 }, (_, i) => t.run(`sleep 0.05; echo ${i}`)));
    assert.equal(results.map((r) => r.stdout), Array.from({ length: 35 }, (_, i) => `${i}\n`));
    assert.is(t.commandCount, 35);
  } finally {
    await t.close();
  }
});

Run('closing the transport fails the commands in flight at once', async ({ f }) => {
  const t = await connectSsh(f!.opts());
  const running = rejection(t.run('sleep 10'));
  await new Promise((r) => setTimeout(r, 200));
  await t.close();
  const { error, ms } = await running;
  assert.instance(error, TransportError);
  assert.match(error.message, /connection closed while the command ran/);
  assert.ok(ms < 1_000);
});

Run('commandCount counts runs; close is idempotent; runs after close reject', async ({ f }) => {
  const t = await connectSsh(f!.opts());
  await t.run('true');
  await t.run('false');
  assert.is(t.commandCount, 2);
  await t.close();
  await t.close();
  const { error, ms } = await rejection(t.run('true'));
  assert.instance(error, TransportError);
  assert.match(error.message, /connection is closed/);
  assert.ok(ms < 100);
});

Run.run();

// -------------------------------------------------------------------- many

const Many = suite<{ f?: Fixture }>('ssh: many connections', {});
Many.before(async (ctx) => {
  ctx.f = await fixture();
});
Many.after(async (ctx) => dispose(ctx.f));

Many('50 connections × 20 sequential commands, no MaxListenersExceededWarning', async ({ f }) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const transports: Transport[] = [];
  try {
    transports.push(...await Promise.all(Array.from({ length: 50 }, (_, i) => connectSsh(f!.opts({ host: `h${i}` })))));
    await Promise.all(transports.map(async (t, i) => {
      for (let n = 0; n < 20; n++) assert.is((await t.run(`echo ${i}.${n}`)).stdout, `${i}.${n}\n`);
    }));
    // Warnings are emitted on the next tick.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(warnings.filter((w) => /MaxListeners/.test(w)), []);
  } finally {
    process.off('warning', onWarning);
    await Promise.all(transports.map((t) => t.close()));
  }
});

Many.run();

// ------------------------------------------------------------- connection

const Conn = suite<{ f?: Fixture }>('ssh: connecting', {});
Conn.before(async (ctx) => {
  ctx.f = await fixture();
});
Conn.after(async (ctx) => dispose(ctx.f));

Conn('a closed port on 127.0.0.1 fails fast with ConnectError', async ({ f }) => {
  const port = await closedPort();
  const { error, ms } = await rejection(connectSsh(f!.opts({ port })));
  assert.instance(error, ConnectError);
  assert.match(error.message, new RegExp(`^web1: cannot connect to 127.0.0.1:${port}: connection refused`));
  assert.ok(ms < 1_000, `took ${ms} ms`);
});

Conn('a port that never answers the handshake times out within connectTimeoutMs', async ({ f }) => {
  const silent = await startSilentServer();
  try {
    const { error, ms } = await rejection(connectSsh(f!.opts({ port: silent.port, connectTimeoutMs: 500 })));
    assert.instance(error, ConnectError);
    assert.match(error.message, /timed out after 0.5 s connecting to 127.0.0.1:/);
    assert.ok(ms < 1_500, `took ${ms} ms`);
  } finally {
    await silent.close();
  }
});

Conn('a wrong key: authentication failed, naming the user and what was tried', async ({ f }) => {
  const wrong = join(f!.dir.path, 'id_wrong');
  writeFileSync(wrong, strangerKey.private, { mode: 0o600 });
  const { error } = await rejection(connectSsh(f!.opts({ identityFile: wrong, user: 'deploy' })));
  assert.instance(error, ConnectError);
  assert.not.instance(error, HostKeyError);
  assert.is(error.message, `web1: authentication failed for deploy (tried: key file ${wrong})`);
});

Conn('an unreadable or encrypted identity file is refused before connecting', async ({ f }) => {
  const before = f!.server.connections;
  const missing = join(f!.dir.path, 'nope');
  let { error } = await rejection(connectSsh(f!.opts({ identityFile: missing })));
  assert.match(error.message, new RegExp(`cannot use identity file ${missing}: ENOENT`));
  const encrypted = join(f!.dir.path, 'id_encrypted');
  writeFileSync(encrypted, keyPair('ed25519', 'secret').private, { mode: 0o600 });
  ({ error } = await rejection(connectSsh(f!.opts({ identityFile: encrypted }))));
  assert.instance(error, ConnectError);
  assert.match(error.message, /passphrase.*ssh-agent/);
  assert.is(f!.server.connections, before);
});

Conn('without identityFile: default keys under ~/.ssh are tried in order, encrypted ones skipped', async ({ f }) => {
  const home = join(f!.dir.path, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_ed25519'), strangerKey.private, { mode: 0o600 });
  writeFileSync(join(home, '.ssh', 'id_ecdsa'), keyPair('ecdsa', 'secret').private, { mode: 0o600 });
  const env = { HOME: home };
  const { error } = await rejection(connectSsh(f!.opts({ identityFile: undefined, env })));
  assert.is(error.message, `web1: authentication failed for tester (tried: key file ${home}/.ssh/id_ed25519 / key file ${home}/.ssh/id_ecdsa (encrypted, skipped))`);

  writeFileSync(join(home, '.ssh', 'id_rsa'), clientKey.private, { mode: 0o600 });
  const t = await connectSsh(f!.opts({ identityFile: undefined, env }));
  try {
    assert.is((await t.run('echo ok')).stdout, 'ok\n');
  } finally {
    await t.close();
  }
});

Conn('an ssh-agent at SSH_AUTH_SOCK is tried first', async ({ f }) => {
  if (!hasCommand('ssh-agent') || !hasCommand('ssh-add')) return;
  const sockPath = join(f!.dir.path, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sockPath], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !existsSync(sockPath); i++) await new Promise((r) => setTimeout(r, 20));
    execFileSync('ssh-add', ['-q', f!.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sockPath }, stdio: 'ignore' });
    const home = join(f!.dir.path, 'agent-home');
    mkdirSync(home);
    const t = await connectSsh(f!.opts({ identityFile: undefined, env: { HOME: home, SSH_AUTH_SOCK: sockPath } }));
    await t.close();
  } finally {
    agent.kill();
  }
});

Conn('an agent that cannot be reached is skipped, not fatal', async ({ f }) => {
  const home = join(f!.dir.path, 'dead-agent-home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_ed25519'), clientKey.private, { mode: 0o600 });
  const env = { HOME: home, SSH_AUTH_SOCK: join(f!.dir.path, 'no-agent.sock') };
  const t = await connectSsh(f!.opts({ identityFile: undefined, env }));
  await t.close();
  writeFileSync(join(home, '.ssh', 'id_ed25519'), strangerKey.private, { mode: 0o600 });
  const { error } = await rejection(connectSsh(f!.opts({ identityFile: undefined, env })));
  assert.is(error.message, `web1: authentication failed for tester (tried: agent / key file ${home}/.ssh/id_ed25519)`);
});

Conn('no credentials at all: ConnectError without contacting the host', async ({ f }) => {
  const before = f!.server.connections;
  const home = join(f!.dir.path, 'empty-home');
  mkdirSync(home);
  const { error } = await rejection(connectSsh(f!.opts({ identityFile: undefined, env: { HOME: home } })));
  assert.instance(error, ConnectError);
  assert.match(error.message, /no credentials to log in with/);
  assert.is(f!.server.connections, before);
});

Conn('a connection dropped mid-command rejects promptly; later runs reject fast', async ({ f }) => {
  const relay = await startRelay(f!.server.port);
  const t = await connectSsh(f!.opts({ port: relay.port, knownHostsFile: join(f!.dir.path, 'kh-relay'), acceptNewHostKeys: true }));
  try {
    const running = rejection(t.run('sleep 10'));
    const queued = Array.from({ length: 12 }, () => rejection(t.run('sleep 10')));
    await new Promise((r) => setTimeout(r, 300));
    relay.cut();
    const { error, ms } = await running;
    assert.instance(error, TransportError);
    assert.match(error.message, /connection lost/);
    assert.ok(ms < 1_500, `took ${ms} ms`);
    for (const q of await Promise.all(queued)) assert.instance(q.error, TransportError);
    const after = await rejection(t.run('true'));
    assert.instance(after.error, TransportError);
    assert.match(after.error.message, /connection lost/);
    assert.ok(after.ms < 100);
  } finally {
    await t.close();
    await relay.close();
  }
});

Conn.run();

// -------------------------------------------------------------- host keys

const Keys = suite<{ f?: Fixture }>('ssh: host keys', {});
Keys.before(async (ctx) => {
  ctx.f = await fixture();
});
Keys.after(async (ctx) => dispose(ctx.f));

Keys('an unknown host key is refused before any login attempt', async ({ f }) => {
  const kh = join(f!.dir.path, 'kh-empty');
  const attempts = f!.server.authAttempts;
  const { error } = await rejection(connectSsh(f!.opts({ knownHostsFile: kh })));
  assert.instance(error, HostKeyError);
  assert.is(error.message, `web1: host key for [127.0.0.1]:${f!.server.port} is not known (${fp(hostKey.blob)}); add it to known_hosts or run with --accept-new-host-keys`);
  assert.is(f!.server.authAttempts, attempts);
});

Keys('acceptNewHostKeys records an unknown key, which is then trusted', async ({ f }) => {
  const kh = join(f!.dir.path, 'kh-new', 'known_hosts');
  const t1 = await connectSsh(f!.opts({ knownHostsFile: kh, acceptNewHostKeys: true }));
  await t1.close();
  assert.is(readFileSync(kh, 'utf8'), khLine(f!.server.port, hostKey));
  const t2 = await connectSsh(f!.opts({ knownHostsFile: kh }));
  try {
    assert.is((await t2.run('echo trusted')).stdout, 'trusted\n');
  } finally {
    await t2.close();
  }
  assert.is(readFileSync(kh, 'utf8').split('\n').length, 2, 'recorded once');
});

Keys('the default known_hosts is ~/.ssh/known_hosts, created on accept-new', async ({ f }) => {
  const home = join(f!.dir.path, 'home-kh');
  const t = await connectSsh(f!.opts({ knownHostsFile: undefined, acceptNewHostKeys: true, env: { HOME: home } }));
  await t.close();
  assert.is(readFileSync(join(home, '.ssh', 'known_hosts'), 'utf8'), khLine(f!.server.port, hostKey));
});

Keys('a changed host key is refused, naming both fingerprints, even with acceptNewHostKeys', async ({ f }) => {
  const kh = join(f!.dir.path, 'kh-changed');
  const recorded = khLine(f!.server.port, strangerKey);
  writeFileSync(kh, recorded);
  const attempts = f!.server.authAttempts;
  for (const acceptNewHostKeys of [false, true]) {
    const { error } = await rejection(connectSsh(f!.opts({ knownHostsFile: kh, acceptNewHostKeys })));
    assert.instance(error, HostKeyError);
    assert.is(error.message,
      `web1: HOST KEY CHANGED for [127.0.0.1]:${f!.server.port}: known ${fp(strangerKey.blob)} (${kh}:1), presented ${fp(hostKey.blob)} — refusing to connect`);
  }
  assert.is(readFileSync(kh, 'utf8'), recorded, 'known_hosts untouched');
  assert.is(f!.server.authAttempts, attempts);
});

Keys('a hashed known_hosts entry is trusted', async ({ f }) => {
  const salt = randomBytes(20);
  const mac = createHmac('sha1', salt).update(`[127.0.0.1]:${f!.server.port}`).digest('base64');
  const kh = join(f!.dir.path, 'kh-hashed');
  writeFileSync(kh, `# hashed\n|1|${salt.toString('base64')}|${mac} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
  const t = await connectSsh(f!.opts({ knownHostsFile: kh }));
  await t.close();
});

Keys('a @revoked key is refused', async ({ f }) => {
  const kh = join(f!.dir.path, 'kh-revoked');
  writeFileSync(kh, `@revoked * ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n${khLine(f!.server.port, hostKey)}`);
  const { error } = await rejection(connectSsh(f!.opts({ knownHostsFile: kh, acceptNewHostKeys: true })));
  assert.instance(error, HostKeyError);
  assert.match(error.message, /@revoked/);
});

Keys('several known_hosts files are all read; a key in the second one is trusted', async ({ f }) => {
  const t = await connectSsh(f!.opts({ knownHostsFile: [join(f!.dir.path, 'kh-none'), f!.knownHostsFile] }));
  await t.close();
});

Keys('the recorded key type is asked for first (ECDSA recorded, server also has Ed25519)', async () => {
  const ecdsa = keyPair('ecdsa');
  const g = await fixture([hostKey, ecdsa]);
  try {
    writeFileSync(g.knownHostsFile, khLine(g.server.port, ecdsa));
    const t = await connectSsh(g.opts());
    await t.close();
  } finally {
    await dispose(g);
  }
});

Keys.run();

// ---------------------------------------------------------------- become

/**
 * A stand-in for sudo, first in the test server's PATH. It behaves as
 * sudo.mode (next to it) says: `nopasswd` runs the command; `password` wants
 * sudo.pass (prompting with -p on stderr, reading one line of stdin, three
 * tries; with -n it fails at once); `denied` refuses without prompting;
 * `password-denied` takes the password, then refuses. It logs what it was
 * given to read in sudo.log.
 */
const FAKE_SUDO = `#!/bin/sh
here=$(dirname "$0")
mode=$(cat "$here/sudo.mode")
nonint= prompt='Password: '
while [ $# -gt 0 ]; do
  case $1 in
    -n) nonint=1 ;;
    -S) ;;
    -p) prompt=$2; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
  shift
done
ask() {
  if [ -n "$nonint" ]; then echo 'sudo: a password is required' >&2; exit 1; fi
  expected=$(cat "$here/sudo.pass")
  tries=0
  while [ $tries -lt 3 ]; do
    printf '%s' "$prompt" >&2
    IFS= read -r line || { echo 'sudo: no password was provided' >&2; exit 1; }
    printf '%s\\n' "$line" >> "$here/sudo.log"
    [ "$line" = "$expected" ] && return 0
    echo 'Sorry, try again.' >&2
    tries=$((tries + 1))
  done
  echo 'sudo: 3 incorrect password attempts' >&2
  exit 1
}
case $mode in
  nopasswd) exec "$@" ;;
  denied) echo 'deploy is not in the sudoers file.  This incident will be reported.' >&2; exit 1 ;;
  password) ask; exec "$@" ;;
  password-denied) ask; echo 'Sorry, user deploy is not allowed to execute this as root.' >&2; exit 1 ;;
esac
echo "fake sudo: unknown mode $mode" >&2
exit 99
`;

const PASSWORD = 'pw-s3cret-Ünï';

const Become = suite<{ f?: Fixture; bin?: ReturnType<typeof tempDir> }>('ssh: become', {});
Become.before(async (ctx) => {
  ctx.bin = tempDir('play-sudo-');
  writeFileSync(join(ctx.bin.path, 'sudo'), FAKE_SUDO, { mode: 0o755 });
  ctx.f = await fixture([hostKey], { binDir: ctx.bin.path });
});
Become.after(async (ctx) => {
  try {
    await dispose(ctx.f);
  } finally {
    ctx.bin?.remove();
  }
});

/** Set the fake sudo's behaviour; return a reader of what it read as passwords. */
function sudoMode(bin: string, mode: 'nopasswd' | 'password' | 'denied' | 'password-denied', password = PASSWORD): () => string {
  writeFileSync(join(bin, 'sudo.mode'), mode);
  writeFileSync(join(bin, 'sudo.pass'), password);
  writeFileSync(join(bin, 'sudo.log'), '');
  return () => readFileSync(join(bin, 'sudo.log'), 'utf8');
}

async function withTransport(f: Fixture, extra: Partial<SshOptions>, body: (t: Transport) => Promise<void>): Promise<void> {
  const t = await connectSsh(f.opts({ user: 'deploy', become: true, ...extra }));
  try {
    await body(t);
  } finally {
    await t.close();
  }
}

/** No marker, prompt or password in anything the caller gets back. */
function clean(text: string): void {
  assert.not.match(text, /PLAY-BECOME-SUCCESS|sudo via play|key=/);
  assert.not.ok(text.includes(PASSWORD), 'the password leaked');
}

Become('without a password: sudo -n, stdin passes through untouched', async ({ f, bin }) => {
  sudoMode(bin!.path, 'nopasswd');
  await withTransport(f!, {}, async (t) => {
    const r = await t.run(`cat; echo "it's"`, { stdin: 'input\n' });
    assert.is(f!.server.commands.at(-1), becomeCommand(withDeadline(`cat; echo "it's"`, 300_000), { user: 'deploy', become: true }).command);
    assert.match(f!.server.commands.at(-1)!, /^sudo -n -- sh -c 'exec timeout -k 2 300 sh -c /);
    assert.equal(r, { code: 0, stdout: "input\nit's\n", stderr: '' });
  });
});

Become('without a password where sudo wants one: fails at once with sudo\'s reason, no hang', async ({ f, bin }) => {
  sudoMode(bin!.path, 'password');
  await withTransport(f!, { commandTimeoutMs: 3_000 }, async (t) => {
    const t0 = Date.now();
    const r = await t.run('cat', { stdin: 'input' });
    assert.equal(r, { code: 1, stdout: '', stderr: 'sudo: a password is required\n' });
    assert.ok(Date.now() - t0 < 1_000, `took ${Date.now() - t0} ms`);
  });
});

Become('with a password sudo asks for: it gets the password, the command gets exactly its input', async ({ f, bin }) => {
  const log = sudoMode(bin!.path, 'password');
  const file = join(bin!.path, 'written');
  await withTransport(f!, { becomePassword: PASSWORD }, async (t) => {
    const r = await t.run(`cat > ${file}; echo done; echo warn >&2`, { stdin: 'line 1\nline 2' });
    assert.equal(r, { code: 0, stdout: 'done\n', stderr: 'warn\n' });
    assert.is(readFileSync(file, 'utf8'), 'line 1\nline 2');
    assert.is(log(), `${PASSWORD}\n`, 'sudo read the password once');
    const command = f!.server.commands.at(-1)!;
    assert.match(command, /^sudo -S -p '\[sudo via play, key=[0-9a-f]{32}\] password:' -- sh -c /);
    assert.not.ok(command.includes(PASSWORD), 'the password is not on the command line');
  });
});

Become('with a password sudo does not ask for (NOPASSWD): the password is never sent', async ({ f, bin }) => {
  const log = sudoMode(bin!.path, 'nopasswd');
  const file = join(bin!.path, 'written-nopasswd');
  await withTransport(f!, { becomePassword: PASSWORD }, async (t) => {
    const r = await t.run(`cat > ${file}; cat ${file}`, { stdin: Buffer.from('payload\n') });
    assert.equal(r, { code: 0, stdout: 'payload\n', stderr: '' });
    assert.is(readFileSync(file, 'utf8'), 'payload\n');
    assert.is(log(), '');
    // Without input the command reads end-of-file, not the password.
    assert.equal(await t.run('cat; echo eof'), { code: 0, stdout: 'eof\n', stderr: '' });
  });
});

Become('with a password: results are the command\'s own, byte for byte, markers stripped', async ({ f, bin }) => {
  for (const mode of ['password', 'nopasswd'] as const) {
    sudoMode(bin!.path, mode);
    await withTransport(f!, { becomePassword: PASSWORD }, async (t) => {
      const tricky = `x='a b'; printf '%s|' "$x" "it's" '"$0"' "$#"; echo; echo err >&2; exit 3`;
      const plain = await connectSsh(f!.opts());
      try {
        const want = await plain.run(tricky);
        assert.is(want.stdout, `a b|it's|"$0"|0|\n`);
        assert.equal(await t.run(tricky), want, mode);
      } finally {
        await plain.close();
      }
      const bytes = randomBytes(2 * 1024 * 1024);
      const r = await t.run('sha256sum; head -c 3000000 /dev/zero | tr "\\0" a', { stdin: bytes });
      assert.is(r.stdout.slice(0, 64), createHash('sha256').update(bytes).digest('hex'), mode);
      assert.is(r.stdout.length, 64 + 4 + 3_000_000);
      assert.is(r.stderr, '');
      clean(r.stdout.slice(0, 200));
    });
  }
});

Become('markers are new for every command', async ({ f, bin }) => {
  sudoMode(bin!.path, 'password');
  await withTransport(f!, { becomePassword: PASSWORD }, async (t) => {
    await t.run('true');
    await t.run('true');
    const [a, b] = f!.server.commands.slice(-2);
    assert.ok(a && b && a !== b);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => t.run(`cat; echo ${i}`, { stdin: `${i}:` })));
    assert.equal(results.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `${i}:${i}\n`));
    for (const r of results) clean(r.stderr);
  });
});

Become('a wrong password: TransportError "sudo password rejected", password nowhere, connection still usable', async ({ f, bin }) => {
  const log = sudoMode(bin!.path, 'password', 'the-right-one');
  const file = join(bin!.path, 'written-wrong');
  await withTransport(f!, { becomePassword: PASSWORD, commandTimeoutMs: 3_000 }, async (t) => {
    const { error, ms } = await rejection(t.run(`cat > ${file}`, { stdin: 'payload' }));
    assert.instance(error, TransportError);
    assert.is(error.message, `web1: sudo password rejected for deploy on web1 (command: cat > ${file})`);
    clean(error.message);
    clean(String(error.stack));
    clean(JSON.stringify(error));
    assert.ok(ms < 1_000, `took ${ms} ms`);
    assert.is(log(), `${PASSWORD}\n`, 'sent once, not retried');
    assert.not.ok(existsSync(file), 'the command never ran');
    sudoMode(bin!.path, 'nopasswd');
    assert.is((await t.run('echo still here')).stdout, 'still here\n');
  });
});

Become('sudo refusing without a prompt: its reason is the result', async ({ f, bin }) => {
  sudoMode(bin!.path, 'denied');
  await withTransport(f!, { becomePassword: PASSWORD, commandTimeoutMs: 3_000 }, async (t) => {
    const r = await t.run('cat', { stdin: 'input' });
    assert.equal(r, { code: 1, stdout: '', stderr: 'deploy is not in the sudoers file.  This incident will be reported.\n' });
  });
});

Become('sudo refusing after taking the password: its reason is the result, without the prompt', async ({ f, bin }) => {
  const log = sudoMode(bin!.path, 'password-denied');
  await withTransport(f!, { becomePassword: PASSWORD, commandTimeoutMs: 3_000 }, async (t) => {
    const r = await t.run('cat', { stdin: 'input' });
    assert.equal(r, { code: 1, stdout: '', stderr: 'Sorry, user deploy is not allowed to execute this as root.\n' });
    assert.is(log(), `${PASSWORD}\n`);
  });
});

Become('a password with a line break is refused before running anything', async ({ f }) => {
  const before = f!.server.commands.length;
  await withTransport(f!, { becomePassword: 'two\nlines' }, async (t) => {
    const { error } = await rejection(t.run('true'));
    assert.instance(error, TransportError);
    assert.match(error.message, /line break/);
    assert.not.match(error.message, /two|lines\b/);
  });
  assert.is(f!.server.commands.length, before);
});

Become('as root, become adds no sudo', async ({ f }) => {
  const t = await connectSsh(f!.opts({ user: 'root', become: true, becomePassword: PASSWORD }));
  try {
    assert.is((await t.run('cat', { stdin: 'x' })).stdout, 'x');
    assert.is(f!.server.commands.at(-1), withDeadline('cat', 300_000));
  } finally {
    await t.close();
  }
});

Become.run();
