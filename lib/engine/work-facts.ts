import type { Fact } from '../core/fact.ts';
import type { HostWork } from './compile.ts';

/** What a fact cache answers without a round trip. */
export type Peek = <T>(f: Fact<T>) => { value: T } | undefined;

/**
 * Every fact one host's work in a play declares, for its planners and its
 * `when`s: what the play's first round trip reads.
 */
export function workFacts(work: HostWork, wantDiff: boolean): Fact<unknown>[] {
  return [...work.tasks, ...work.handlers].flatMap(({ task }) => [
    ...(task.facts?.(work.host) ?? []),
    // The facts a task's `when` reads: gathered only because a task names them.
    ...Object.values(task.options.facts ?? {}),
    ...(wantDiff ? task.diffFacts?.(work.host) ?? [] : []),
  ]);
}

/**
 * The facts that depend on those (the facts of the tasks withFacts builds):
 * the second round trip. A delegated task is built on its delegate, from the
 * delegate's facts: nothing to read here.
 */
export function workFactsAfter(work: HostWork, peek: Peek, wantDiff: boolean): Fact<unknown>[] {
  return [...work.tasks, ...work.handlers].flatMap(({ task }) => (task.options.delegateTo === undefined
    ? task.factsAfter?.(work.host, peek, wantDiff) ?? [] : []));
}
