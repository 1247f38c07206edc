/**
 * A run's side of the connection agent: finds the agent (or starts one, as
 * a run ends, for the next run) and hands out {@link Transport}s whose
 * commands the agent runs on its kept connections.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { packageFile } from '../core/package-root.ts';
import { ConnectError, TransportError } from '../core/errors.ts';
import type { RunOptions, RunResult, Transport } from '../core/transport.ts';
import type { SshJump, SshOptions } from '../transport/ssh-options.ts';
import { writeHandOver } from './hand-over.ts';
import { AgentUnavailable, ensurePrivateDir, socketPath } from './location.ts';
import { fromWire, LineSplitter, type AgentStatus, type Reply, type ReplyValues, type Request, type WireJump, type WireSshOptions } from './protocol.ts';

/** A request before it is given its id. */
type RequestBody = Request extends infer R ? R extends Request ? Omit<R, 'id'> : never : never;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; fail: (reason: string) => Error };

/** An open line to the agent. */
export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private gone: string | undefined;

  private constructor(private readonly sock: Socket) {
    const lines = new LineSplitter();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) this.settle(JSON.parse(line) as Reply);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.gone = 'the connection agent went away';
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(p.fail(this.gone));
      }
    });
    // The socket holds the process open only while an answer is awaited: a
    // finished run exits without having to hang up first.
    sock.unref();
  }

  /** The agent in `dir` if one answers now; undefined if none runs. Never starts one. */
  static async find(dir: string): Promise<AgentClient | undefined> {
    ensurePrivateDir(dir);
    const sock = await dial(socketPath(dir));
    return sock && new AgentClient(sock);
  }

  /** A transport to one host over a connection the agent keeps (opened now if it has none). */
  async transport(o: SshOptions): Promise<Transport> {
    const { conn } = await this.request({ op: 'connect', options: toWireOptions(o) }, (why) => new ConnectError(o.host, why));
    return new AgentTransport(this, o.host, conn);
  }

  /** What the agent holds. */
  status(): Promise<AgentStatus> {
    return this.request({ op: 'status' }, (why) => new AgentUnavailable(why));
  }

  /** Ask the agent to close its connections and exit. */
  async stop(): Promise<void> {
    await this.request({ op: 'stop' }, (why) => new AgentUnavailable(why));
  }

  /** Hang up (the agent keeps its connections for the next run). */
  close(): void {
    this.sock.end();
  }

  /** @internal used by AgentTransport */
  request<R extends RequestBody>(req: R, fail: (reason: string) => Error): Promise<ReplyValues[R['op']]> {
    if (this.gone) return Promise.reject(fail(this.gone));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, fail });
      this.sock.ref();
      this.sock.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  private settle(r: Reply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (this.pending.size === 0) this.sock.unref();
    if (r.ok) p.resolve(r.value);
    else p.reject(fromWire(r.error));
  }
}

/** A host's commands, run by the agent on its connection. */
class AgentTransport implements Transport {
  private count = 0;
  private closed = false;

  constructor(private readonly agent: AgentClient, readonly host: string, private readonly conn: number) {}

  get commandCount(): number {
    return this.count;
  }

  run(cmd: string, o: RunOptions = {}): Promise<RunResult> {
    this.count++;
    if (this.closed) return Promise.reject(new TransportError(this.host, cmd, 'connection is closed'));
    const stdin = o.stdin === undefined || o.stdin.length === 0 ? undefined
      : { base64: Buffer.from(o.stdin).toString('base64') };
    return this.agent.request({ op: 'run', conn: this.conn, cmd, stdin, timeoutMs: o.timeoutMs },
      (why) => new TransportError(this.host, cmd, `${why} while the command ran`));
  }

  /** The connection stays with the agent for the next run. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function dial(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => resolve(undefined));
  });
}

function toWireOptions(o: SshOptions): WireSshOptions {
  const env = o.env ?? process.env;
  const { env: _env, knownHostsFile, jump, ...rest } = o;
  return {
    ...rest,
    ...(knownHostsFile === undefined ? {} : { knownHostsFile: typeof knownHostsFile === 'string' ? knownHostsFile : [...knownHostsFile] }),
    ...(jump === undefined ? {} : { jump: wireJump(jump) }),
    env: { HOME: env.HOME, SSH_AUTH_SOCK: env.SSH_AUTH_SOCK },
  };
}

function wireJump(j: SshJump): WireJump {
  const { knownHostsFile, jump, ...rest } = j;
  return {
    ...rest,
    ...(knownHostsFile === undefined ? {} : { knownHostsFile: typeof knownHostsFile === 'string' ? knownHostsFile : [...knownHostsFile] }),
    ...(jump === undefined ? {} : { jump: wireJump(jump) }),
  };
}

/**
 * `play agent serve` as a detached process of its own, so it outlives this
 * run, given `hosts` to connect to and keep for the next run. They go in a
 * private hand-over file (lib/agent/hand-over.ts), which the agent reads
 * and removes once it is up: the run does not wait for it, and a fleet of
 * any size is handed over. The agent's output goes nowhere (it has nothing
 * to say: `play agent status` asks it). Never throws: an agent that cannot
 * start leaves the next run to connect by itself.
 *
 * @example
 * ```ts
 * import { startAgentProcess } from './client.ts';
 * startAgentProcess('/run/user/1000/play', 60_000, [{ host: 'LB1', address: '10.0.0.11' }]);
 * ```
 */
export function startAgentProcess(dir: string, persistMs: number, hosts: readonly SshOptions[]): void {
  let file: string | undefined;
  try {
    ensurePrivateDir(dir);
    if (hosts.length) file = writeHandOver(dir, hosts.map(toWireOptions));
  } catch {
    // No hand-over: the agent starts empty, and the next run connects through it.
    file = undefined;
  }
  const bin = packageFile('bin/play.js');
  const child = spawn(process.execPath, [bin, 'agent', 'serve', '--persist', String(persistMs / 1000), ...(file ? ['--hand-over', file] : [])], {
    detached: true, stdio: 'ignore', cwd: '/', env: { ...process.env, PLAY_AGENT_DIR: dir },
  });
  child.unref();
  // Nothing to report; the settings must not outlive an agent that never ran.
  child.on('error', () => { if (file) rmSync(file, { force: true }); });
}
