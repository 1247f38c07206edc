import type { Problem } from '../core/errors.ts';
import type { ExitCode } from '../core/exit-codes.ts';
import { redactDeep } from '../core/secret.ts';
import type { TaskResult } from '../core/result.ts';
import type { CommandEvent, PlayStart, Reporter, RetryEvent, RunRecap } from './reporter.ts';

type Counts = Record<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: number }>;

/**
 * One JSON object per line, for machines. The last line is always
 * `{"recap": {"<host>": {"ok": n, "changed": n, …}}, "exit": code}` — also
 * when the run never started (`{"recap": {}, "exit": 1}` after a `problems`
 * event), so a script reads one line, whatever went wrong.
 */
export class JsonReporter implements Reporter {
  private counts: Counts = {};

  constructor(private readonly write: (s: string) => void, private readonly verbose = false) {}

  private emit(o: object): void {
    this.write(`${JSON.stringify(redactDeep(o))}\n`);
  }

  /**
   * What stopped play before any host was contacted (usage, load and
   * validation errors), each located as {@link Problem} is. Internal errors
   * come as one problem with no location.
   */
  problems(problems: readonly Problem[]): void {
    this.emit({ event: 'problems', problems: problems.map((p) => ({ file: p.file, host: p.host, hosts: p.hosts, task: p.task, field: p.field, message: p.message })) });
  }

  /** The last line: the recap's counts (none before the run) and the exit code. */
  exit(code: ExitCode): void {
    this.emit({ recap: this.counts, exit: code });
  }

  runStart(e: { playbook: string; check: boolean; hosts: readonly string[] }): void {
    this.emit({ event: 'run_start', ...e });
  }
  playStart(e: PlayStart): void {
    this.emit({ event: 'play_start', ...e });
  }
  taskResult(r: TaskResult): void {
    this.emit({ event: 'task', ...r });
  }
  command(e: CommandEvent): void {
    if (this.verbose) this.emit({ event: 'command', ...e });
  }
  /** Every retry, with or without -v: a script waiting on a run wants to see it is waiting. */
  retry(e: RetryEvent): void {
    this.emit({ event: 'retry', ...e });
  }
  warning(message: string): void {
    this.emit({ event: 'warning', message });
  }
  recap(r: RunRecap): void {
    this.counts = Object.fromEntries(Object.entries(r.hosts).map(([h, x]) => [h, { ok: x.ok, changed: x.changed, failed: x.failed, skipped: x.skipped, unreachable: x.unreachable }]));
    this.emit({ event: 'summary', durationMs: r.durationMs, check: r.check, interrupted: r.interrupted, notReached: r.notReached ?? [], changes: Object.fromEntries(Object.entries(r.hosts).map(([h, x]) => [h, x.changes])), commands: Object.fromEntries(Object.entries(r.hosts).map(([h, x]) => [h, x.commands])) });
    // The recap line itself comes with the exit code, from exit().
  }
}
