import { TransportError } from '../core/errors.ts';
import type { Fact, FactRecord } from '../core/fact.ts';
import type { Transport } from '../core/transport.ts';
import { batchScript, parseFacts, splitBatchOutput } from './fact-batch.ts';

/** Shared by the fact caches of one run. */
export interface FactRun {
  /** Counts the changes applied on any host of the run (and the retries). */
  epoch: number;
  /** The facts read as the run started (RunStartFacts): they serve while `epoch` is 0. */
  start?: {
    lookup(host: string, facts: readonly Fact<unknown>[]): Promise<Map<string, unknown>>;
    drop(): void;
  };
}

/**
 * Facts of one host. Prefetched in one round trip for a whole play, then
 * served from memory until something is applied on the host: after that,
 * every read goes back to the host (a stale fact is worse than a slow one).
 * Within a run (`run`), a play or batch that starts after a change on any
 * other host reads afresh too ({@link catchUp}).
 */
export class FactCache {
  private values = new Map<string, unknown>();
  /** The run's epoch these values were read in. */
  private seen: number;

  constructor(private readonly transport: Transport, readonly run?: FactRun) {
    this.seen = run?.epoch ?? 0;
  }

  /** Forget everything: called after any change is applied on the host, and before a retry. */
  invalidate(): void {
    this.values.clear();
    if (!this.run) return;
    this.seen = ++this.run.epoch;
    this.run.start?.drop();
  }

  /**
   * Called as a play (a rolling batch) starts on the host: forget what was
   * read before a change applied elsewhere since (a reload on one director
   * moves the VIP off another).
   */
  catchUp(): void {
    if (!this.run || this.seen === this.run.epoch) return;
    this.values.clear();
    this.seen = this.run.epoch;
  }

  /** A fact's value if it is cached, without a round trip. */
  peek<T>(f: Fact<T>): { value: T } | undefined {
    return this.values.has(f.key) ? { value: this.values.get(f.key) as T } : undefined;
  }

  async get<T>(f: Fact<T>): Promise<T> {
    await this.load([f]);
    return this.values.get(f.key) as T;
  }

  /** Load every fact not cached yet, in one round trip. */
  async load(facts: readonly Fact<unknown>[]): Promise<void> {
    const seen = new Set<string>();
    let missing = facts.filter((f) => !this.values.has(f.key) && !seen.has(f.key) && seen.add(f.key));
    if (missing.length === 0) return;
    if (this.run?.start && this.run.epoch === 0) {
      for (const [k, v] of await this.run.start.lookup(this.transport.host, missing)) this.values.set(k, v);
      missing = missing.filter((f) => !this.values.has(f.key));
      if (missing.length === 0) return;
    }
    const script = batchScript(missing.map((f) => f.command));
    const r = await this.transport.run(script);
    const outputs = splitBatchOutput(r.stdout, missing.length);
    if (!outputs) {
      throw new TransportError(this.transport.host, script, `could not read facts (exit ${r.code}): ${r.stderr.trim() || 'output was cut short'}`);
    }
    for (const [k, v] of parseFacts(missing, outputs)) this.values.set(k, v);
  }

  /** The values of facts by name (a task's `facts` option), all missing ones in one round trip. */
  async record(facts: FactRecord | undefined): Promise<Record<string, unknown>> {
    const entries = Object.entries(facts ?? {});
    if (entries.length === 0) return {};
    await this.load(entries.map(([, f]) => f));
    const out: Record<string, unknown> = {};
    for (const [name, f] of entries) out[name] = await this.get(f);
    return Object.freeze(out);
  }
}
