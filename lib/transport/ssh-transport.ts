/**
 * The SSH transport's state machine, on a connection ssh.ts has logged in:
 * commands on channels of their own (as many at once as the server allows),
 * sudo's prompt answered and its output kept apart from the command's, the
 * host's own deadline on each command, the connection's loss failing every
 * command in flight at once.
 */
import { Socket as NetSocket, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConnectError, TransportError } from '../core/errors.ts';
import type { RunOptions, RunResult } from '../core/transport.ts';
import { exitResult } from './local.ts';
import { becomeCommand, DEADLINE_GRACE_MS, withDeadline } from './ssh-commands.ts';
import type { HostKeyGuard } from './ssh-host-keys.ts';
import type { SshConnection, SshOptions } from './ssh-options.ts';

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

/** What the transport uses of an ssh2 exec channel (ssh2's ClientChannel). */
export interface SshChannel {
  on(event: 'data', listener: (b: Buffer) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal?: string, dump?: boolean, desc?: string) => void): unknown;
  on(event: 'close', listener: (code?: number | null, signal?: string, dump?: boolean, desc?: string) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  readonly stderr: {
    on(event: 'data', listener: (b: Buffer) => void): unknown;
    once(event: 'end', listener: () => void): unknown;
    readonly readableEnded: boolean;
  };
  write(data: string): unknown;
  end(data?: string | Uint8Array): unknown;
  close(): unknown;
}

/**
 * What the transport needs of a logged-in connection: ssh.ts builds it
 * from ssh2-promise and ssh2, so that this state machine knows neither.
 */
export interface SshSession {
  /** ssh2-promise's status events: 'connect' at login, 'disconnect' with what ended it. */
  onStatus(listener: (status: string, err?: Error | null) => void): void;
  /** A new exec channel running `command`. */
  spawn(command: string): Promise<SshChannel>;
  /** Say goodbye to the server; settles once it is said. */
  close(): Promise<unknown>;
  /**
   * Send an SSH keepalive that wants a reply, calling `onReply` on any
   * reply. False (or a throw) when there is no connection to send it on.
   */
  ping(onReply: () => void): boolean;
  /** A TCP channel from the host to `address:port`; false when there is no connection to open it on. */
  forwardOut(address: string, port: number, done: (err: Error | undefined, channel: Duplex) => void): boolean;
}

/**
 * A logged-in SSH connection as a {@link SshConnection}: its state
 * (connecting, open, lost, closed), a limit on the channels open at once,
 * sudo watched per command, a command's deadline, and a close that cannot
 * hang on a peer that is gone.
 */
export class SshTransport implements SshConnection {
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
    private readonly ssh: SshSession, private readonly sock: Socket | Duplex, readonly host: string, private readonly user: string, private readonly o: SshOptions,
    private readonly guard: HostKeyGuard, readonly via?: SshTransport,
  ) {
    this.maxChannels = Math.max(1, o.maxChannels ?? 10);
    this.commandTimeoutMs = o.commandTimeoutMs ?? 300_000;
    // One listener for the connection's whole life, not one per command: no
    // MaxListenersExceededWarning however many commands run.
    ssh.onStatus((status, err) => {
      // Emitted synchronously on ssh2's 'ready', so no drop can slip in
      // between login and the transport counting itself open.
      if (status === 'connect' && this.state === 'connecting') this.state = 'open';
      else if (status === 'disconnect') this.lose(err);
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
    // Any reply to the keepalive (success or failure) proves the peer is there.
    if (this.state !== 'open') return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      let sent = false;
      try {
        sent = this.ssh.ping(() => { clearTimeout(timer); resolve(true); });
      } catch {
        // the connection went away under the ping
      }
      if (!sent) {
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
    return new Promise((resolve, reject) => {
      const notConnected = () => reject(new ConnectError(host, `jump host ${this.o.address} is not connected`));
      if (this.state !== 'open') return notConnected();
      const opened = this.ssh.forwardOut(address, port, (err, channel) => (err
        ? reject(new ConnectError(host, `jump host ${this.o.address} could not open a channel to ${address}:${port}: ${err.message}`))
        : resolve(channel)));
      if (!opened) notConnected();
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
      let channel: SshChannel | undefined;
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
