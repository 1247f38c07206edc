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

/**
 * An inventory host, and any shell command on it over the run's connection
 * to it: to read it or to change it. Not a reader: planners read other hosts
 * through it (verify, the health gate), and changes that span hosts act
 * through it — the failover drill stops and starts keepalived on a MASTER, a
 * handover sets the track file on the director giving the VIP up, a drain
 * sets IPVS weights on every director. Not a {@link Transport} either: it
 * is borrowed, so it has no `close()` (the runner closes the connection
 * once the run ends).
 *
 * @example
 * ```ts
 * import type { HostAccess } from './transport.ts';
 * async function stopKeepalived(h: HostAccess): Promise<void> {
 *   const r = await h.run('systemctl stop keepalived');
 *   if (r.code !== 0) throw new Error(`${h.host.name}: ${r.stderr.trim()}`);
 * }
 * ```
 */
export interface HostAccess {
  readonly host: HostView;
  run(cmd: string, o?: RunOptions): Promise<RunResult>;
}
