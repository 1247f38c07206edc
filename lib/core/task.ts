import type { Plan, Change } from './change.ts';
import type { Problem } from './errors.ts';
import type { Fact, FactRecord, FactValues } from './fact.ts';
import type { HostView } from './host.ts';
import type { TaskResult } from './result.ts';
import type { HostAccess } from './transport.ts';

// Planners that look across hosts name it from here, with the rest of what a planner sees.
export type { HostAccess };

/**
 * What `when` sees: the host's variables, the results registered so far,
 * and the facts the task declared in its `facts` option (typed by them).
 */
export interface WhenContext<V = any, FV = {}> {
  host: HostView<V>;
  vars: Readonly<V>;
  results: Readonly<Record<string, TaskResult>>;
  /**
   * Did an earlier task (or handler) of this play change something on this
   * host (in check mode: would it)? A health gate after a batch that changed
   * nothing has nothing to wait for: `when: ({ changed }) => changed`.
   */
  changed: boolean;
  /**
   * The values of the facts named in the task's `facts` option, read from
   * this host (the delegating host under `delegateTo`) right before `when`
   * is judged; `{}` when it names none.
   */
  facts: FV;
}

/** Options every task accepts, next to its own parameters. */
export interface TaskOptions<V = any, F extends FactRecord = {}> {
  /**
   * Shown in output and used as the handler name; each task has a sensible
   * default ("apt keepalived, ipvsadm"). Not `name`: apt, service and sysctl
   * take a `name` parameter of their own.
   */
  title?: string;
  /** Run only when this returns true; otherwise the task is "skipped" with that reason. */
  when?: (ctx: WhenContext<V, FactValues<F>>) => boolean;
  /**
   * Facts `when` reads, by name: `facts: { os: hostFacts.osRelease }`, then
   * `when: ({ facts }) => facts.os.id === 'debian'` (`facts.os` is an
   * `OsRelease`; a name not declared here does not compile). A role builds
   * its tasks before anything connects, so what a task reads from the host
   * is declared on the task: the runner gathers these facts in the play's
   * one batched round trip with every other task's, and gathers none that
   * no task declares. Read afresh after a change was applied on the host.
   */
  facts?: F;
  /** Select with `--tags`. A string is one tag, as in Ansible. */
  tags?: string | readonly string[];
  /** Handlers (by name) to run at the end of the play if this task changed something. */
  notify?: string | readonly string[];
  /** Store this task's result under that name for later `when` and tasks. */
  register?: string;
  /** A failure is reported but does not stop the host's next tasks. @default false */
  ignoreErrors?: boolean;
  /**
   * Try again this many times (so at most `retries + 1` attempts) while the
   * task fails, or while `until` says no; facts are read afresh each time.
   * @default 0; 3 when `until` is given (as Ansible)
   */
  retries?: number;
  /** Seconds between two attempts. @default 5 */
  delay?: number;
  /**
   * Done when this returns true for an attempt's result (its status, rc,
   * stdout…); still false after the last attempt, the task fails. Not judged
   * in check mode on changes that were only planned.
   */
  until?: (result: TaskResult) => boolean;
  /**
   * Run on one host of the play (the first of its batch to reach the task);
   * the others take its result: registered under `register`, and reported
   * as "ran once, on HOST". A failure fails them all. @default false
   */
  runOnce?: boolean;
  /**
   * Run this host's task on another inventory host, or on `'controller'`:
   * planned from that host's facts and applied there, with this host's
   * variables, and reported (and registered) for this host.
   */
  delegateTo?: string;
}

export const TASK_OPTION_KEYS = ['title', 'when', 'tags', 'notify', 'register', 'ignoreErrors', 'retries', 'delay', 'until', 'runOnce', 'delegateTo', 'facts'] as const;

/**
 * The options of a built task, checked and normalised by `defineTask`: a
 * reader never meets a string where a list belongs, nor a `when` that is
 * not a function (a wrong option is a problem of `validate`, and left out).
 */
export interface ResolvedOptions<V = any> {
  when?: (ctx: WhenContext<V, any>) => boolean;
  facts?: FactRecord;
  tags?: readonly string[];
  notify?: readonly string[];
  register?: string;
  ignoreErrors?: boolean;
  retries?: number;
  delay?: number;
  until?: (result: TaskResult) => boolean;
  runOnce?: boolean;
  delegateTo?: string;
}

/** What a planner may use: facts (cached, batched), the host, earlier results. */
export interface PlanContext {
  readonly host: HostView;
  /** Read a fact, from the batch cache when the runner prefetched it. */
  fact<T>(f: Fact<T>): Promise<T>;
  /** Read several facts in one round trip. */
  facts<const F extends readonly Fact<unknown>[]>(fs: F): Promise<{ [K in keyof F]: F[K] extends Fact<infer T> ? T : never }>;
  /**
   * Changes planned earlier on this host but not applied: empty when
   * applying, non-empty in check mode. A planner whose subject is missing
   * reports a predicted change instead of failing when this is non-empty.
   */
  readonly pending: readonly Change[];
  /** Changes planned but not applied on any host of the run so far (check mode). */
  readonly pendingAnywhere: number;
  readonly results: Readonly<Record<string, TaskResult>>;
  /** true when the user asked for diffs: planners fetch old content only then. */
  readonly wantDiff: boolean;
  /**
   * Another inventory host, for cross-host checks. A planner only reads
   * through it; a change it plans may keep it to act there when applied
   * (a drain sets weights on the directors it read).
   */
  reader(hostName: string): Promise<HostAccess>;
  /**
   * Planning a handler: did a change of this run start `service` (a unit
   * name, `nginx.service`) from stopped after the last task that notified
   * this handler on this host, with no stop since? Such a start already read
   * what that task changed. In check mode the same, from the changes
   * planned. false outside handlers.
   */
  startedSinceNotified(service: string): boolean;
}

/**
 * A typed, idempotent unit of work. Built by task constructors, run by the
 * runner. `V` is the variables its `when` reads: a role's tasks are
 * `Task<unknown, V>`, so a constructor called there types `when`'s `vars`.
 */
export interface Task<P = unknown, V = any> {
  readonly kind: string;
  readonly name: string;
  readonly params: Readonly<P>;
  readonly options: ResolvedOptions<V>;
  /** Facts this task reads, so the runner can batch them with other tasks' facts. */
  facts?(host: HostView): Fact<unknown>[];
  /** Facts read only when the user asked for diffs (old file content), batched with the others. */
  diffFacts?(host: HostView): Fact<unknown>[];
  /**
   * Facts known only once other facts are read: a task built from facts
   * (`withFacts`) names the facts of the task it builds. `cached` gives a
   * fact's value when the play's first round trip read it; the runner reads
   * every task's in one more round trip, before the first task.
   */
  factsAfter?(host: HostView, cached: <T>(f: Fact<T>) => { value: T } | undefined, wantDiff: boolean): Fact<unknown>[];
  /** Problems found without touching the host (bad parameters, template errors). */
  validate?(host: HostView): Problem[];
  /** Read facts, return what must change. Never changes anything itself. */
  plan(ctx: PlanContext): Promise<Plan>;
}
