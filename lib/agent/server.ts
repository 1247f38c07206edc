/**
 * The connection agent: a background process that keeps each run's SSH
 * connections open for a while after the run ends, so the next run reuses
 * them instead of paying a TCP connect, key exchange and login per host. It is
 * play's ControlPersist (Ansible's default: 60 s). Each run talks to it over a
 * Unix socket; the agent runs the commands on its connections and answers
 * with their results.
 *
 * A kept connection is handed to a run only when the options match exactly
 * (same address, user, key, known_hosts, become settings…), known_hosts still
 * trusts the key the host presented at login, and the host answers an SSH
 * keepalive within a second. Otherwise it is closed and a new one opened, so
 * a rebuilt host or a removed known_hosts entry behaves as without the agent.
 */
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { connectSsh } from '../transport/ssh.ts';
import type { SshConnection, SshOptions } from '../transport/ssh-options.ts';
import { AgentRunning, ensurePrivateDir, socketPath } from './location.ts';
import { mapLimit } from '../engine/limit.ts';
import { ConnectionPool } from './pool.ts';
import { LineSplitter, toWire, type AgentStatus, type Reply, type Request, type WireSshOptions } from './protocol.ts';

/** Connections a hand-over opens at once (as the runner: lib/engine/connections.ts). */
const OPENS_AT_ONCE = 100;

export interface AgentServerOptions {
  /** The private directory the socket is made in. */
  dir: string;
  /** How long connections are kept once the last run has gone. */
  persistMs: number;
  /** How long an agent that holds no connection waits for its first run. @default 5_000 */
  unusedMs?: number;
  /** How a connection is opened. @default connectSsh */
  connect?: (o: SshOptions) => Promise<SshConnection>;
}

export interface AgentServer {
  readonly socket: string;
  /** Open and keep connections for runs to come (a run that connected by itself hands its hosts over). */
  keep(options: readonly WireSshOptions[]): void;
  /** Resolves once the agent has closed its connections and its socket. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Start the agent in this process: listen on the socket in `dir` and serve
 * until no run has used it for `persistMs`.
 *
 * @example
 * ```ts
 * import { serveAgent } from './server.ts';
 * const agent = await serveAgent({ dir: '/run/user/1000/play', persistMs: 60_000 });
 * await agent.done;
 * ```
 */
export async function serveAgent(o: AgentServerOptions): Promise<AgentServer> {
  ensurePrivateDir(o.dir);
  const socket = socketPath(o.dir);
  const pool = new ConnectionPool({ connect: o.connect ?? connectSsh });
  const clients = new Set<Socket>();
  let idle: NodeJS.Timeout | undefined;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => { finished = resolve; });
  let stopping: Promise<void> | undefined;

  const openFor = async (w: WireSshOptions): Promise<{ conn: number }> => ({ conn: await pool.open(fromWireOptions(w)) });

  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'connect':
        return openFor(req.options);
      case 'run':
        return pool.run(req.conn, req.cmd, { stdin: req.stdin && Buffer.from(req.stdin.base64, 'base64'), timeoutMs: req.timeoutMs });
      case 'status':
        return { pid: process.pid, persistMs: o.persistMs, clients: clients.size, connections: await pool.status() } satisfies AgentStatus;
      case 'stop':
        setImmediate(() => void stop());
        return null;
    }
  };

  const armIdle = () => {
    clearTimeout(idle);
    if (clients.size > 0 || stopping) return;
    idle = setTimeout(() => void stop(), pool.size > 0 ? o.persistMs : (o.unusedMs ?? 5_000));
  };

  const server: Server = createServer((sock) => {
    clients.add(sock);
    clearTimeout(idle);
    const lines = new LineSplitter();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        let req: Request;
        try {
          req = JSON.parse(line) as Request;
        } catch {
          sock.destroy();
          return;
        }
        handle(req).then(
          (value) => reply(sock, { id: req.id, ok: true, value: value ?? null }),
          (e: unknown) => reply(sock, { id: req.id, ok: false, error: toWire(e) }),
        );
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clients.delete(sock);
      armIdle();
    });
  });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearTimeout(idle);
      server.close();
      for (const c of clients) c.end();
      await pool.closeAll();
      rmSync(socket, { force: true });
      finished();
    })();
    return stopping;
  };

  await listen(server, socket);
  armIdle();
  const keep = (list: readonly WireSshOptions[]) => {
    // As a run connects: a fleet's handshakes all at once would each take as long as all of them.
    void mapLimit(list, OPENS_AT_ONCE, async (w) => { if (!stopping) await pool.keep(fromWireOptions(w)); });
    armIdle();
  };
  return { socket, done, stop, keep };
}

function reply(sock: Socket, r: Reply): void {
  if (!sock.destroyed) sock.write(`${JSON.stringify(r)}\n`);
}

/**
 * Listen on `path`. A socket file left by an agent that died is removed; one
 * that answers belongs to a live agent, and this one gives way to it.
 */
async function listen(server: Server, path: string): Promise<void> {
  const attempt = () => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await attempt();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    if (await answers(path)) throw new AgentRunning(path);
    rmSync(path, { force: true });
    await attempt();
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function fromWireOptions(w: WireSshOptions): SshOptions {
  const { env, ...rest } = w;
  return { ...rest, env: { HOME: env.HOME, SSH_AUTH_SOCK: env.SSH_AUTH_SOCK } };
}
