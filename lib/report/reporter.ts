import type { HostRecap, TaskResult } from '../core/result.ts';

/** A command as seen on the wire, for -v. */
export interface CommandEvent {
  host: string;
  cmd: string;
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** The whole run's outcome. */
export interface RunRecap {
  hosts: Record<string, HostRecap>;
  durationMs: number;
  check: boolean;
  interrupted: boolean;
}

/**
 * Where the runner tells what happens. The console and JSON reporters
 * implement it; tests record it. Only reporters render anything.
 */
export interface Reporter {
  runStart(e: { playbook: string; check: boolean; hosts: readonly string[] }): void;
  playStart(e: { play: string; hosts: readonly string[] }): void;
  taskResult(r: TaskResult): void;
  command?(e: CommandEvent): void;
  warning(message: string): void;
  recap(r: RunRecap): void;
}
