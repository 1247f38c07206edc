import type { Fact } from '../core/fact.ts';
import { defineTask, type TaskSpec } from '../core/define-task.ts';
import { TaskError } from '../core/errors.ts';
import type { Task, TaskOptions } from '../core/task.ts';

/** A {@link TaskSpec} plus the facts worth reading only when the user asked for diffs. */
export interface TypedTaskSpec<P> extends TaskSpec<P> {
  /** Facts read only with --diff (old file content), fetched with the others. */
  diffFacts?(p: P): Fact<unknown>[];
}

/**
 * `defineTask`, plus two things every typed task wants:
 *
 * - Its facts are loaded in ONE round trip before planning. After a change
 *   the runner empties the fact cache, and a planner reading its facts one by
 *   one would then pay a round trip per fact.
 * - A TaskError thrown by the planner carries the task's display name: the
 *   planner only knows its parameters, and the user may have set `title`.
 */
export function typedTask<P>(spec: TypedTaskSpec<P>): (input: P & TaskOptions) => Task<P> {
  const make = defineTask<P>(spec);
  return (input) => {
    const task = make(input);
    const p = task.params as P;
    return {
      ...task,
      plan: async (ctx) => {
        try {
          const wanted = [...(spec.facts?.(p, ctx.host) ?? []), ...(ctx.wantDiff ? spec.diffFacts?.(p) ?? [] : [])];
          if (wanted.length) await ctx.facts(wanted);
          return await task.plan(ctx);
        } catch (e) {
          if (e instanceof TaskError && e.task !== task.name) throw new TaskError(e.host, task.name, e.message, e.detail);
          throw e;
        }
      },
    };
  };
}
