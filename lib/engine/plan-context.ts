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
  /** The order of this host's run, for handlers; absent where no runner keeps one (specs: then no start is known). */
  log?: RunLog;
}

/**
 * One host's run in order: a step per task or handler run (across plays),
 * and the step in which a change started each service from stopped.
 */
export interface RunLog {
  step: number;
  /** Unit name → the step of the change that started it (applied, or planned in check mode); removed by a stop. */
  started: Map<string, number>;
}

/** Note what `c` did to a service, in the step running now. */
export function logChange(s: HostState, c: Change): void {
  if (!s.log) return;
  if (c.starts !== undefined) s.log.started.set(c.starts, s.log.step);
  if (c.stops !== undefined) s.log.started.delete(c.stops);
}

/**
 * The planner's view of a host's state; `notifiedAt`, for a handler, is
 * the step of the last task that notified it.
 */
export function planContext(s: HostState, notifiedAt?: number): PlanContext {
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
    startedSinceNotified: (service) => notifiedAt !== undefined && (s.log?.started.get(service) ?? -1) > notifiedAt,
  };
}
