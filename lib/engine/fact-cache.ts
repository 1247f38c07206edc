import { TransportError } from '../core/errors.ts';
import type { Fact, FactRecord } from '../core/fact.ts';
import type { Transport } from '../core/transport.ts';
import { batchScript, parseFacts, splitBatchOutput } from './fact-batch.ts';

/**
 * Facts of one host. Prefetched in one round trip for a whole play, then
 * served from memory until something is applied on the host: after that,
 * every read goes back to the host (a stale fact is worse than a slow one).
 */
export class FactCache {
  private values = new Map<string, unknown>();

  constructor(private readonly transport: Transport) {}

  /** Forget everything: called after any change is applied on the host. */
  invalidate(): void {
    this.values.clear();
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
    const missing = facts.filter((f) => !this.values.has(f.key) && !seen.has(f.key) && seen.add(f.key));
    if (missing.length === 0) return;
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
