/**
 * The SSH transport: one connection per host, one exec channel per command.
 * The only importer of ssh2-promise (and of ssh2, for what it lacks).
 *
 * ssh2-promise gives the connection; commands go through its `spawn()`, which
 * hands back the raw ssh2 channel, because its `exec()` throws the exit status
 * away and rejects on any stderr. We use its single-connection class
 * (`SSH2Promise.SSH`) rather than `SSH2Promise` itself: the latter either
 * shares connections through a process-wide cache keyed by user@host:port
 * (a failed connection would be served again, and two transports to one host
 * would share one), or, with the cache disabled, opens a new connection for
 * every `spawn()`. Its reconnect loop is turned off: a host that is down must
 * say so within the connect timeout, not after ten retries 5 s apart.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { connect as netConnect, Socket as NetSocket, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthHandlerMiddleware, AuthenticationType, ClientChannel, ParsedKey, ServerHostKeyAlgorithm } from 'ssh2';
import SSH2Promise from 'ssh2-promise';
import { ConnectError, HostKeyError, TransportError } from '../core/errors.ts';
import { quote } from '../core/shell.ts';
import type { RunOptions, RunResult, Transport } from '../core/transport.ts';
import {
  appendKnownHost, checkHostKey, hostLookupName, knownHostsLine, lookupKnownHost, readKnownHostsFiles,
  type HostKeyCheck,
} from './known-hosts.ts';
import { exitResult } from './local.ts';

/** How to reach and log in to one host. */
export interface SshOptions {
  /** Inventory name of the host, for messages. */
  readonly host: string;
  /** Name or IP address to connect to; also the name looked up in known_hosts. */
  readonly address: string;
  /** @default 22 */
  readonly port?: number;
  /** @default 'root' */
  readonly user?: string;
  /**
   * Private key file (unencrypted). When absent: the ssh-agent at
   * `$SSH_AUTH_SOCK`, then whichever of `~/.ssh/id_ed25519`, `id_ecdsa`,
   * `id_rsa` exist.
   */
  readonly identityFile?: string;
  /** Files trusted host keys are read from; new keys go to the first. @default '~/.ssh/known_hosts' */
  readonly knownHostsFile?: string | readonly string[];
  /**
   * Trust a host with no recorded key and record its key (OpenSSH's
   * `StrictHostKeyChecking=accept-new`). A changed key is refused regardless.
   * @default false
   */
  readonly acceptNewHostKeys?: boolean;
  /** Time allowed for TCP connect, SSH handshake and login together (each hop through a jump host gets as much). @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Per-command timeout when RunOptions.timeoutMs is absent. @default 300_000 */
  readonly commandTimeoutMs?: number;
  /** Run commands through sudo (not when `user` is root). @default false */
  readonly become?: boolean;
  /**
   * sudo password, written to sudo only when it asks for one (a sudo that
   * needs none never sees it, and neither does the command); never logged.
   */
  readonly becomePassword?: string;
  /**
   * Commands running at once on the connection; more wait their turn.
   * OpenSSH's sshd refuses an 11th session by default (`MaxSessions 10`).
   * @default 10
   */
  readonly maxChannels?: number;
  /** Where `HOME` and `SSH_AUTH_SOCK` are read from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Reach the host through another one (OpenSSH's ProxyJump): play logs in
   * to the jump host, checks its host key like any host's (same
   * `acceptNewHostKeys`), then opens a TCP channel from it to
   * `address:port` (ssh2's forwardOut) and logs in to the host over that.
   * A jump host may have its own `jump`. Closing the connection closes the
   * jump host's too.
   */
  readonly jump?: SshJump;
}

/** How to log in to a jump host: the connection settings of SshOptions that are its own. */
export type SshJump = Pick<SshOptions, 'address' | 'port' | 'user' | 'identityFile' | 'knownHostsFile' | 'jump'>;

/**
 * Open an SSH connection to a host and return it as a {@link Transport}.
 * Rejects with {@link HostKeyError} when the host key is not trusted (before
 * any login attempt), and with {@link ConnectError} when the host cannot be
 * reached or refuses every credential.
 *
 * @example
 * ```ts
 * import { connectSsh } from './ssh.ts';
 * const t = await connectSsh({ host: 'LB1', address: '10.0.0.11', user: 'deploy', become: true });
 * const { code, stdout } = await t.run('cat /etc/hostname');
 * await t.close();
 * ```
 */
export async function connectSsh(o: SshOptions): Promise<SshConnection> {
  const env = o.env ?? process.env;
  const home = env.HOME || homedir();
  const port = o.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new ConnectError(o.host, `port ${port} is not a TCP port`);
  const user = o.user ?? 'root';
  const connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
  const knownHostsFiles = knownHostsFilesOf(o, home);
  if (knownHostsFiles.length === 0) throw new ConnectError(o.host, 'knownHostsFile is an empty list: no host key could ever be trusted');

  const credentials = await loadCredentials(o.host, o.identityFile, env.SSH_AUTH_SOCK, home);
  const auth = authSequence(user, credentials);
  const guard = hostKeyGuard(o.host, o.address, port, knownHostsFiles, o.acceptNewHostKeys ?? false);

  // Our own socket, only to turn Nagle off: a command is a handful of small
  // packets each way, and Nagle with delayed ACKs added ~40 ms to every one.
  // Through a jump host: a channel of its connection instead.
  const via = o.jump ? await connectSsh({
    ...o.jump, host: `${o.host} (jump host ${o.jump.address}:${o.jump.port ?? 22})`,
    acceptNewHostKeys: o.acceptNewHostKeys, connectTimeoutMs, env: o.env,
  }) as SshTransport : undefined;
  let sock: Socket | Duplex;
  try {
    sock = via ? await via.forward(o.host, o.address, port) : netConnect({ host: o.address, port, noDelay: true });
  } catch (e) {
    await via?.close();
    throw e;
  }
  const ssh = new SSH2Promise.SSH({
    host: o.address,
    port,
    sock,
    username: user,
    readyTimeout: connectTimeoutMs,
    reconnect: false,
    hostVerifier: guard.verify,
    authHandler: auth.handler,
    algorithms: { serverHostKey: hostKeyAlgorithms(knownHostsFiles, o.address, port) },
    // Without these a silently dead network (no RST) would hang a command
    // until its own timeout; with them it is noticed within a minute.
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
  });
  const transport = new SshTransport(ssh, sock, o.host, user, o, guard, via);

  // ssh2-promise rejects with the last error seen; the first one is the cause
  // (a handshake timeout is followed by "Connection lost before handshake").
  const errors: Error[] = [];
  const onEvent = (status: string, _conn: unknown, payload?: { err?: Error | null }) => {
    if (status === 'disconnect' && payload?.err) errors.push(payload.err);
  };
  ssh.on('ssh', onEvent);
  const connecting = ssh.connect();
  let timer: NodeJS.Timeout | undefined;
  // ssh2's readyTimeout should fire first; this bounds anything it misses.
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError(o.host, `timed out after ${connectTimeoutMs / 1000} s connecting to ${o.address}:${port}`)), connectTimeoutMs + 1_000);
  });
  try {
    await Promise.race([connecting, overdue]);
  } catch (e) {
    connecting.catch(() => {});
    sock.destroy();
    await transport.close();
    // An agent that cannot be reached is skipped, not the reason for failing.
    const cause = errors.find((x) => (x as Ssh2Error).level !== 'agent') ?? e;
    throw e instanceof ConnectError ? e : connectFailure(cause, {
      host: o.host, where: `${o.address}:${port}`, address: o.address, user, connectTimeoutMs, guard, auth,
    });
  } finally {
    clearTimeout(timer);
    ssh.off('ssh', onEvent);
  }
  return transport;
}

/**
 * An open SSH connection: a {@link Transport} that can also say which host
 * key it was opened with and whether the peer still answers, which is what
 * play's connection agent needs before it hands a kept connection to a new run.
 */
export interface SshConnection extends Transport {
  /** The host key the server presented (and known_hosts trusted) at login. */
  readonly hostKey: Buffer;
  /** The jump host's connection this one runs through (SshOptions.jump), if any. */
  readonly via?: SshConnection;
  /** True while the connection is logged in and not closed or lost. */
  readonly isOpen: boolean;
  /**
   * Resolves true when the server answers an SSH keepalive within
   * `timeoutMs`: one round trip, no command run, nothing logged on the host.
   */
  alive(timeoutMs: number): Promise<boolean>;
}

function knownHostsFilesOf(o: SshOptions, home: string): string[] {
  return o.knownHostsFile === undefined ? [join(home, '.ssh', 'known_hosts')]
    : typeof o.knownHostsFile === 'string' ? [o.knownHostsFile] : [...o.knownHostsFile];
}

/**
 * Whether known_hosts (as configured in `o`) still trusts `key` for the host,
 * and each jump host's key (of `via`, the connection's jump host): a kept
 * connection is only reused while it does, so removing or changing a host's
 * entry takes effect on the next run, as it would without reuse.
 *
 * @example
 * ```ts
 * import { connectSsh, hostKeyStillTrusted } from './ssh.ts';
 * const o = { host: 'LB1', address: '10.0.0.11' };
 * const conn = await connectSsh(o);
 * if (!hostKeyStillTrusted(o, conn.hostKey)) await conn.close();
 * ```
 */
export function hostKeyStillTrusted(o: SshOptions, key: Buffer, via?: SshConnection): boolean {
  const env = o.env ?? process.env;
  try {
    if (checkHostKey(readKnownHostsFiles(knownHostsFilesOf(o, env.HOME || homedir())), o.address, o.port ?? 22, key).status !== 'trusted') return false;
  } catch {
    return false;
  }
  // Each jump host's key too: an edited known_hosts entry for it counts as much as the host's own.
  if (!o.jump) return true;
  return !!via && hostKeyStillTrusted({ ...o.jump, host: o.host, env }, via.hostKey, via.via);
}

/** How long after the TERM the host's `timeout` sends KILL. */
const KILL_AFTER_S = 2;
/** The controller's own timer waits this long past a deadline for the host's word on it. */
const DEADLINE_GRACE_MS = (KILL_AFTER_S + 1) * 1000;

/**
 * `cmd` stopped on the host at its deadline: coreutils' `timeout` sends TERM
 * to the command's whole process group, then KILL 2 s later, and exits 124
 * (137 after KILL). Without it, a command the controller gave up on would go
 * on running on the host, holding one of sshd's sessions, since closing the
 * channel only closes the command's pipes.
 *
 * @example
 * ```ts
 * import { withDeadline } from './ssh.ts';
 * withDeadline('sleep 30', 500); // => "exec timeout -k 2 0.5 sh -c 'sleep 30'"
 * ```
 */
export function withDeadline(cmd: string, timeoutMs: number): string {
  return `exec timeout -k ${KILL_AFTER_S} ${timeoutMs / 1000} sh -c ${quote(cmd)}`;
}

/** How a command runs with privilege escalation: see {@link becomeCommand}. */
export interface BecomeCommand {
  /** The command line to execute. */
  command: string;
  /**
   * With a password: the prompt sudo was told to print on stderr when it wants
   * the password, and the line the wrapped shell prints on stdout once sudo has
   * let it run. Both are random per command, so no output can fake them.
   */
  markers?: { prompt: string; success: string };
}

/**
 * The command line that runs `cmd` with privilege escalation. Root needs no
 * sudo. Without a password, `sudo -n` fails at once rather than prompting.
 * With one, it is done as Ansible does: `sudo -S` prints a random prompt on
 * stderr if (and only if) it wants the password, and the shell it starts
 * prints a random success line before running `cmd`, so the caller writes the
 * password only when asked and the command's input only once sudo is done
 * reading — a host whose sudo needs no password never gets it as input.
 *
 * @example
 * ```ts
 * import { becomeCommand } from './ssh.ts';
 * becomeCommand('id -u', { user: 'deploy', become: true });
 * // => { command: "sudo -n -- sh -c 'id -u'" }
 * becomeCommand('id -u', { user: 'deploy', become: true, becomePassword: 'pw' }, { prompt: 'P', success: 'OK' });
 * // => { command: `sudo -S -p P -- sh -c 'echo OK; exec sh -c "$0"' 'id -u'`, markers: { prompt: 'P', success: 'OK' } }
 * ```
 */
export function becomeCommand(
  cmd: string,
  o: { user?: string; become?: boolean; becomePassword?: string },
  markers: { prompt: string; success: string } = becomeMarkers(),
): BecomeCommand {
  if (!o.become || (o.user ?? 'root') === 'root') return { command: cmd };
  if (o.becomePassword === undefined) return { command: `sudo -n -- sh -c ${quote(cmd)}` };
  // `$0` of the outer shell is `cmd`; the inner shell gets `sh` as its own $0, as without a password.
  const wrapper = `echo ${markers.success}; exec sh -c "$0"`;
  return { command: `sudo -S -p ${quote(markers.prompt)} -- sh -c ${quote(wrapper)} ${quote(cmd)}`, markers };
}

/** Fresh random markers. No `%` (sudo expands %u, %h… in prompts), nothing a shell would touch in `echo`. */
function becomeMarkers(): { prompt: string; success: string } {
  const key = randomBytes(16).toString('hex');
  return { prompt: `[sudo via play, key=${key}] password:`, success: `PLAY-BECOME-SUCCESS-${key}` };
}

/** Where sudo stands in a command's run, when a password is configured. */
interface BecomeState {
  readonly prompt: Buffer;
  /** The success line, newline included. */
  readonly success: Buffer;
  readonly password: string;
  /** stdout and stderr received before the success line. */
  out: Buffer;
  err: Buffer;
  /** Where the next search for the prompt in `err` starts. */
  scanned: number;
  prompts: number;
}

type State = 'connecting' | 'open' | 'lost' | 'closed';
/** How long a closing connection may wait for the peer's goodbye before its socket is dropped. */
const CLOSE_GRACE_MS = 1_000;
type Connection = InstanceType<typeof SSH2Promise.SSH>;

/** The parts of ssh2's Client that ssh2-promise hides and a keepalive needs. */
interface RawClient {
  _callbacks?: Array<(failed: boolean) => void>;
  _protocol?: { ping(): void };
}

class SshTransport implements SshConnection {
  private state: State = 'connecting';
  private lostReason = 'connection lost';
  private count = 0;
  private shutdown: Promise<void> | undefined;
  /** Aborts of the commands in flight: a dropped connection fails them all at once. */
  private readonly inflight = new Set<(reason: string) => void>();
  private active = 0;
  private readonly waiting: Array<(granted: boolean) => void> = [];
  private readonly maxChannels: number;
  private readonly commandTimeoutMs: number;

  constructor(
    private readonly ssh: Connection, private readonly sock: Socket | Duplex, readonly host: string, private readonly user: string, private readonly o: SshOptions,
    private readonly guard: HostKeyGuard, readonly via?: SshTransport,
  ) {
    this.maxChannels = Math.max(1, o.maxChannels ?? 10);
    this.commandTimeoutMs = o.commandTimeoutMs ?? 300_000;
    // One listener for the connection's whole life, not one per command: no
    // MaxListenersExceededWarning however many commands run.
    ssh.on('ssh', (status: string, _conn: unknown, payload?: { err?: Error | null }) => {
      // Emitted synchronously on ssh2's 'ready', so no drop can slip in
      // between login and the transport counting itself open.
      if (status === 'connect' && this.state === 'connecting') this.state = 'open';
      else if (status === 'disconnect') this.lose(payload?.err);
    });
  }

  get commandCount(): number {
    return this.count;
  }

  get hostKey(): Buffer {
    return this.guard.presented() ?? Buffer.alloc(0);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  alive(timeoutMs: number): Promise<boolean> {
    // ssh2 keeps no public ping; its own keepalive does exactly this: queue a
    // reply callback and send `keepalive@openssh.com` with want-reply. Any
    // reply (success or failure) proves the peer is there.
    const client = (this.ssh as unknown as { sshConnection?: RawClient }).sshConnection;
    if (this.state !== 'open' || !client?._callbacks || !client._protocol) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      client._callbacks!.push(() => { clearTimeout(timer); resolve(true); });
      try {
        client._protocol!.ping();
      } catch {
        clearTimeout(timer);
        resolve(false);
      }
    });
  }

  async run(cmd: string, o: RunOptions = {}): Promise<RunResult> {
    this.count++;
    if (this.state !== 'open') throw this.unusable(cmd);
    const password = this.o.becomePassword;
    const timeoutMs = o.timeoutMs ?? this.commandTimeoutMs;
    // The deadline inside sudo: the timeout runs as the command's own user and can stop it.
    const { command, markers } = becomeCommand(withDeadline(cmd, timeoutMs), { user: this.user, become: this.o.become, becomePassword: password });
    // sudo -S reads the password up to the first line break.
    if (markers && /[\r\n]/.test(password!)) throw new TransportError(this.host, cmd, 'the become password contains a line break, which sudo cannot read');
    const become: BecomeState | undefined = markers && {
      prompt: Buffer.from(markers.prompt), success: Buffer.from(`${markers.success}\n`), password: password!,
      out: Buffer.alloc(0), err: Buffer.alloc(0), scanned: 0, prompts: 0,
    };
    if (!(await this.acquire())) throw this.unusable(cmd);
    try {
      // The slot may have been handed over just as the connection went away.
      if (this.state !== 'open') throw this.unusable(cmd);
      return await this.exec(cmd, command, o.stdin ?? '', timeoutMs, become);
    } finally {
      this.release();
    }
  }

  close(): Promise<void> {
    if (this.state === 'open' || this.state === 'connecting') this.state = 'closed';
    this.failAll('connection closed while the command ran');
    this.shutdown ??= this.ssh.close().then(() => {}, () => {}).then(() => this.releaseSocket()).then(() => this.via?.close());
    return this.shutdown;
  }

  /** A TCP channel from this host to `address:port`, for `host`'s connection through it (ProxyJump). */
  forward(host: string, address: string, port: number): Promise<Duplex> {
    const client = (this.ssh as unknown as { sshConnection?: ssh2.Client }).sshConnection;
    return new Promise((resolve, reject) => {
      if (this.state !== 'open' || !client) return reject(new ConnectError(host, `jump host ${this.o.address} is not connected`));
      client.forwardOut('127.0.0.1', 0, address, port, (err, channel) => (err
        ? reject(new ConnectError(host, `jump host ${this.o.address} could not open a channel to ${address}:${port}: ${err.message}`))
        : resolve(channel)));
    });
  }

  /**
   * ssh2 ends the socket politely (disconnect message, then FIN) and leaves
   * it open until the peer answers. A peer that is gone (link down, host
   * powered off) never does: the socket would sit in FIN-WAIT-1 for many
   * minutes, keeping the whole process alive after its work is done. Give
   * the goodbye a moment, then drop the socket with a reset, so the kernel
   * does not go on retrying the FIN either.
   */
  private releaseSocket(): Promise<void> {
    const sock = this.sock;
    // A jump host's channel: closing it is a message on that connection, which closes next.
    if (!(sock instanceof NetSocket)) return Promise.resolve(void sock.destroy());
    if (sock.closed) return Promise.resolve();
    const drop = () => { if (!sock.destroyed) sock.resetAndDestroy(); };
    if (this.state === 'lost') drop();
    return new Promise((resolve) => {
      const timer = setTimeout(drop, CLOSE_GRACE_MS);
      sock.once('close', () => { clearTimeout(timer); resolve(); });
    });
  }

  private lose(err: Error | null | undefined): void {
    if (this.state !== 'open') return;
    this.state = 'lost';
    this.lostReason = `connection lost: ${err?.message || 'closed by the remote end'}`;
    this.failAll(this.lostReason);
    void this.close();
  }

  private failAll(reason: string): void {
    for (const abort of [...this.inflight]) abort(reason);
    for (const wake of this.waiting.splice(0)) wake(false);
  }

  private unusable(cmd: string): TransportError {
    return new TransportError(this.host, cmd, this.deadReason('connection is closed'));
  }

  private deadReason(closed: string): string {
    return this.state === 'lost' ? this.lostReason : closed;
  }

  private acquire(): Promise<boolean> {
    if (this.active < this.maxChannels) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hand the slot to the next waiting command, if any. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next(true);
    else this.active--;
  }

  /**
   * Run `command` on a new channel. With `become`, sudo is watched: the
   * password goes out when its prompt shows on stderr (a second prompt means
   * it was refused), and the command's input once the success line shows on
   * stdout; neither marker is returned. If sudo gives up without the success
   * line, its own output is the result, so the caller sees why.
   */
  private exec(cmd: string, command: string, stdin: string | Uint8Array, timeoutMs: number, become?: BecomeState): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let exit: { code: number | null; signal?: string; detail: string } | undefined;
      let done = false;
      const out: Buffer[] = [];
      const err: Buffer[] = [];

      const finish = (e: TransportError | undefined, r?: RunResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.inflight.delete(abort);
        if (e) reject(e);
        else resolve(r!);
      };
      const abort = (reason: string) => {
        // The remote process is not killed: sshd only closes its pipes.
        try {
          channel?.close();
        } catch {
          // the channel or the connection is already gone
        }
        finish(new TransportError(this.host, cmd, reason));
      };
      // The host stops the command at its deadline and says so (exit 124 or
      // 137, below). This timer is for a host that cannot say anything any
      // more (a dead link): it fires after the host's own TERM-then-KILL.
      const started = Date.now();
      const timer = setTimeout(() => abort(`command timed out after ${timeoutMs / 1000} s (no answer from the host since)`), timeoutMs + DEADLINE_GRACE_MS);
      this.inflight.add(abort);

      this.ssh.spawn(command).then((ch) => {
        if (done) {
          ch.close();
          return;
        }
        channel = ch;
        const sendInput = () => {
          if (stdin.length > 0) ch.end(stdin);
          else ch.end();
        };
        // Until sudo is through, output is held in `become` and searched for the markers.
        let running = !become;
        ch.on('data', (b: Buffer) => {
          if (running || !become) {
            out.push(b);
            return;
          }
          become.out = Buffer.concat([become.out, b]);
          const at = become.out.indexOf(become.success);
          if (at < 0) return;
          running = true;
          // What came before the success line is not the command's.
          const rest = become.out.subarray(at + become.success.length);
          if (rest.length > 0) out.push(rest);
          become.out = Buffer.alloc(0);
          sendInput();
        });
        ch.stderr.on('data', (b: Buffer) => {
          if (running || !become) {
            err.push(b);
            return;
          }
          become.err = Buffer.concat([become.err, b]);
          for (let at = become.err.indexOf(become.prompt, become.scanned); at >= 0; at = become.err.indexOf(become.prompt, become.scanned)) {
            become.scanned = at + become.prompt.length;
            if (++become.prompts > 1) {
              abort(`sudo password rejected for ${this.user} on ${this.host}`);
              return;
            }
            ch.write(`${become.password}\n`);
          }
          become.scanned = Math.max(become.scanned, become.err.length - become.prompt.length + 1);
        });
        ch.on('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
          exit = { code, signal, detail: [dump ? 'core dumped' : '', desc ?? ''].filter(Boolean).join(', ') };
        });
        // Kept after the command ends: a late channel error must not go unhandled.
        ch.on('error', (e: Error) => abort(`channel error: ${e.message}`));
        const settle = () => {
          if (!exit) {
            abort(this.state === 'open' ? 'the command ended without an exit status' : this.deadReason('connection closed while the command ran'));
            return;
          }
          let stdout = Buffer.concat(out).toString('utf8');
          let stderr = Buffer.concat(err).toString('utf8');
          if (become) {
            // sudo's own words (why it refused, or a lecture), without the prompts.
            stderr = become.err.toString('utf8').split(become.prompt.toString('utf8')).join('') + stderr;
            if (!running) stdout = become.out.toString('utf8') + stdout;
          }
          if ((exit.code === 124 || exit.code === 137) && Date.now() - started >= timeoutMs) {
            finish(new TransportError(this.host, cmd, `command timed out after ${timeoutMs / 1000} s (stopped on the host)`));
            return;
          }
          finish(undefined, exitResult(exit.code, exit.signal, stdout, stderr, exit.detail));
        };
        // stderr ends on its own schedule; its last bytes may trail the channel's close.
        ch.on('close', (code?: number | null, signal?: string, dump?: boolean, desc?: string) => {
          // ssh2 parses every packet of a TCP read in one go, and ssh2-promise
          // hands the channel over a promise tick after the exec reply: a
          // command that ends at once (reply, output, exit status and close in
          // one read, common on a busy controller) emitted 'exit' before the
          // listener above existed. ssh2 repeats the status on 'close'.
          if (!exit && code !== undefined) exit = { code, signal, detail: [dump ? 'core dumped' : '', desc ?? ''].filter(Boolean).join(', ') };
          if (ch.stderr.readableEnded) settle();
          else ch.stderr.once('end', settle);
        });
        if (running) sendInput();
      }, (e: unknown) => {
        abort(this.state === 'open' ? `cannot start the command: ${(e as Error)?.message ?? String(e)}` : this.deadReason('connection closed while the command ran'));
      });
    });
  }
}

// ---------------------------------------------------------------- host keys

interface HostKeyGuard {
  verify: (key: Buffer) => boolean;
  /** The key the server presented, once it has. */
  presented: () => Buffer | undefined;
  /** Why the key was refused, once it has been. */
  refusal: () => ConnectError | undefined;
}

/** The hostVerifier: decides from known_hosts and records a new key when allowed to. */
function hostKeyGuard(host: string, address: string, port: number, files: readonly string[], acceptNew: boolean): HostKeyGuard {
  const name = hostLookupName(address, port);
  let refusal: ConnectError | undefined;
  let presented: Buffer | undefined;
  const refuse = (e: ConnectError) => {
    refusal = e;
    return false;
  };
  return {
    refusal: () => refusal,
    presented: () => presented,
    // Synchronous on purpose: read, decide and append in one event-loop turn.
    verify: (key: Buffer): boolean => {
      presented = key;
      let check: HostKeyCheck;
      try {
        check = checkHostKey(readKnownHostsFiles(files), address, port, key);
      } catch (e) {
        return refuse(new ConnectError(host, `cannot read known_hosts: ${(e as Error).message}`));
      }
      switch (check.status) {
        case 'trusted':
          return true;
        case 'revoked':
          return refuse(new HostKeyError(host, `host key for ${name} (${check.presented}) is marked @revoked in known_hosts — refusing to connect`));
        case 'changed': {
          const known = check.known.map((k) => `${k.fingerprint} (${k.source})`).join(' or ');
          return refuse(new HostKeyError(host, `HOST KEY CHANGED for ${name}: known ${known}, presented ${check.presented} — refusing to connect`));
        }
        case 'unknown':
          if (!acceptNew) {
            return refuse(new HostKeyError(host, `host key for ${name} is not known (${check.presented}); add it to known_hosts or run with --accept-new-host-keys`));
          }
          try {
            appendKnownHost(files[0]!, knownHostsLine(address, port, key));
          } catch (e) {
            return refuse(new ConnectError(host, `cannot record the new host key for ${name} in ${files[0]}: ${(e as Error).message}`));
          }
          return true;
      }
    },
  };
}

const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};
/** ssh2's own default order (lib/protocol/constants.js). */
const DEFAULT_HOST_KEY_ORDER: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
];

/**
 * Ask for the key types already recorded for the host first, as OpenSSH does:
 * otherwise a host known by its ECDSA key that also has an Ed25519 one would
 * present the Ed25519 key and look changed.
 */
function hostKeyAlgorithms(files: readonly string[], address: string, port: number): ServerHostKeyAlgorithm[] {
  let types: string[] = [];
  try {
    types = lookupKnownHost(readKnownHostsFiles(files), address, port).trusted.map((k) => k.type);
  } catch {
    // unreadable known_hosts: the verifier reports it
  }
  const preferred = [...new Set(types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []))];
  return [...preferred, ...DEFAULT_HOST_KEY_ORDER.filter((a) => !preferred.includes(a))];
}

// --------------------------------------------------------------------- login

interface Credential {
  /** How it is named in an authentication failure. */
  label: string;
  method: (username: string) => AnyAuthMethod;
}

interface Credentials {
  usable: Credential[];
  /** Default key files that exist but cannot be used (encrypted), for the failure message. */
  skipped: string[];
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

async function loadCredentials(host: string, identityFile: string | undefined, agentSocket: string | undefined, home: string): Promise<Credentials> {
  if (identityFile !== undefined) {
    const key = await readPrivateKey(identityFile);
    if (key instanceof Error) {
      const hint = isEncrypted(key) ? '; load it into ssh-agent (ssh-add) and leave identityFile unset' : '';
      throw new ConnectError(host, `cannot use identity file ${identityFile}: ${key.message}${hint}`);
    }
    return { usable: [keyCredential(`key file ${identityFile}`, key)], skipped: [] };
  }
  const usable: Credential[] = [];
  const skipped: string[] = [];
  if (agentSocket) usable.push({ label: 'agent', method: (username) => ({ type: 'agent', username, agent: agentSocket }) });
  for (const name of DEFAULT_IDENTITIES) {
    const file = join(home, '.ssh', name);
    if (!(await stat(file).then((s) => s.isFile(), () => false))) continue;
    const key = await readPrivateKey(file);
    if (key instanceof Error) skipped.push(`key file ${file} (${isEncrypted(key) ? 'encrypted' : 'unreadable'}, skipped)`);
    else usable.push(keyCredential(`key file ${file}`, key));
  }
  if (usable.length === 0) {
    throw new ConnectError(host, `no credentials to log in with: no identityFile, no ssh-agent (SSH_AUTH_SOCK unset), no usable ${DEFAULT_IDENTITIES.map((n) => `~/.ssh/${n}`).join(', ')}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
  }
  return { usable, skipped };
}

/**
 * Parsed keys by the sha256 of the file: connecting to 50 hosts parses the key once,
 * not twice per connection (here and again in ssh2). The file is still read
 * each time, so a key replaced on disk is used at once.
 */
const parsedKeys = new Map<string, ParsedKey | Error>();

async function readPrivateKey(file: string): Promise<ParsedKey | Error> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (e) {
    return e as Error;
  }
  const digest = createHash('sha256').update(data).digest('hex');
  let key = parsedKeys.get(digest);
  if (!key) {
    const parsed = ssh2.utils.parseKey(data);
    const first: ParsedKey | Error | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
    key = first instanceof Error ? first : !first || !first.isPrivateKey() ? new Error('not a private key') : first;
    parsedKeys.set(digest, key);
  }
  return key;
}

function keyCredential(label: string, key: ParsedKey): Credential {
  return { label, method: (username) => ({ type: 'publickey', username, key }) };
}

function isEncrypted(e: Error): boolean {
  return /encrypted/i.test(e.message);
}

interface AuthSequence {
  handler: AuthHandlerMiddleware;
  /** The sentence for an authentication failure. */
  failure: () => string;
}

/** ssh2 takes `false` as "no more methods"; @types/ssh2 leaves it out. */
const NO_MORE_METHODS = false as unknown as AuthenticationType;

/** Offer each credential once, in order, and remember what was offered. */
function authSequence(user: string, creds: Credentials): AuthSequence {
  const tried: string[] = [];
  let next = 0;
  let serverAccepts: AuthenticationType[] | undefined;
  return {
    handler: (methodsLeft, _partial, done) => {
      // ssh2 calls with null before the first attempt.
      if (methodsLeft) serverAccepts = methodsLeft;
      // An agent offers keys with the publickey method too.
      if (methodsLeft && !methodsLeft.includes('publickey')) return done(NO_MORE_METHODS);
      const c = creds.usable[next++];
      if (!c) return done(NO_MORE_METHODS);
      tried.push(c.label);
      done(c.method(user));
    },
    failure: () => {
      const attempts = [...tried, ...creds.skipped];
      const accepts = serverAccepts && !serverAccepts.includes('publickey') ? `; the server accepts only ${serverAccepts.join(', ')}` : '';
      return `authentication failed for ${user} (tried: ${attempts.length ? attempts.join(' / ') : 'nothing'})${accepts}`;
    },
  };
}

// ------------------------------------------------------------------ failures

interface FailureContext {
  host: string;
  where: string;
  address: string;
  user: string;
  connectTimeoutMs: number;
  guard: HostKeyGuard;
  auth: AuthSequence;
}

type Ssh2Error = Error & { level?: string; code?: string | number };

/** Turn whatever ssh2 / ssh2-promise rejected with into one sentence. */
function connectFailure(e: unknown, c: FailureContext): ConnectError {
  const refused = c.guard.refusal();
  if (refused) return refused;
  if (e === null || e === undefined) return new ConnectError(c.host, `${c.where} closed the connection before login completed`);
  if (!(e instanceof Error)) return new ConnectError(c.host, `cannot connect to ${c.where}: ${String(e)}`);
  const err = e as Ssh2Error;
  switch (err.level) {
    case 'client-authentication':
      return new ConnectError(c.host, err.message === 'All configured authentication methods failed'
        ? c.auth.failure()
        : `authentication failed for ${c.user}: ${err.message}`);
    case 'client-timeout':
      return new ConnectError(c.host, `timed out after ${c.connectTimeoutMs / 1000} s connecting to ${c.where}`);
    case 'client-dns':
      return new ConnectError(c.host, `cannot resolve ${c.address} (${err.code ?? err.message})`);
    case 'client-socket': {
      if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new ConnectError(c.host, `cannot resolve ${c.address} (${err.code})`);
      const why: Record<string, string> = {
        ECONNREFUSED: 'connection refused',
        EHOSTUNREACH: 'no route to host',
        ENETUNREACH: 'network unreachable',
        ETIMEDOUT: 'timed out',
        ECONNRESET: 'connection reset during the SSH handshake',
      };
      return new ConnectError(c.host, `cannot connect to ${c.where}: ${why[String(err.code)] ?? err.message}`);
    }
    default:
      return new ConnectError(c.host, `SSH connection to ${c.where} failed: ${err.message}`);
  }
}
