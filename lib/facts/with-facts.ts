/**
 * Tasks whose parameters depend on host facts.
 *
 * Why not a role that reads facts while it builds its tasks? A role builds
 * them at compile time, before anything connects: that is what lets play
 * check every variable, parameter, template, handler name and tag of every
 * host, and print `--list-tasks`, without a connection. So what a role needs
 * from the host is declared on the task that needs it, and read when that
 * task runs:
 *
 * - `when` reads facts through the `facts` option every task takes
 *   (`facts: { os: hostFacts.osRelease }, when: ({ facts }) => …`);
 * - a parameter that depends on a fact is a task built from facts:
 *   `withFacts({ facts, title, build })`, whose `build` returns the task to
 *   plan once the facts are read.
 *
 * Either way the facts are named on the task, so the runner gathers them in
 * the play's one batched round trip with every other task's facts, and
 * gathers no fact that no task names. Both are typed by the facts named
 * (`facts.os.versionId` is a string; `facts.oss` does not compile).
 */
import type { Plan } from '../core/change.ts';
import { factRecordProblem, resolveOptions } from '../core/define-task.ts';
import { TaskError, type FieldProblem, type Problem } from '../core/errors.ts';
import type { Fact, FactRecord, FactValues } from '../core/fact.ts';
import type { HostView } from '../core/host.ts';
import { describe } from '../core/rules.ts';
import { TASK_OPTION_KEYS, type PlanContext, type Task, type TaskOptions } from '../core/task.ts';

/** What a task built from facts gets to build from. */
export interface BuildContext<V, F extends FactRecord> {
  /** The declared facts' values, read from the host the task runs on. */
  facts: FactValues<F>;
  host: HostView<V>;
  vars: Readonly<V>;
}

/** The parameters of {@link withFacts}, next to every task's options. */
export interface WithFactsInput<V, F extends FactRecord> extends TaskOptions<V, F> {
  /**
   * The facts `build` (and `when`) read, by name. Gathered in the play's
   * batched round trip; at least one.
   */
  facts: F;
  /**
   * Shown in output and `--list-tasks`, where the task it builds is not
   * known yet (nothing has connected). Required.
   */
  title: string;
  /**
   * The task to run, built from the facts' values on each host: a pure
   * function of them (it may be called more than once). Its
   * parameters are checked when it is built; options (`when`, `notify`,
   * `tags`…) belong to `withFacts` itself, so `--list-tasks`, `--tags` and
   * the handler checks see them before anything connects.
   */
  build(ctx: BuildContext<V, F>): Task<unknown, V>;
}

/** Options that belong on withFacts: on the built task they would be read too late. */
const BUILT_OPTIONS = TASK_OPTION_KEYS.filter((k) => k !== 'title');

/**
 * A task whose parameters depend on host facts: `build` makes the task to
 * plan from the facts' values, on each host, when the task is reached. The
 * facts join the play's one batched round trip, as every task's declared
 * facts do; the built task's own facts (the package it names, the file it
 * writes) depend on their values, so the runner reads those of every task
 * built from facts in one more round trip for the play, before its first
 * task (and afresh after a change, as every fact). Check mode plans the built task as any other (nothing
 * is applied; facts are only read). Under `delegateTo` the facts are the
 * delegate's: the task is planned and applied there. `--list-tasks` shows
 * the title with `(built from facts: os)`.
 *
 * @example
 * ```ts
 * import { defineRole, withFacts, hostFacts, apt, file } from 'playbook-ts';
 * export const base = defineRole<{ admin: string }>({
 *   name: 'base',
 *   tasks: () => [
 *     // A parameter from a fact.
 *     withFacts({
 *       title: 'time sync daemon', facts: { os: hostFacts.osRelease },
 *       build: ({ facts }) => apt({ name: facts.os.id === 'ubuntu' ? 'systemd-timesyncd' : 'chrony', state: 'present' }),
 *     }),
 *     // A condition on facts: typed by the facts named.
 *     file({
 *       path: '/etc/apt/apt.conf.d/99no-recommends', content: 'APT::Install-Recommends "false";\n',
 *       facts: { os: hostFacts.osRelease, pm: hostFacts.packageManager },
 *       when: ({ facts }) => facts.pm === 'apt' && Number(facts.os.versionId) >= 12,
 *     }),
 *   ],
 * });
 * ```
 */
export function withFacts<V = any, const F extends FactRecord = FactRecord>(input: WithFactsInput<V, F>): Task<unknown, V> {
  const { build, facts: _facts, title: _title, ...rest } = input as WithFactsInput<V, F> & Record<string, unknown>;
  const { resolved, title, wrong } = resolveOptions({ ...rest, title: input.title, facts: input.facts });
  const name = title ?? 'withFacts';
  const unknown = Object.keys(rest).filter((k) => !(TASK_OPTION_KEYS as readonly string[]).includes(k));
  const declared = (): Fact<unknown>[] => Object.values(resolved.facts ?? {});
  const names = Object.keys(resolved.facts ?? {});
  const task: Task<unknown, V> = {
    kind: 'withFacts',
    name,
    params: Object.freeze({ facts: names }),
    options: Object.freeze(resolved),
    facts: () => declared(),
    // The built task's own facts, read with every other built task's before the play's first task.
    factsAfter(host, cached, wantDiff) {
      const got = declared().map((f) => cached(f));
      if (got.some((g) => g === undefined)) return [];
      try {
        const built = buildTask(host as HostView<V>, Object.freeze(Object.fromEntries(names.map((n, i) => [n, got[i]!.value]))) as FactValues<F>);
        if ((built.validate?.(host) ?? []).length) return [];
        return [...(built.facts?.(host) ?? []), ...(wantDiff ? built.diffFacts?.(host) ?? [] : [])];
      } catch {
        // Reported when the task is planned, with its name.
        return [];
      }
    },
    validate(host): Problem[] {
      const out: FieldProblem[] = [...wrong];
      if (input.title === undefined) out.push({ field: 'title', message: 'is required (the task it builds is not known before the facts are read)' });
      if (input.facts === undefined) out.push({ field: 'facts', message: 'is required: the facts build reads, e.g. { os: hostFacts.osRelease }' });
      else if (!factRecordProblem(input.facts) && names.length === 0) out.push({ field: 'facts', message: 'names no fact: a task that needs none is an ordinary task' });
      if (typeof build !== 'function') out.push({ field: 'build', message: `must be a function ({ facts, host, vars }) => task, got ${describe(build)}` });
      unknown.forEach((field) => out.push({ field, message: `unknown parameter for withFacts (accepted: facts, build, ${TASK_OPTION_KEYS.join(', ')})` }));
      return out.map((x) => ({ host: host.name, task: name, ...x }));
    },
    plan: async (ctx: PlanContext): Promise<Plan> => {
      const values = await ctx.facts(declared());
      const byName = Object.freeze(Object.fromEntries(names.map((n, i) => [n, values[i]]))) as FactValues<F>;
      const built = buildTask(ctx.host as HostView<V>, byName);
      const problems = built.validate?.(ctx.host) ?? [];
      if (problems.length) {
        throw new TaskError(ctx.host.name, name, `the task built from facts (${built.name}) is wrong: ${problems.map((p) => `${p.field ? `${p.field}: ` : ''}${p.message}`).join('; ')}`);
      }
      try {
        const plan = await built.plan(ctx);
        return { ...plan, notes: [`built from facts ${names.join(', ')}: ${built.name}`, ...plan.notes] };
      } catch (e) {
        if (e instanceof TaskError && e.task !== name) throw new TaskError(e.host, name, e.message, e.detail);
        throw e;
      }
    },
  };

  function buildTask(host: HostView<V>, facts: FactValues<F>): Task<unknown, V> {
    let built: unknown;
    try {
      built = build({ facts, host, vars: host.vars });
    } catch (e) {
      throw new TaskError(host.name, name, `build threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    const t = built as Task<unknown, V> | null;
    if (typeof t !== 'object' || t === null || typeof t.plan !== 'function' || typeof t.name !== 'string') {
      throw new TaskError(host.name, name, `build returned ${describe(built)}, not a task (made by a task constructor such as apt())`);
    }
    const misplaced = BUILT_OPTIONS.filter((k) => ((t.options ?? {}) as Record<string, unknown>)[k] !== undefined);
    if (misplaced.length) {
      throw new TaskError(host.name, name, `the task built from facts sets ${misplaced.join(', ')}: give ${misplaced.length === 1 ? 'it' : 'them'} to withFacts, where they are known before anything connects`);
    }
    return t;
  }
  return task;
}
