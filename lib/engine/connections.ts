import { ConnectError } from '../core/errors.ts';
import type { HostView } from '../core/host.ts';
import type { RunOptions, RunResult, Transport } from '../core/transport.ts';

/** Opens a transport to a host: SSH in real runs, a fake in specs. */
export type Connector = (host: HostView) => Promise<Transport>;

/**
 * Connections being opened at once, at most; the others wait their turn.
 * The runner asks for every host's connection as the run starts, and a
 * handshake's CPU (key exchange, signatures) is the controller's: a thousand
 * at once each took as long as all of them together, past the connect
 * timeout (bench/fleet, 1,000 simulated hosts on 2 cores), where a hundred
 * at a time each finish in a fraction of it and keep the cores busy.
 */
export const CONNECTS_AT_ONCE = 100;

/**
 * One connection per host for the whole run, opened on first use and
 * shared by every task and every play. A host that failed to connect stays
 * failed: we do not hammer an unreachable host once per play.
 */
export class Connections {
  private open = new Map<string, Promise<HostLink>>();
  private connecting = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly connector: Connector, private readonly atOnce = CONNECTS_AT_ONCE) {}

  get(host: HostView): Promise<HostLink> {
    let t = this.open.get(host.name);
    if (!t) {
      t = this.limited(() => this.connector(host)).then((inner) => new HostLink(inner), (e: unknown) => {
        throw e instanceof ConnectError ? e : new ConnectError(host.name, e instanceof Error ? e.message : String(e));
      });
      // Avoid an unhandled rejection when nobody awaits a failed connect yet.
      t.catch(() => undefined);
      this.open.set(host.name, t);
    }
    return t;
  }

  /** Run `connect` when fewer than `atOnce` are under way; a finished one hands its turn to the next in line. */
  private async limited<T>(connect: () => Promise<T>): Promise<T> {
    if (this.connecting < this.atOnce) this.connecting++;
    else await new Promise<void>((turn) => this.waiting.push(turn));
    try {
      return await connect();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.connecting--;
    }
  }

  /** Replace a host's connection by a new one from the connector (see {@link HostLink}). */
  async reconnect(host: HostView): Promise<void> {
    const link = await this.get(host);
    await link.reconnect(() => this.connector(host));
  }

  /** Commands sent so far per host. */
  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [name, t] of this.open) {
      try { out[name] = (await t).commandCount; } catch { /* never connected */ }
    }
    return out;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.values()].map(async (t) => {
      try { await (await t).close(); } catch { /* already gone */ }
    }));
    this.open.clear();
  }
}

/**
 * The one transport a host's tasks, facts and handlers hold for the whole
 * run. It forwards to the current connection, which `reconnect` replaces
 * (after a reboot) without anyone holding a stale one. The new connection
 * comes from the same connector, with the same host settings, so it is made
 * and checked exactly like the first: ~/.ssh/config, jump hosts and
 * known_hosts all apply again (a rebuilt host with another key is refused).
 */
export class HostLink implements Transport {
  private before = 0;

  constructor(private inner: Transport) {}

  get host(): string { return this.inner.host; }
  get commandCount(): number { return this.before + this.inner.commandCount; }
  run(cmd: string, o?: RunOptions): Promise<RunResult> { return this.inner.run(cmd, o); }
  close(): Promise<void> { return this.inner.close(); }

  /** Close the current connection (it may be dead already) and open a new one with `connect`. */
  async reconnect(connect: () => Promise<Transport>): Promise<void> {
    const old = this.inner;
    try { await old.close(); } catch { /* a rebooted host's connection is gone */ }
    const fresh = await connect();
    this.before += old.commandCount;
    this.inner = fresh;
  }
}
