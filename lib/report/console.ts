import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { clip, redact } from '../core/secret.ts';
import type { Status, TaskResult } from '../core/result.ts';
import type { CommandEvent, PlayStart, Reporter, RetryEvent, RunRecap } from './reporter.ts';
import { unifiedDiff } from './unified-diff.ts';

export interface ConsoleOptions {
  write: (s: string) => void;
  /** Colour: auto-detected by the caller (TTY and no NO_COLOR). */
  color: boolean;
  diff: boolean;
  verbose: boolean;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/**
 * Human output: one line per task result per host, diffs under it with
 * --diff, commands with -v, and the per-host change summary at the end.
 * Everything written passes through redact(): secrets never reach a terminal.
 */
export class ConsoleReporter implements Reporter {
  private c: ChalkInstance;
  private hostWidth = 8;

  constructor(private readonly o: ConsoleOptions) {
    this.c = new Chalk({ level: o.color ? 1 : 0 });
  }

  private line(s = ''): void {
    this.o.write(`${redact(s)}\n`);
  }

  private paint(status: Status, text: string): string {
    const c = this.c;
    return { ok: c.green, changed: c.yellow, failed: c.red, skipped: c.cyan, unreachable: c.magenta }[status](text);
  }

  runStart(e: { playbook: string; check: boolean; hosts: readonly string[] }): void {
    this.hostWidth = Math.max(8, ...e.hosts.map((h) => h.length + 1));
    this.line(this.c.bold(`${e.check ? 'CHECK (nothing will be changed)' : 'RUN'} ${e.playbook} on ${e.hosts.length} host(s)`));
  }

  playStart(e: PlayStart): void {
    this.line();
    this.line(this.c.bold(`PLAY [${e.play}]${e.batch ? ` batch ${e.batch.index}/${e.batch.count}:` : ''} ${e.hosts.join(', ')}`) + (e.note ? this.c.dim(` (${e.note})`) : ''));
  }

  taskResult(r: TaskResult): void {
    const label = r.changes.some((c) => c.planned) && r.status === 'changed' ? 'would change' : r.status;
    const task = `${r.handler ? 'handler: ' : ''}${r.role ? `${r.role}: ` : ''}${r.task}`;
    const first = r.changes[0];
    const detail = r.status === 'changed' && first ? ` — ${first.summary}${r.changes.length > 1 ? ` (+${r.changes.length - 1})` : ''}` : '';
    this.line(`${pad(r.host, this.hostWidth)} ${this.paint(r.status, pad(label, 12))} ${task}${detail}${this.o.verbose ? this.c.dim(` [${r.attempts !== undefined ? `${r.attempts} attempt${r.attempts === 1 ? '' : 's'}, ` : ''}${r.commands} cmd, ${r.durationMs} ms]`) : ''}`);
    // The first change is on the task's line; the others follow it.
    for (const c of r.changes.slice(1)) this.line(`${' '.repeat(this.hostWidth + 14)}+ ${c.summary}`);
    for (const c of r.changes) if (c.predicted) this.line(this.c.dim(`${' '.repeat(this.hostWidth + 14)}(predicted: ${c.predicted})`));
    if (r.error) this.line(this.c.red(r.error.replace(/^/gm, ' '.repeat(this.hostWidth + 14))));
    if (r.table) this.line(this.table(r.table.head, r.table.rows.map((row) => row.map((cell, i) => (r.table!.head[i] === 'pass' ? (cell === 'yes' ? this.c.green(cell) : cell === 'no' ? this.c.red(cell) : this.c.cyan(cell)) : cell)))));
    if (this.o.verbose && (r.status === 'ok' || r.status === 'skipped')) for (const n of r.notes) this.line(this.c.dim(`${' '.repeat(this.hostWidth + 14)}${n}`));
    if (this.o.diff) {
      for (const c of r.changes) {
        if (!c.diff) continue;
        for (const l of unifiedDiff(c.diff).split('\n')) {
          const colored = l.startsWith('+') && !l.startsWith('+++') ? this.c.green(l) : l.startsWith('-') && !l.startsWith('---') ? this.c.red(l) : l.startsWith('@@') ? this.c.cyan(l) : l;
          this.line(`    ${colored}`);
        }
      }
    }
  }

  /** With -v: each attempt that will be tried again, as Ansible's "FAILED - RETRYING". */
  retry(e: RetryEvent): void {
    if (!this.o.verbose) return;
    const reason = e.reason.split('\n')[0] ?? '';
    this.line(this.c.yellow(`${pad(e.host, this.hostWidth)} ${pad('retrying', 12)} ${e.task} — attempt ${e.attempt}/${e.attempts}: ${reason}; again in ${e.delay} s`));
  }

  command(e: CommandEvent): void {
    if (!this.o.verbose) return;
    // Redact before cutting: a cut through a secret would leave its start unrecognisable.
    const cmd = clip(e.cmd, 400, `… (${e.cmd.length} chars)`);
    this.line(this.c.dim(`  ${e.host} $ ${cmd.replace(/\n/g, '\n    ')}  → exit ${e.code} in ${e.durationMs} ms`));
    const show = (s: string) => clip(s, 2000, `… (${s.length} bytes)`).trimEnd();
    if (e.stdout.trim()) this.line(this.c.dim(show(e.stdout).replace(/^/gm, '    | ')));
    if (e.stderr.trim()) this.line(this.c.dim(show(e.stderr).replace(/^/gm, '    ! ')));
  }

  private table(head: string[], rows: Array<Array<string | number>>): string {
    const t = new Table({ head, style: { head: this.o.color ? ['bold'] : [], border: [] } });
    t.push(...rows.map((r) => r.map(String)));
    return t.toString();
  }

  warning(message: string): void {
    this.line(this.c.yellow(`[WARNING] ${message}`));
  }

  recap(r: RunRecap): void {
    this.line();
    this.line(this.c.bold(`${r.check ? 'CHECK ' : ''}RECAP${r.interrupted ? ' (interrupted)' : ''}`));
    this.line(this.table(['host', 'ok', 'changed', 'failed', 'skipped', 'unreachable', 'time'], Object.entries(r.hosts).map(([host, h]) => [
      host, this.c.green(h.ok), this.paint('changed', String(h.changed)), this.paint('failed', String(h.failed)), this.c.cyan(h.skipped), this.paint('unreachable', String(h.unreachable)), `${(h.durationMs / 1000).toFixed(2)} s`,
    ])));
    const changed = Object.entries(r.hosts).filter(([, h]) => h.changes.length);
    const unreached = Object.entries(r.hosts).filter(([, h]) => h.unreachable > 0).map(([host]) => host);
    if (changed.length) {
      this.line(r.check ? 'Would change:' : 'Changed:');
      for (const [host, h] of changed) {
        this.line(`  ${this.c.bold(host)}`);
        for (const c of h.changes) this.line(`    - ${c}`);
      }
    } else if (unreached.length) {
      // "Nothing would change" would be read as "all is in place": on these hosts nobody looked.
      this.line(`${r.check ? 'Nothing would change' : 'Nothing changed'} on the hosts reached.`);
    } else {
      this.line(r.check ? 'Nothing would change.' : 'Nothing changed.');
    }
    if (unreached.length) this.line(this.c.magenta(`${unreached.length} host(s) not reached (unreachable): ${unreached.join(', ')}`));
    const missed = r.notReached ?? [];
    if (missed.length) {
      this.line(this.c.red(`Not reached: ${[...new Set(missed.map((m) => m.host))].join(', ')}`));
      for (const reason of new Set(missed.map((m) => m.reason))) this.line(this.c.red(`  ${reason}`));
    }
    this.line(this.c.dim(`${(r.durationMs / 1000).toFixed(2)} s`));
  }
}
