import type { TaskResult } from '../core/result.ts';
import type { Transport } from '../core/transport.ts';
import type { HostWork } from './compile.ts';
import { notifyList } from './compile.ts';
import type { HostState } from './plan-context.ts';
import { runTask } from './run-task.ts';
import { workFacts, workFactsAfter } from './work-facts.ts';
import type { RetryEvent } from '../report/reporter.ts';

export interface HostRunOptions {
  check: boolean;
  play: string;
  forceHandlers: boolean;
  report(r: TaskResult): void;
  /** Set when the user pressed Ctrl-C: no new task starts. */
  stopped(): boolean;
  /** Told of each attempt a task will try again (`retries`, `until`). */
  retry?(e: RetryEvent): void;
  /** Shared by the hosts of one batch: the result of each `runOnce` task, from the host that ran it. */
  once?: Map<string, Promise<TaskResult>>;
  /** Awaited before the first post task (side-by-side plays meet there). */
  beforePost?: () => Promise<void>;
}

/** How a host ended a play. */
export type HostEnd = 'ok' | 'failed' | 'unreachable' | 'interrupted';

/**
 * One host's tasks of one play, in order, then its notified handlers.
 * A failed task stops this host's remaining tasks; other hosts go on.
 */
export async function runHost(work: HostWork, state: HostState, transport: Transport, o: HostRunOptions): Promise<HostEnd> {
  let end = 'ok' as HostEnd;
  /** Handler name → the step of the last task that notified it. */
  const notified = new Map<string, number>();
  let changed = false;
  // One round trip for every fact this play's tasks declare, for their planners and their `when`s;
  // one more for the facts that depend on those.
  state.cache.catchUp();
  try {
    await state.cache.load(workFacts(work, state.wantDiff));
    await state.cache.load(workFactsAfter(work, (f) => state.cache.peek(f), state.wantDiff));
  } catch {
    // A fact batch that fails is re-read per task, where the failure gets a
    // task name. Nothing changed: what was read stays, and no other host's
    // cache is made to read again (invalidate is for changes).
  }
  // Handlers notified in a phase run when it ends: a post task (a health
  // gate) sees the restarts the roles asked for.
  const flush = async (): Promise<HostEnd | undefined> => {
    for (const placed of work.handlers) {
      if (!notified.has(placed.task.name)) continue;
      if (o.stopped()) return 'interrupted';
      const { result, lost } = await runTask(placed, state, transport, { check: o.check, play: o.play, handler: true, changedBefore: changed, retry: o.retry, stopped: o.stopped, notifiedAt: notified.get(placed.task.name) });
      o.report(result);
      if (result.status === 'changed') changed = true;
      if (lost) return 'unreachable';
      if (result.status === 'failed') end = 'failed';
    }
    notified.clear();
    return undefined;
  };
  const seen = new Map<string, number>();
  let met = false;
  let phase = work.tasks[0]?.phase ?? 'main';
  for (const placed of work.tasks) {
    if (o.stopped()) { end = 'interrupted'; break; }
    if ((placed.phase ?? 'main') !== phase) {
      phase = placed.phase ?? 'main';
      const stop = await flush();
      if (stop) return stop;
      if (end === 'failed') break;
    }
    if (phase === 'post' && !met) {
      met = true;
      await o.beforePost?.();
      if (o.stopped()) { end = 'interrupted'; break; }
    }
    const run = () => runTask(placed, state, transport, { check: o.check, play: o.play, changedBefore: changed, retry: o.retry, stopped: o.stopped });
    let outcome: Awaited<ReturnType<typeof run>>;
    let registered: TaskResult | undefined;
    if (placed.task.options.runOnce && o.once) {
      const key = onceKey(placed, seen);
      const shared = o.once.get(key);
      if (shared) {
        registered = await shared;
        outcome = { result: ranElsewhere(registered, work.host.name), lost: false };
      } else {
        const mine = run();
        o.once.set(key, mine.then((x) => x.result));
        outcome = await mine;
      }
    } else outcome = await run();
    const { result, lost } = outcome;
    o.report(result);
    if (placed.task.options.register) state.results[placed.task.options.register] = registered ?? result;
    if (result.status === 'changed') {
      changed = true;
      notifyList(placed.task).forEach((n) => notified.set(n, state.log?.step ?? 0));
    }
    if (lost) return 'unreachable';
    if (result.status === 'failed' && !placed.task.options.ignoreErrors) { end = 'failed'; break; }
  }
  if (end === 'interrupted' || (end === 'failed' && !o.forceHandlers)) return end;
  return (await flush()) ?? end;
}

/** Which runOnce task this is, the same on every host: phase, role, name and how many of that name came before. */
function onceKey(placed: HostWork['tasks'][number], seen: Map<string, number>): string {
  const base = `${placed.phase ?? 'main'}|${placed.role ?? ''}|${placed.task.name}`;
  const n = seen.get(base) ?? 0;
  seen.set(base, n + 1);
  return `${base}|${n}`;
}

/** What a host that did not run a runOnce task reports: the outcome on the host that did. */
function ranElsewhere(r: TaskResult, host: string): TaskResult {
  const failed = r.status === 'failed' || r.status === 'unreachable';
  return {
    ...r, host, status: failed ? 'failed' : r.status === 'skipped' ? 'skipped' : 'ok', changes: [], commands: 0, durationMs: 0,
    notes: [`ran once, on ${r.host}: ${r.status}`],
    error: failed ? `host ${host}: task "${r.task}": failed on ${r.host}, where it ran once for the play` : undefined,
  };
}
