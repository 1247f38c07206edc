import type { Plan } from './change.ts';
import { TaskError, type FieldProblem, type Problem } from './errors.ts';
import type { Fact, FactRecord } from './fact.ts';
import type { HostView } from './host.ts';
import { bool, describe as describeValue, func, stringList, text, wholeNumber } from './rules.ts';
import { TASK_OPTION_KEYS, type PlanContext, type ResolvedOptions, type Task, type TaskOptions } from './task.ts';

/** How a task kind is defined: its parameters, checks and planner. */
export interface TaskSpec<P> {
  kind: string;
  /** Every parameter name the kind accepts: anything else is reported (tsx does not type-check). */
  keys: readonly (keyof P & string)[];
  /** Parameters that must be present. */
  required?: readonly (keyof P & string)[];
  /** Default display name, e.g. `apt nginx`. */
  name(p: P): string;
  /** Checks of the parameters alone, as `field: message` pairs. */
  check?(p: P, host: HostView): FieldProblem[];
  facts?(p: P, host: HostView): Fact<unknown>[];
  /** Facts worth reading only with --diff (old file content). */
  diffFacts?(p: P, host: HostView): Fact<unknown>[];
  plan(p: P, ctx: PlanContext): Promise<Plan>;
}

/**
 * Turn a spec into a task constructor that takes parameters and
 * {@link TaskOptions} in one object, as Ansible users expect.
 *
 * @example
 * ```ts
 * import { defineTask } from './define-task.ts';
 * import { noop } from './change.ts';
 * const ping = defineTask<{ message?: string }>({
 *   kind: 'ping', keys: ['message'], name: () => 'ping',
 *   plan: async (p) => noop(p.message ?? 'pong'),
 * });
 * const task = ping({ message: 'hi', tags: ['smoke'] });
 * ```
 */
export function defineTask<P>(spec: TaskSpec<P>): <V = any, const F extends FactRecord = {}>(input: P & TaskOptions<V, F>) => Task<P, V> {
  return <V, const F extends FactRecord = {}>(input: P & TaskOptions<V, F>): Task<P, V> => {
    const params: Record<string, unknown> = {};
    const options: Record<string, unknown> = {};
    const unknown: string[] = [];
    for (const [k, v] of Object.entries(input as object)) {
      if ((TASK_OPTION_KEYS as readonly string[]).includes(k)) options[k] = v;
      else if ((spec.keys as readonly string[]).includes(k)) params[k] = v;
      else unknown.push(k);
    }
    const p = Object.freeze(params) as Readonly<P>;
    const { resolved, title, wrong } = resolveOptions(options);
    const name = title ?? safeName(spec, p);
    const task: Task<P, V> = {
      kind: spec.kind,
      name,
      params: p,
      options: Object.freeze(resolved),
      facts: spec.facts && ((host) => spec.facts!(p as P, host)),
      diffFacts: spec.diffFacts && ((host) => spec.diffFacts!(p as P, host)),
      validate(host): Problem[] {
        const out: Problem[] = unknown.map((field) => ({
          task: name, field, message: `unknown parameter for ${spec.kind} (accepted: ${[...spec.keys, ...TASK_OPTION_KEYS].join(', ')})`,
        }));
        for (const field of spec.required ?? []) {
          if ((p as Record<string, unknown>)[field] === undefined) out.push({ task: name, field, message: 'is required' });
        }
        if (out.length === 0 && spec.check) {
          for (const c of spec.check(p as P, host)) out.push({ task: name, field: c.field, message: c.message });
        }
        out.push(...wrong.map((w) => ({ task: name, ...w })));
        return out.map((x) => ({ host: host.name, ...x }));
      },
      // Every declared fact in one round trip before planning: after a change
      // empties the cache, a planner reading facts one by one would pay a
      // round trip per fact.
      plan: async (ctx) => {
        const wanted = [...(spec.facts?.(p as P, ctx.host) ?? []), ...(ctx.wantDiff ? spec.diffFacts?.(p as P, ctx.host) ?? [] : [])];
        if (wanted.length) await ctx.facts(wanted);
        try {
          return await spec.plan(p as P, ctx);
        } catch (e) {
          // Planners only know their parameters; the error names the task as the user titled it.
          if (e instanceof TaskError && e.task !== name) throw new TaskError(e.host, name, e.message, e.detail);
          throw e;
        }
      },
    };
    return task;
  };
}

/**
 * Check the options every task takes and normalise them (one tag → a list).
 * A wrong option is returned as a problem and left out of the options, so
 * that no reader (the runner, --tags, --list-tasks) trips on it before
 * validation has stopped the run.
 */
export function resolveOptions(raw: Record<string, unknown>): { resolved: ResolvedOptions; title?: string; wrong: FieldProblem[] } {
  const wrong: FieldProblem[] = [];
  const resolved: Record<string, unknown> = {};
  const keep = (field: string, message: string | undefined) => {
    if (raw[field] === undefined) return;
    if (message === undefined) resolved[field] = raw[field];
    else wrong.push({ field, message });
  };
  keep('when', func(raw.when, '({ host, vars, results, changed }) => boolean'));
  for (const field of ['tags', 'notify'] as const) {
    if (raw[field] === undefined) continue;
    const r = stringList(raw[field]);
    if ('list' in r) resolved[field] = Object.freeze(r.list);
    else wrong.push({ field, message: r.problem });
  }
  keep('register', text(raw.register, { nonEmpty: true, what: 'a non-empty name' }));
  keep('ignoreErrors', bool(raw.ignoreErrors));
  keep('retries', wholeNumber(raw.retries, 0, 100));
  keep('delay', typeof raw.delay === 'number' && Number.isFinite(raw.delay) && raw.delay >= 0 && raw.delay <= 3600 ? undefined : `must be a number of seconds 0–3600, got ${describeValue(raw.delay)}`);
  keep('until', func(raw.until, '(result) => boolean'));
  keep('runOnce', bool(raw.runOnce));
  keep('delegateTo', text(raw.delegateTo, { nonEmpty: true, what: "an inventory host's name or 'controller'" }));
  if (raw.facts !== undefined) {
    const wrongFacts = factRecordProblem(raw.facts);
    if (wrongFacts) wrong.push({ field: 'facts', message: wrongFacts });
    else resolved.facts = Object.freeze({ ...(raw.facts as FactRecord) });
  }
  const titleWrong = raw.title === undefined ? undefined : text(raw.title, { nonEmpty: true });
  if (titleWrong) wrong.push({ field: 'title', message: titleWrong });
  return { resolved, title: titleWrong ? undefined : (raw.title as string | undefined), wrong };
}

function safeName<P>(spec: TaskSpec<P>, p: P): string {
  try {
    return spec.name(p);
  } catch {
    return spec.kind;
  }
}

/** Is this a record of facts by name (`{ os: hostFacts.osRelease }`)? The problem, if not. */
export function factRecordProblem(v: unknown): string | undefined {
  const shape = 'an object of facts by name, e.g. { os: hostFacts.osRelease }';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `must be ${shape}, got ${describeValue(v)}`;
  const notFacts = Object.entries(v).filter(([, f]) => !isFact(f)).map(([k]) => k);
  return notFacts.length ? `must be ${shape}: ${notFacts.join(', ')} ${notFacts.length === 1 ? 'is' : 'are'} not a fact (made by fact())` : undefined;
}

function isFact(f: unknown): f is Fact<unknown> {
  const x = f as Fact<unknown> | null;
  return typeof x === 'object' && x !== null && typeof x.key === 'string' && typeof x.command === 'string' && typeof x.parse === 'function';
}
