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

/** An attempt of a task that will be tried again (`retries`, `until`). */
export interface RetryEvent {
  host: string;
  task: string;
  /** The attempt that just ended, from 1, and how many there may be. */
  attempt: number;
  attempts: number;
  /** Why it is tried again: the error, or that `until` said no. */
  reason: string;
  /** Seconds until the next attempt. */
  delay: number;
}

/** The whole run's outcome. */
export interface RunRecap {
  hosts: Record<string, HostRecap>;
  durationMs: number;
  check: boolean;
  interrupted: boolean;
  /** The hosts that are the controller (tasks run on this machine, like verify): see exitCode. */
  local?: readonly string[];
  /** Hosts a stopped rollout never reached, per play, and why it stopped. */
  notReached?: ReadonlyArray<{ host: string; play: string; reason: string }>;
}

/** A play starting, or one rolling batch of it (`serial`). */
export interface PlayStart {
  play: string;
  hosts: readonly string[];
  /** Set when the play rolls: this batch's number (from 1) and how many there are. */
  batch?: { index: number; count: number };
  /** How the play runs when the run decided it: side by side with other plays, rolling or all at once, and why. */
  note?: string;
}

/**
 * Where the runner tells what happens. The console and JSON reporters
 * implement it; tests record it. Only reporters render anything.
 */
export interface Reporter {
  runStart(e: { playbook: string; check: boolean; hosts: readonly string[] }): void;
  playStart(e: PlayStart): void;
  taskResult(r: TaskResult): void;
  command?(e: CommandEvent): void;
  retry?(e: RetryEvent): void;
  warning(message: string): void;
  recap(r: RunRecap): void;
}
