import type { Change, Plan, ResultTable, Verdict } from '../core/change.ts';
import { TaskError, TransportError } from '../core/errors.ts';
import type { ReportedChange, Status, TaskResult } from '../core/result.ts';
import type { RetryEvent } from '../report/reporter.ts';
import type { Transport, RunResult } from '../core/transport.ts';
import type { PlacedTask } from './compile.ts';
import { FactCache } from './fact-cache.ts';
import { logChange, planContext, type HostState } from './plan-context.ts';

export interface TaskRunOptions {
  check: boolean;
  play: string;
  handler?: boolean;
  /** An earlier task of this play changed something on this host (for `when`). */
  changedBefore?: boolean;
  /** Told of each attempt that will be tried again. */
  retry?(e: RetryEvent): void;
  /** Set on Ctrl-C: no further attempt starts. */
  stopped?(): boolean;
  /** For a handler: the step (HostState.log) of the last task that notified it. */
  notifiedAt?: number;
}

/** Why a host stopped: a task failed, or the host was lost. */
export type HostOutcome = { result: TaskResult; lost: boolean };

const defaultVerdict = (r: RunResult): Verdict => ({ failed: r.code !== 0, changed: r.code === 0 });

const defaultFail = (c: Change, r: RunResult): string => {
  const err = (r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n');
  return `"${c.summary}" failed (exit ${r.code})${err ? `:\n${err}` : ''}`;
};

/**
 * Plan one task right before applying it, then apply its changes one by
 * one (check mode: only the read-only ones). Every outcome becomes a
 * TaskResult; only a lost connection is reported as "unreachable".
 */
export async function runTask(placed: PlacedTask, state: HostState, transport: Transport, o: TaskRunOptions): Promise<HostOutcome> {
  const { task } = placed;
  if (state.log) state.log.step++;
  const start = Date.now();
  const before = transport.commandCount;
  const base = { host: state.host.name, play: o.play, role: placed.role, task: task.name, kind: task.kind, handler: o.handler };
  const finish = (status: Status, extra: Partial<TaskResult> = {}): TaskResult => ({
    ...base, status, changes: [], notes: [], ...extra, durationMs: Date.now() - start, commands: transport.commandCount - before,
  });
  let finishWith = finish;

  const when = task.options.when;
  if (when) {
    // The facts `when` reads (the task's `facts` option): from the play's batch, or read afresh after a change.
    let facts: Record<string, unknown>;
    try {
      facts = await state.cache.record(task.options.facts);
    } catch (e) {
      const lost = e instanceof TransportError && /connection lost|not connected|closed/i.test(e.reason);
      return { result: finish(lost ? 'unreachable' : 'failed', { error: `host ${state.host.name}: task "${task.name}": reading the facts of when: ${message(e)}` }), lost };
    }
    let go: boolean;
    try {
      go = when({ host: state.host, vars: state.host.vars, results: state.results, changed: o.changedBefore ?? false, facts });
    } catch (e) {
      return { result: finish('failed', { error: `host ${state.host.name}: task "${task.name}": when threw: ${message(e)}` }), lost: false };
    }
    if (!go) return { result: finish('skipped', { notes: ['condition (when) is false'] }), lost: false };
  }

  // delegateTo: plan and apply on the other host, for this one (its variables, its results).
  let on = { state, transport };
  if (task.options.delegateTo !== undefined) {
    try {
      on = await delegated(state, task.options.delegateTo);
    } catch (e) {
      return { result: finish('failed', { error: `host ${state.host.name}: task "${task.name}": cannot reach ${task.options.delegateTo} (delegateTo): ${message(e)}` }), lost: false };
    }
    const counted = on.transport;
    const own = finish;
    const extra = counted.commandCount;
    finishWith = (status, more = {}) => {
      const r = own(status, more);
      return { ...r, commands: r.commands + counted.commandCount - extra, notes: [...r.notes, `delegated to ${task.options.delegateTo}`] };
    };
  }
  const { retries, until } = task.options;
  if (retries === undefined && until === undefined) return attempt(placed, on.state, on.transport, o, finishWith);
  // As Ansible: `until` alone means 3 retries; every attempt plans afresh.
  const attempts = (retries ?? 3) + 1;
  const delay = task.options.delay ?? 5;
  const changesSoFar: ReportedChange[] = [];
  for (let n = 1; ; n++) {
    const out = await attempt(placed, on.state, on.transport, o, finishWith);
    const r = out.result;
    if (out.lost || r.status === 'skipped') return { ...out, result: { ...r, attempts: n } };
    let reason: string | undefined;
    if (r.status === 'failed') reason = r.error ?? 'failed';
    else if (until && !(o.check && r.changes.some((c) => c.planned))) {
      try {
        if (!until(r)) reason = 'until is false';
      } catch (e) {
        return { result: { ...r, status: 'failed', attempts: n, error: `host ${state.host.name}: task "${task.name}": until threw: ${message(e)}` }, lost: false };
      }
    }
    if (r.status === 'changed') changesSoFar.push(...r.changes);
    if (reason === undefined) {
      // A change an earlier attempt applied is a change of the task (its handlers run).
      const status = r.status === 'ok' && changesSoFar.length ? 'changed' : r.status;
      return { result: { ...r, status, changes: changesSoFar.length ? changesSoFar : r.changes, attempts: n }, lost: false };
    }
    if (n >= attempts || o.stopped?.()) {
      const error = r.status === 'failed' ? r.error : `host ${state.host.name}: task "${task.name}": until still false after ${n} attempt${n === 1 ? '' : 's'}`;
      return { result: { ...r, status: 'failed', changes: changesSoFar.length ? changesSoFar : r.changes, attempts: n, error }, lost: false };
    }
    o.retry?.({ host: state.host.name, task: task.name, attempt: n, attempts, reason: reason.replace(/^host [^:]+: task "[^"]*": /, ''), delay });
    await new Promise((res) => setTimeout(res, delay * 1000));
    // The next attempt plans from what the host says now, not from before.
    on.state.cache.invalidate();
  }
}

/**
 * The host a delegated task runs on: its connection (shared with its own
 * tasks, so -v shows the commands under its name), a fact cache of its own
 * for this task, and the delegating host's variables, pending changes and
 * results. Planners see the delegate as `ctx.host` (its address, its port).
 */
async function delegated(state: HostState, name: string): Promise<{ state: HostState; transport: Transport }> {
  const d = await state.reader(name);
  let count = 0;
  const transport: Transport = {
    host: d.host.name,
    get commandCount() { return count; },
    run: (cmd, ro) => { count++; return d.run(cmd, ro); },
    close: async () => undefined,
  };
  const host = { ...d.host, vars: state.host.vars };
  // What the delegate's services do is not this host's: no log.
  return { state: { ...state, host, cache: new FactCache(transport, state.cache.run), reconnect: undefined, log: undefined }, transport };
}

/** One attempt: plan the task, then apply its changes (check mode: only the read-only ones). */
async function attempt(placed: PlacedTask, state: HostState, transport: Transport, o: TaskRunOptions, finish: (status: Status, extra?: Partial<TaskResult>) => TaskResult): Promise<HostOutcome> {
  const { task } = placed;

  const reported: ReportedChange[] = [];
  let changed = false;
  let last: RunResult | undefined;
  // What the apply changes before the last one said (a handover's notes): the task's stdout keeps them.
  const said: string[] = [];
  let lastApplied = false;
  let plan: Plan | undefined;
  try {
    plan = await task.plan(planContext(state, o.notifiedAt));
    for (const c of plan.changes) {
      if (o.check && !c.readOnly) {
        state.pending.push(c);
        state.run.pending++;
        logChange(state, c);
        reported.push({ summary: c.summary, diff: c.diff, predicted: c.predicted, planned: true });
        changed = true;
        continue;
      }
      if (last && said.length < 100 && lastApplied && last.stdout.trim()) said.push(last.stdout.trim());
      lastApplied = !!c.apply;
      last = c.apply
        ? await c.apply({
          host: state.reader,
          self: { host: state.host, run: (cmd, ro) => transport.run(cmd, ro) },
          reconnect: state.reconnect,
        })
        : await transport.run(c.exec, { ...(c.stdin === undefined ? {} : { stdin: c.stdin }), ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }) });
      if (!c.readOnly) state.cache.invalidate();
      const v = (c.judge ?? defaultVerdict)(last);
      if (v.failed) {
        const message = (c.failMessage ?? ((r) => defaultFail(c, r)))(last);
        throw new TaskError(state.host.name, task.name, message, { ...(c.apply ? { what: c.what } : { cmd: c.exec }), code: last.code, stdout: last.stdout, stderr: last.stderr, table: tableOf(last) });
      }
      if (v.changed) {
        changed = true;
        logChange(state, c);
        reported.push({ summary: c.summary, diff: c.diff });
      }
    }
    const table = plan.table ?? tableOf(last);
    if (plan.skip) return { result: finish('skipped', { notes: [plan.skip, ...plan.notes], table }), lost: false };
    const result = finish(changed ? 'changed' : 'ok', { changes: reported, notes: plan.notes, table, ...output(last, said) });
    return { result, lost: false };
  } catch (e) {
    const lost = e instanceof TransportError && /connection lost|not connected|closed/i.test(e.reason);
    const status: Status = lost ? 'unreachable' : 'failed';
    const table = plan?.table ?? (e instanceof TaskError ? e.detail.table : undefined);
    return { result: finish(status, { changes: reported, table, error: prefixed(message(e), state.host.name, task.name), ...output(last, said) }), lost };
  }
}

function prefixed(msg: string, host: string, task: string): string {
  return msg.startsWith(`host ${host}`) ? msg : `host ${host}: task "${task}": ${msg.replace(new RegExp(`^${escapeRe(host)}: `), '')}`;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
/** The last command's exit code and stderr; its stdout after what earlier apply changes said. */
const output = (r: RunResult | undefined, said: readonly string[] = []) => (r ? { rc: r.code, stdout: said.length ? [...said, r.stdout].join('\n') : r.stdout, stderr: r.stderr } : {});

/** A cross-host change (the drill) returns its table with its result. */
const tableOf = (r: (RunResult & { table?: ResultTable }) | undefined): ResultTable | undefined => r?.table;
