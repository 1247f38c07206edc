import type { TaskResult } from '../../lib/core/result.ts';
import type { Reporter, RetryEvent, RunRecap } from '../../lib/report/reporter.ts';

/** Keeps every event, in order, for assertions. */
export class RecordingReporter implements Reporter {
  events: string[] = [];
  results: TaskResult[] = [];
  warnings: string[] = [];
  retries: RetryEvent[] = [];
  recapSeen?: RunRecap;

  runStart(e: { playbook: string }): void { this.events.push(`run ${e.playbook}`); }
  playStart(e: { play: string; hosts: readonly string[]; batch?: { index: number; count: number }; note?: string }): void {
    this.events.push(`play ${e.play}${e.batch ? ` ${e.batch.index}/${e.batch.count}` : ''} [${e.hosts.join(',')}]${e.note ? ` (${e.note})` : ''}`);
  }
  taskResult(r: TaskResult): void {
    this.results.push(r);
    this.events.push(`${r.host} ${r.status} ${r.task}`);
  }
  warning(m: string): void { this.warnings.push(m); }
  retry(e: RetryEvent): void {
    this.retries.push(e);
    this.events.push(`${e.host} retry ${e.task} ${e.attempt}/${e.attempts}`);
  }
  recap(r: RunRecap): void { this.recapSeen = r; }

  /** Results of one host as "status task" lines. */
  of(host: string): string[] {
    return this.results.filter((r) => r.host === host).map((r) => `${r.status} ${r.task}`);
  }
}
