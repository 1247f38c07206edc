import { ConnectError } from '../core/errors.ts';
import type { HostView } from '../core/host.ts';
import type { Transport } from '../core/transport.ts';

/** Opens a transport to a host: SSH in real runs, a fake in specs. */
export type Connector = (host: HostView) => Promise<Transport>;

/**
 * One connection per host for the whole run, opened on first use and
 * shared by every task and every play. A host that failed to connect stays
 * failed: we do not hammer an unreachable host once per play.
 */
export class Connections {
  private open = new Map<string, Promise<Transport>>();

  constructor(private readonly connector: Connector) {}

  get(host: HostView): Promise<Transport> {
    let t = this.open.get(host.name);
    if (!t) {
      t = this.connector(host).catch((e: unknown) => {
        throw e instanceof ConnectError ? e : new ConnectError(host.name, e instanceof Error ? e.message : String(e));
      });
      // Avoid an unhandled rejection when nobody awaits a failed connect yet.
      t.catch(() => undefined);
      this.open.set(host.name, t);
    }
    return t;
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
