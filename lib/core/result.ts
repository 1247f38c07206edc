import type { Diff, ResultTable } from './change.ts';

/** The fixed vocabulary of outcomes, as in Ansible's recap. */
export type Status = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** A change as reported: what was (or would be) done, without the command. */
export interface ReportedChange {
  summary: string;
  diff?: Diff;
  predicted?: string;
  /** true when check mode only planned it. */
  planned?: boolean;
}

/** What one task did on one host; what `register` stores. */
export interface TaskResult {
  host: string;
  play: string;
  role?: string;
  task: string;
  kind: string;
  status: Status;
  changes: ReportedChange[];
  notes: string[];
  /** Set on failure: the message, naming host and task. */
  error?: string;
  /** Output of the last command applied (command task, -v). */
  rc?: number;
  stdout?: string;
  stderr?: string;
  handler?: boolean;
  /** Checks a read-only task made (verify), shown as a table. */
  table?: ResultTable;
  durationMs: number;
  /** Commands this task sent to the host (facts + changes). */
  commands: number;
  /** Set when the task may retry (`retries`, `until`): how many attempts it took. */
  attempts?: number;
}

/** Counts per host, as in the PLAY RECAP. */
export interface HostRecap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  durationMs: number;
  /** "task: summary" for every change, in order. */
  changes: string[];
  commands: number;
}

export const emptyRecap = (): HostRecap => ({
  ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, durationMs: 0, changes: [], commands: 0,
});
