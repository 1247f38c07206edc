import type { Change } from '../core/change.ts';
import type { Fact } from '../core/fact.ts';
import type { HostView } from '../core/host.ts';
import type { TaskResult } from '../core/result.ts';
import type { PlanContext } from '../core/task.ts';
import type { HostAccess } from '../core/transport.ts';
import { FactCache } from './fact-cache.ts';

/** Everything one host's planners share during a play. */
export interface HostState {
  host: HostView;
  cache: FactCache;
  /** Changes check mode planned but did not apply, in order. */
  pending: Change[];
  /** Shared by every host of the run: how many changes check mode left unapplied. */
  run: { pending: number };
  results: Record<string, TaskResult>;
  wantDiff: boolean;
  reader(hostName: string): Promise<HostAccess>;
  /** Replace this host's connection (reboot); absent where no connector is at hand (specs). */
  reconnect?(): Promise<void>;
}

/** The planner's view of a host's state. */
export function planContext(s: HostState): PlanContext {
  return {
    host: s.host,
    fact: <T>(f: Fact<T>) => s.cache.get(f),
    facts: (async (fs: readonly Fact<unknown>[]) => {
      await s.cache.load(fs);
      return Promise.all(fs.map((f) => s.cache.get(f)));
    }) as PlanContext['facts'],
    pending: s.pending,
    get pendingAnywhere() { return s.run.pending; },
    results: s.results,
    wantDiff: s.wantDiff,
    reader: s.reader,
  };
}
