/**
 * A run's side of the connection agent: finds the agent (starting it when
 * none answers) and hands out {@link Transport}s whose commands the agent runs
 * on its kept connections.
 */
import { spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { packageFile } from '../core/package-root.ts';
import { ConnectError, TransportError } from '../core/errors.ts';
import type { RunOptions, RunResult, Transport } from '../core/transport.ts';
import type { SshJump, SshOptions } from '../transport/ssh.ts';
import { AgentUnavailable, ensurePrivateDir, socketPath } from './location.ts';
import { fromWire, LineSplitter, type AgentStatus, type Reply, type ReplyValues, type Request, type WireJump, type WireSshOptions } from './protocol.ts';

export interface AgentClientOptions {
  /** The agent's private directory (see agentDir()). */
  dir: string;
  /** How long a started agent keeps connections after the last run. */
  persistMs: number;
}

/** How long a started agent may take to listen. */
const START_TIMEOUT_MS = 5_000;

/** A just-started agent, watched only until it listens. */
export interface StartedAgent {
  /** Resolves with a reason if the agent ends before it listens. */
  readonly ended: Promise<string>;
  /**
   * Give the agent connections to open and keep, through its standard input
   * (read once it is up: the run does not wait for it), and close that input.
   */
  handOver(options: readonly SshOptions[]): void;
}

/** More than a pipe holds would have to wait for the agent to read it: not worth a run's time. */
const HAND_OVER_MAX_BYTES = 60_000;

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

  /**
   * Reach the agent in `o.dir`, starting it if none answers. Rejects with
   * {@link AgentUnavailable} (the run then connects by itself) when the
   * directory is not private or the agent cannot be started.
   *
   * @example
   * ```ts
   * import { AgentClient } from './client.ts';
   * const agent = await AgentClient.open({ dir: '/run/user/1000/play', persistMs: 60_000 });
   * const lb1 = await agent.transport({ host: 'LB1', address: '10.0.0.11' });
   * await lb1.run('uptime');
   * agent.close();
   * ```
   */
  static async open(o: AgentClientOptions): Promise<AgentClient> {
    return (await AgentClient.find(o.dir)) ?? AgentClient.start(o);
  }

  /** The agent in `dir` if one answers now; undefined if none runs. Never starts one. */
  static async find(dir: string): Promise<AgentClient | undefined> {
    ensurePrivateDir(dir);
    const sock = await dial(socketPath(dir));
    return sock && new AgentClient(sock);
  }

  /**
   * Start an agent in `o.dir` and reach it once it listens. Rejects with
   * {@link AgentUnavailable} if it cannot start or ends first.
   */
  static async start(o: AgentClientOptions): Promise<AgentClient> {
    ensurePrivateDir(o.dir);
    const path = socketPath(o.dir);
    const started = startAgentProcess(o.dir, o.persistMs);
    started.handOver([]);
    let ended: string | undefined;
    void started.ended.then((why) => { ended = why; });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      const sock = await dial(path);
      if (sock) return new AgentClient(sock);
      // Checked after a last dial: an agent that gave way to one started by
      // a concurrent run has ended, and the other one is the answer.
      if (ended !== undefined) break;
    }
    throw new AgentUnavailable(ended ?? `the agent did not start within ${START_TIMEOUT_MS / 1000} s`);
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
 * run; its output goes nowhere (it has nothing to say: `play agent status`
 * asks it).
 *
 * @example
 * ```ts
 * import { startAgentProcess } from './client.ts';
 * const agent = startAgentProcess('/run/user/1000/play', 60_000);
 * agent.handOver([{ host: 'LB1', address: '10.0.0.11' }]);
 * ```
 */
export function startAgentProcess(dir: string, persistMs: number): StartedAgent {
  const bin = packageFile('bin/play.js');
  const child = spawn(process.execPath, [bin, 'agent', 'serve', '--persist', String(persistMs / 1000), '--keep-stdin'], {
    detached: true, stdio: ['pipe', 'ignore', 'ignore'], cwd: '/', env: { ...process.env, PLAY_AGENT_DIR: dir },
  });
  child.unref();
  child.stdin!.on('error', () => undefined);
  return {
    handOver: (options) => {
      const text = options.map((o) => `${JSON.stringify(toWireOptions(o))}\n`).join('');
      child.stdin!.end(Buffer.byteLength(text) <= HAND_OVER_MAX_BYTES ? text : '');
    },
    ended: new Promise((resolve) => {
      child.once('error', (e) => resolve(`cannot start the agent: ${e.message}`));
      child.once('exit', (code, signal) => resolve(`the agent exited before listening (${signal ?? `exit ${code}`})`));
    }),
  };
}
