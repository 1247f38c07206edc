import type { TaskResult } from '../core/result.ts';
import type { Transport } from '../core/transport.ts';
import type { HostWork } from './compile.ts';
import { notifyList } from './compile.ts';
import type { HostState } from './plan-context.ts';
import { runTask } from './run-task.ts';
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
}

/** How a host ended a play. */
export type HostEnd = 'ok' | 'failed' | 'unreachable' | 'interrupted';

/**
 * One host's tasks of one play, in order, then its notified handlers.
 * A failed task stops this host's remaining tasks; other hosts go on.
 */
export async function runHost(work: HostWork, state: HostState, transport: Transport, o: HostRunOptions): Promise<HostEnd> {
  // One round trip for every fact this play's tasks declare.
  const facts = [...work.tasks, ...work.handlers].flatMap(({ task }) => [
    ...(task.facts?.(work.host) ?? []),
    ...(state.wantDiff ? task.diffFacts?.(work.host) ?? [] : []),
  ]);
  let end = 'ok' as HostEnd;
  const notified = new Set<string>();
  let changed = false;
  try {
    await state.cache.load(facts);
  } catch {
    // A fact batch that fails is re-read per task, where the failure gets a task name.
    state.cache.invalidate();
  }
  // Handlers notified in a phase run when it ends: a post task (a health
  // gate) sees the restarts the roles asked for.
  const flush = async (): Promise<HostEnd | undefined> => {
    for (const placed of work.handlers) {
      if (!notified.has(placed.task.name)) continue;
      if (o.stopped()) return 'interrupted';
      const { result, lost } = await runTask(placed, state, transport, { check: o.check, play: o.play, handler: true, changedBefore: changed, retry: o.retry, stopped: o.stopped });
      o.report(result);
      if (result.status === 'changed') changed = true;
      if (lost) return 'unreachable';
      if (result.status === 'failed') end = 'failed';
    }
    notified.clear();
    return undefined;
  };
  let phase = work.tasks[0]?.phase ?? 'main';
  for (const placed of work.tasks) {
    if (o.stopped()) { end = 'interrupted'; break; }
    if ((placed.phase ?? 'main') !== phase) {
      phase = placed.phase ?? 'main';
      const stop = await flush();
      if (stop) return stop;
      if (end === 'failed') break;
    }
    const { result, lost } = await runTask(placed, state, transport, { check: o.check, play: o.play, changedBefore: changed, retry: o.retry, stopped: o.stopped });
    o.report(result);
    if (placed.task.options.register) state.results[placed.task.options.register] = result;
    if (result.status === 'changed') {
      changed = true;
      notifyList(placed.task).forEach((n) => notified.add(n));
    }
    if (lost) return 'unreachable';
    if (result.status === 'failed' && !placed.task.options.ignoreErrors) { end = 'failed'; break; }
  }
  if (end === 'interrupted' || (end === 'failed' && !o.forceHandlers)) return end;
  return (await flush()) ?? end;
}
