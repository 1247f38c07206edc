import type { Fact } from '../core/fact.ts';
import type { Transport } from '../core/transport.ts';
import type { HostWork } from './compile.ts';
import { FactCache } from './fact-cache.ts';
import { workFacts, workFactsAfter } from './work-facts.ts';

/**
 * The facts of every play, read from each host once, all hosts at once, as
 * the run starts: a later play (a later rolling batch) then starts without a
 * round trip of its own. They are exactly as fresh as a play's own first read
 * for as long as nothing has changed, so they serve only until the first
 * change applied on any host (a change on one host can move another's state:
 * a reload on one director moves the VIP off the other) or the first retry
 * (a task waiting for something to settle); from then on each play reads its
 * own, as before. Check mode applies nothing, so there they serve the whole run.
 */
export class RunStartFacts {
  private readonly reads = new Map<string, { cache: FactCache; ready: Promise<void> }>();
  private live = true;

  /** Start reading `host`'s facts for all of `works` (its plays, in order). */
  begin(host: string, transport: Transport, works: readonly HostWork[], wantDiff: boolean): void {
    if (!this.live || this.reads.has(host)) return;
    const cache = new FactCache(transport);
    const ready = (async () => {
      await cache.load(works.flatMap((w) => workFacts(w, wantDiff)));
      const peek = <T>(f: Fact<T>) => cache.peek(f);
      await cache.load(works.flatMap((w) => workFactsAfter(w, peek, wantDiff)));
    })().catch(() => undefined); // a read that fails is read again by the play, where the failure gets a task name
    this.reads.set(host, { cache, ready });
  }

  /** Something changed (or is being waited for): nothing read before serves any more. */
  drop(): void {
    this.live = false;
    this.reads.clear();
  }

  /** The values of `facts` read at the start, for those that were read and still serve. */
  async lookup(host: string, facts: readonly Fact<unknown>[]): Promise<Map<string, unknown>> {
    const found = new Map<string, unknown>();
    const read = this.live ? this.reads.get(host) : undefined;
    if (!read) return found;
    await read.ready;
    // Dropped while the read was on its way: a change landed meanwhile.
    if (!this.live) return found;
    for (const f of facts) {
      const v = read.cache.peek(f);
      if (v) found.set(f.key, v.value);
    }
    return found;
  }
}
