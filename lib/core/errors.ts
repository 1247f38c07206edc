import type { ResultTable } from './change.ts';
import { clip, redact } from './secret.ts';

/**
 * Every failure play reports is one of these classes. Only the CLI catches
 * them (lib/cli/main.ts) and turns them into an exit code; everything else
 * lets them travel.
 */

/** One thing wrong with the input, located as precisely as we can. */
export interface Problem {
  message: string;
  file?: string;
  host?: string;
  /** Set instead of `host` when the same mistake was found for several hosts (a role's task on each host it runs on). */
  hosts?: readonly string[];
  task?: string;
  field?: string;
}

/**
 * A problem in one field of a value under check (a task's parameters, a
 * role's variables), before the checker adds where the value came from
 * (file, host, task).
 */
export type FieldProblem = Required<Pick<Problem, 'field' | 'message'>>;

/** Render a problem as `file: host LB1: task "x": field y: message` (`hosts RS1, RS2` for several). */
export function formatProblem(p: Problem): string {
  const where = [
    p.file,
    p.host && `host ${p.host}`,
    p.hosts?.length && `hosts ${p.hosts.join(', ')}`,
    p.task && `task "${p.task}"`,
    p.field && `field ${p.field}`,
  ].filter(Boolean);
  return where.length ? `${where.join(': ')}: ${p.message}` : p.message;
}

/**
 * One problem per mistake: problems that differ only in their host (a
 * role's task, or a variable its role requires, on every host the role runs
 * on) become one, naming the hosts. Order: where each was first found.
 *
 * @example
 * ```ts
 * import { mergeHosts } from './errors.ts';
 * const one = mergeHosts([
 *   { file: 'site.ts', host: 'RS1', task: 'command true', field: 'colour', message: 'unknown parameter' },
 *   { file: 'site.ts', host: 'RS2', task: 'command true', field: 'colour', message: 'unknown parameter' },
 * ]); // [{ file: 'site.ts', hosts: ['RS1', 'RS2'], task: 'command true', field: 'colour', message: 'unknown parameter' }]
 * ```
 */
export function mergeHosts(problems: readonly Problem[]): Problem[] {
  const byKey = new Map<string, { first: Problem; hosts: string[] }>();
  const out: Array<{ first: Problem; hosts: string[] } | Problem> = [];
  for (const p of problems) {
    if (p.host === undefined) { out.push(p); continue; }
    const key = JSON.stringify([p.file, p.task, p.field, p.message]);
    const seen = byKey.get(key);
    if (seen) { if (!seen.hosts.includes(p.host)) seen.hosts.push(p.host); continue; }
    const entry = { first: p, hosts: [p.host] };
    byKey.set(key, entry);
    out.push(entry);
  }
  return out.map((e) => {
    if (!('first' in e)) return e;
    if (e.hosts.length === 1) return e.first;
    const { host: _one, ...rest } = e.first;
    return { ...rest, hosts: e.hosts };
  });
}

/**
 * Base class: anything play itself reports as an error. The message is
 * redacted here, once, so no error path can print a secret (the CLI's error
 * boundary prints messages as they are).
 */
export class PlayError extends Error {
  override name = 'PlayError';
  constructor(message?: string) {
    super(message === undefined ? undefined : redact(message));
  }
}

/** Bad command-line usage. Exit code 1, nothing contacted. */
export class UsageError extends PlayError {
  override name = 'UsageError';
}

/**
 * The inventory, a playbook or a role's input is wrong. Carries every problem
 * found, so the user fixes them all in one go. Exit code 1, nothing contacted.
 */
export class ValidationError extends PlayError {
  override name = 'ValidationError';
  constructor(readonly problems: Problem[], headline = `${problems.length} problem(s) found before contacting any host`) {
    super(`${headline}:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`);
  }
}

/** A file (playbook, inventory) could not be loaded at all. */
export class LoadError extends PlayError {
  override name = 'LoadError';
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
  }
}

/** A host could not be reached or authenticated. The host is "unreachable". */
export class ConnectError extends PlayError {
  override name = 'ConnectError';
  constructor(readonly host: string, readonly reason: string) {
    super(`${host}: ${reason}`);
  }
}

/** The host presented a key that is not the trusted one. Never retried. */
export class HostKeyError extends ConnectError {
  override name = 'HostKeyError';
}

/** A command on a host did not finish in time, or its connection dropped mid-way. */
export class TransportError extends PlayError {
  override name = 'TransportError';
  constructor(readonly host: string, readonly cmd: string, readonly reason: string) {
    super(`${host}: ${reason} (command: ${clip(cmd, 117)})`);
  }
}

/** A task failed on a host: its command exited non-zero, or a planner refused. */
export class TaskError extends PlayError {
  override name = 'TaskError';
  constructor(
    readonly host: string,
    readonly task: string,
    message: string,
    /**
     * What failed: the command (`cmd`), or what a change that applies
     * itself does (`what`), and its output; or the table of a failing check.
     */
    readonly detail: { cmd?: string; what?: string; code?: number; stdout?: string; stderr?: string; table?: ResultTable } = {},
  ) {
    super(message);
  }
}
