import { redactDeep } from '../core/secret.ts';
import type { TaskResult } from '../core/result.ts';
import type { CommandEvent, PlayStart, Reporter, RunRecap } from './reporter.ts';

/**
 * One JSON object per line, for machines. The last line is always
 * `{"recap": {"<host>": {"ok": n, "changed": n, …}}}`.
 */
export class JsonReporter implements Reporter {
  constructor(private readonly write: (s: string) => void, private readonly verbose = false) {}

  private emit(o: object): void {
    this.write(`${JSON.stringify(redactDeep(o))}\n`);
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
  warning(message: string): void {
    this.emit({ event: 'warning', message });
  }
  recap(r: RunRecap): void {
    const hosts = Object.fromEntries(Object.entries(r.hosts).map(([h, x]) => [h, { ok: x.ok, changed: x.changed, failed: x.failed, skipped: x.skipped, unreachable: x.unreachable }]));
    this.emit({ event: 'summary', durationMs: r.durationMs, check: r.check, interrupted: r.interrupted, notReached: r.notReached ?? [], changes: Object.fromEntries(Object.entries(r.hosts).map(([h, x]) => [h, x.changes])), commands: Object.fromEntries(Object.entries(r.hosts).map(([h, x]) => [h, x.commands])) });
    this.emit({ recap: hosts });
  }
}
