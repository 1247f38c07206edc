/**
 * The connection agent's pool: the SSH connections it keeps, by the options
 * they were opened with. A run asking for a connection gets a kept one only
 * while it is still good for it (same options, host key still trusted,
 * answering); otherwise a new one. Knows nothing of the socket, so its
 * rules are tested with fake connections (spec/agent/pool.spec.ts).
 */
import { createHash } from 'node:crypto';
import type { RunOptions, RunResult } from '../core/transport.ts';
import { hostKeyStillTrusted, type SshConnection, type SshOptions } from '../transport/ssh-options.ts';
import type { ConnectionStatus } from './protocol.ts';

/** How long a kept connection may take to answer the keepalive before it is given up. */
const ALIVE_MS = 1_000;

/** How the pool opens connections and judges kept ones: real defaults, fakes in its spec. */
export interface PoolOptions {
  /** How a connection is opened. */
  connect: (o: SshOptions) => Promise<SshConnection>;
  /**
   * Whether known_hosts still trusts the key `c` logged in with, for
   * `wanted`. @default hostKeyStillTrusted, reading known_hosts each time
   */
  stillTrusted?: (wanted: SshOptions, c: SshConnection) => boolean;
  /** @default Date.now */
  now?: () => number;
}

interface Kept {
  readonly id: number;
  readonly key: string;
  readonly options: SshOptions;
  readonly conn: Promise<SshConnection>;
  runs: number;
  lastUsed: number;
}

/**
 * The kept connections, each with the id runs name it by.
 *
 * @example
 * ```ts
 * import { ConnectionPool } from './pool.ts';
 * import { connectSsh } from '../transport/ssh.ts';
 * const pool = new ConnectionPool({ connect: connectSsh });
 * const id = await pool.open({ host: 'LB1', address: '10.0.0.11' });
 * await pool.run(id, 'uptime');
 * await pool.closeAll();
 * ```
 */
export class ConnectionPool {
  private readonly byKey = new Map<string, Kept>();
  private readonly byId = new Map<number, Kept>();
  private nextId = 1;
  private readonly stillTrusted: (wanted: SshOptions, c: SshConnection) => boolean;
  private readonly now: () => number;

  constructor(private readonly o: PoolOptions) {
    this.stillTrusted = o.stillTrusted ?? ((wanted, c) => hostKeyStillTrusted(wanted, c.hostKey, c.via));
    this.now = o.now ?? Date.now;
  }

  /** Connections held, open or being opened. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * The id of a connection for `options`: a kept one that is still good for
   * them, else a new one (rejecting as connecting rejects).
   */
  async open(options: SshOptions): Promise<number> {
    const key = keyOf(options);
    const kept = this.byKey.get(key);
    if (kept) {
      if (await this.reusable(kept, options)) {
        kept.runs++;
        kept.lastUsed = this.now();
        return kept.id;
      }
      // Another run may have replaced it meanwhile; only drop our own stale one.
      if (this.byKey.get(key) === kept) this.drop(kept);
      if (this.byKey.get(key)) return this.open(options);
    }
    const k: Kept = { id: this.nextId++, key, options, conn: this.o.connect(options), runs: 1, lastUsed: this.now() };
    this.byKey.set(key, k);
    this.byId.set(k.id, k);
    try {
      await k.conn;
    } catch (e) {
      this.drop(k);
      throw e;
    }
    return k.id;
  }

  /**
   * Open a connection for `options` unless one is held or being opened
   * (a hand-over). A held one is left alone, unchecked: a run may have just
   * opened it, and checking it would drop it under that run whenever it
   * answers the keepalive late. Never rejects.
   */
  async keep(options: SshOptions): Promise<void> {
    if (this.byKey.has(keyOf(options))) return;
    await this.open(options).catch(() => undefined);
  }

  /** Run a command on connection `id`; rejects if the pool no longer holds it. */
  async run(id: number, cmd: string, o: RunOptions = {}): Promise<RunResult> {
    const k = this.byId.get(id);
    if (!k) throw new Error(`no connection ${id} (it was closed)`);
    k.lastUsed = this.now();
    const c = await k.conn;
    try {
      return await c.run(cmd, o);
    } finally {
      k.lastUsed = this.now();
    }
  }

  /** Each connection held, as `play agent status` shows it. */
  status(): Promise<ConnectionStatus[]> {
    return Promise.all([...this.byId.values()].map(async (k) => {
      const c = await k.conn.catch(() => undefined);
      return {
        host: k.options.host, address: k.options.address, port: k.options.port ?? 22, user: k.options.user ?? 'root',
        open: !!c?.isOpen, runs: k.runs, commands: c?.commandCount ?? 0, idleMs: this.now() - k.lastUsed,
      };
    }));
  }

  /** Close every connection and forget it. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.byId.values()].map(async (k) => {
      this.byId.delete(k.id);
      await k.conn.then((c) => c.close(), () => undefined);
    }));
    this.byKey.clear();
  }

  private drop(k: Kept): void {
    if (this.byKey.get(k.key) === k) this.byKey.delete(k.key);
    this.byId.delete(k.id);
    void k.conn.then((c) => c.close(), () => undefined);
  }

  /** A kept connection that is still good for this run. */
  private async reusable(k: Kept, wanted: SshOptions): Promise<boolean> {
    try {
      const c = await k.conn;
      return c.isOpen && this.stillTrusted(wanted, c) && await c.alive(ALIVE_MS);
    } catch {
      // the earlier attempt failed; it is tried afresh
      return false;
    }
  }
}

/** Options that open the same connection give the same key; the become password is only hashed into it. */
function keyOf(o: SshOptions): string {
  const { becomePassword, env, ...rest } = o;
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify([
    sorted, env?.HOME, env?.SSH_AUTH_SOCK,
    becomePassword === undefined ? null : createHash('sha256').update(becomePassword).digest('hex'),
  ]);
}
