/**
 * A real SSH server for the transport specs, in-process on 127.0.0.1 only:
 * ssh2's own Server, public-key login, and `exec` run with `/bin/sh -c`.
 * Commands starting with `sudo ` are never run as given: without `binDir` the
 * server answers them by echoing back the input it received; with it, they
 * run with `binDir` first in PATH, where the spec puts a fake `sudo`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey } from 'ssh2';

export interface KeyPair {
  /** OpenSSH private key text. */
  private: string;
  /** OpenSSH public key line. */
  public: string;
  /** The public key blob, as presented on the wire. */
  blob: Buffer;
}

export function keyPair(type: 'ed25519' | 'ecdsa' = 'ed25519', passphrase?: string): KeyPair {
  const encryption: { passphrase: string; cipher: string; rounds: number } | { comment?: string } = passphrase
    ? { passphrase, cipher: 'aes256-ctr', rounds: 16 }
    : {};
  // ssh2's generator drops a leading zero byte of an ed25519 public key (as
  // if it were a bignum): about 1 key in 120 comes out malformed
  // ("AAAAH…", a 31-byte key) and a spec using it fails at random. Draw again.
  for (;;) {
    const kp = type === 'ecdsa'
      ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256, ...encryption })
      : ssh2.utils.generateKeyPairSync('ed25519', encryption);
    const pub = ssh2.utils.parseKey(kp.public);
    if (pub instanceof Error) continue;
    return { private: kp.private, public: kp.public, blob: parsed(kp.public).getPublicSSH() };
  }
}

function parsed(key: string): ParsedKey {
  const k = ssh2.utils.parseKey(key);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0] : k;
}

export interface TestServer {
  readonly port: number;
  /** Every exec command received, in order. */
  readonly commands: string[];
  /** Authentication requests received (any method), over all connections. */
  authAttempts: number;
  /** TCP connections accepted. */
  connections: number;
  /** `host:port` of every TCP channel a client asked this server to open (forwarding). */
  readonly forwards: string[];
  close(): Promise<void>;
}

export interface ServerOptions {
  hostKeys: KeyPair[];
  /** The only client key allowed to log in. */
  clientKey: KeyPair;
  /** Sessions allowed at once per connection, like sshd's MaxSessions. @default 10 */
  maxSessions?: number;
  /** A directory holding a fake `sudo`, put first in the PATH of every command. */
  binDir?: string;
  /** Open TCP channels to 127.0.0.1 for clients (`direct-tcpip`, what a jump host does for ProxyJump). @default false */
  forwarding?: boolean;
}

export async function startSshServer(o: ServerOptions): Promise<TestServer> {
  const allowed = parsed(o.clientKey.public);
  const children = new Set<ChildProcess>();
  const clients = new Set<Connection>();
  const maxSessions = o.maxSessions ?? 10;
  const state = { commands: [] as string[], authAttempts: 0, connections: 0, forwards: [] as string[] };

  const server = new ssh2.Server({ hostKeys: o.hostKeys.map((k) => k.private) }, (client) => {
    state.connections++;
    clients.add(client);
    // ssh2 has it (lib/server.js), @types/ssh2 does not. Without it each command waits on delayed ACKs.
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    let sessions = 0;
    client.on('error', () => {});
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      state.authAttempts++;
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const data = allowed.getPublicSSH();
      const same = ctx.key.data.length === data.length && timingSafeEqual(ctx.key.data, data);
      if (!same || (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true)) return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('tcpip', (accept, reject, info) => {
      state.forwards.push(`${info.destIP}:${info.destPort}`);
      // Loopback only, whatever a client asks for.
      if (!o.forwarding || info.destIP !== '127.0.0.1') return reject();
      const tcp = net.connect(info.destPort, info.destIP);
      let accepted = false;
      tcp.on('error', () => { if (!accepted) reject(); });
      tcp.on('connect', () => {
        accepted = true;
        const channel = accept();
        channel.on('error', () => tcp.destroy());
        channel.pipe(tcp).pipe(channel);
        channel.on('close', () => tcp.destroy());
        tcp.on('close', () => channel.destroy());
      });
    });
    client.on('session', (accept, reject) => {
      if (sessions >= maxSessions) return reject();
      sessions++;
      const session = accept();
      let counted = true;
      const done = () => {
        if (counted) sessions--;
        counted = false;
      };
      session.on('close', done);
      session.on('exec', (acceptExec, _reject, info) => {
        state.commands.push(info.command);
        const stream = acceptExec();
        forgetSentChunks(stream);
        stream.on('close', done);
        if (info.command.startsWith('sudo ') && o.binDir && !existsSync(join(o.binDir, 'sudo'))) {
          // Never the real sudo.
          stream.stderr.write(`test server: no fake sudo in ${o.binDir}\n`);
          stream.exit(127);
          stream.end();
          return;
        }
        if (info.command.startsWith('sudo ') && !o.binDir) {
          const input: Buffer[] = [];
          stream.on('data', (b: Buffer) => input.push(b));
          stream.on('end', () => {
            stream.write(Buffer.concat(input));
            stream.exit(0);
            stream.end();
          });
          return;
        }
        const env = o.binDir ? { ...process.env, PATH: `${o.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}` } : process.env;
        const child = spawn('/bin/sh', ['-c', info.command], { detached: true, stdio: 'pipe', env });
        children.add(child);
        child.stdin.on('error', () => {});
        stream.pipe(child.stdin);
        // Flowing, not piped: a piped stderr paused by backpressure could still
        // hold data when the child's 'close' ends the channel (write after end).
        // In flowing mode every chunk arrives before 'close'.
        child.stdout.on('data', (b: Buffer) => { if (!stream.writableEnded) stream.write(b); });
        child.stderr.on('data', (b: Buffer) => { if (!stream.writableEnded) stream.stderr.write(b); });
        child.on('close', (code, signal) => {
          children.delete(child);
          // Ending the channel flushes stdout only: stderr is ssh2's own
          // Writable, and what it still holds waiting for the window is dropped
          // once stdout's end sends EOF. So both are flushed first, and the
          // exit status goes after all the output, as sshd sends it.
          void Promise.all([flushed(stream, stream), flushed(stream.stderr, stream)]).then(() => {
            if (signal) stream.exit(signal.replace(/^SIG/, ''), false, '');
            else stream.exit(code ?? 255);
            stream.end();
          });
        });
        // A client that gives up on a command (timeout) closes the channel: stop the process too.
        stream.on('close', () => kill(child));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return Object.assign(state, {
    port,
    async close() {
      for (const c of children) kill(c);
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/**
 * ssh2 1.17 keeps a write it resumed after a window adjust in `_chunk` once
 * it went out. When stderr then waits for the window, the next adjust
 * (server.js, CHANNEL_WINDOW_ADJUST) writes that stdout chunk again and calls
 * its callback a second time: the channel is destroyed before the exit status
 * goes out (a client saw "the command ended without an exit status" about
 * once in 30 runs of 10 MB stdout then 1 MB stderr). sshd has no such bug, and
 * the client side writes no stderr, so this mends the test server only.
 */
function forgetSentChunks(channel: Duplex): void {
  type Parked = Record<'_chunk' | '_chunkcb' | '_chunkErr' | '_chunkcbErr', unknown>;
  type Write = (data: Buffer, encoding: BufferEncoding | null, cb: (e?: Error | null) => void) => void;
  const parked = channel as unknown as Parked;
  const mend = (w: { _write: Write }, chunk: '_chunk' | '_chunkErr', cb: '_chunkcb' | '_chunkcbErr') => {
    const write = w._write.bind(w);
    // A write's callback runs once all of it went out; whatever is parked then is that write's.
    w._write = (data, encoding, done) => write(data, encoding, (e) => {
      parked[chunk] = undefined;
      parked[cb] = undefined;
      done(e);
    });
  };
  mend(channel as unknown as { _write: Write }, '_chunk', '_chunkcb');
  mend((channel as unknown as { stderr: { _write: Write } }).stderr, '_chunkErr', '_chunkcbErr');
}

/**
 * Resolves once every write so far on `w` went out, or the channel closed (a
 * client that gave up): ssh2 never calls a write's callback on a closed channel.
 */
function flushed(w: Writable, channel: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (w.writableEnded || w.destroyed || channel.destroyed) return resolve();
    channel.once('close', () => resolve());
    // Callbacks run in write order: this one runs after every earlier write's.
    w.write(Buffer.alloc(0), () => resolve());
  });
}

function kill(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A TCP relay in front of a server, to cut connections the hard way. */
export interface Relay {
  readonly port: number;
  /** Destroy every relayed connection, both sides, without an SSH goodbye. */
  cut(): void;
  /** Stop passing bytes on the connections relayed so far, closing nothing: a silently dead network. New connections still pass. */
  freeze(): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const pairs = new Set<[net.Socket, net.Socket]>();
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    track(inbound);
    track(outbound);
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.on('close', () => pairs.delete(pair));
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: (relay.address() as net.AddressInfo).port,
    cut,
    freeze() {
      for (const [inbound, outbound] of pairs) {
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
      }
      pairs.clear();
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}

/** A TCP port that accepts connections and never says a word. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A temporary directory and its removal. */
export function tempDir(prefix = 'play-ssh-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
