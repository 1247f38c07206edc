/** The only door to a host. SSH, local and the test fake all implement it. */
import type { HostView } from './host.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Bytes written to the command's standard input, then closed. */
  stdin?: string | Uint8Array;
  /** Per-command timeout; the transport's default applies when absent. */
  timeoutMs?: number;
}

export interface Transport {
  /** The inventory name of the host, for messages. */
  readonly host: string;
  /**
   * Run one shell command (POSIX sh) and return its exit code and output.
   * Never rejects for a non-zero exit; rejects with TransportError on timeout
   * or a dropped connection. Privilege escalation (become) is applied here.
   */
  run(cmd: string, o?: RunOptions): Promise<RunResult>;
  /** Close the connection. Idempotent. */
  close(): Promise<void>;
  /** Commands run so far: the round-trip count reported by -v and the benchmark. */
  readonly commandCount: number;
}

/** Read-only access to a host, for planners that look across hosts (verify). */
export interface HostReader {
  readonly host: HostView;
  run(cmd: string, o?: RunOptions): Promise<RunResult>;
}
