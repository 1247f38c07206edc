import type { HostAccess, RunResult } from './transport.ts';

/** Before and after of one file or value. Only the reporter renders it. */
export interface Diff {
  path?: string;
  before: string;
  after: string;
}

/** How a finished command is judged: did it change anything, did it fail. */
export interface Verdict {
  changed: boolean;
  failed: boolean;
}

/** What every change has, whichever way it is made. */
interface ChangeBase {
  /** One line, e.g. "set net.ipv4.conf.lo.arp_ignore 0 → 1". */
  summary: string;
  diff?: Diff;
  /**
   * Safe to run in check mode (it reads only). Check mode applies these,
   * so read-only commands can feed `register` during a dry run.
   */
  readOnly?: boolean;
  /**
   * Set when this change was planned on top of an earlier change that check
   * mode did not apply (e.g. a service whose package is not installed yet):
   * the reason why the prediction is not certain.
   */
  predicted?: string;
  /**
   * The service (its unit name, e.g. `nginx.service`) this change starts
   * from stopped. The runner notes when, so that a restart handler notified
   * before the start can tell it has nothing to do (the start read the new
   * config): see `PlanContext.startedSinceNotified`.
   */
  starts?: string;
  /** The service (its unit name) this change stops: an earlier start no longer counts. */
  stops?: string;
  /** Judge the result; default: exit 0 is a change, anything else a failure. */
  judge?: (r: RunResult) => Verdict;
  /** Message used when the change fails; default names the summary and the exit code. */
  failMessage?: (r: RunResult) => string;
}

/** A change made by one shell command on the task's host: nearly all of them. */
export interface CommandChange extends ChangeBase {
  /** The shell command that makes the change. */
  exec: string;
  /** Bytes written to its standard input (a file's content). */
  stdin?: string | Uint8Array;
  /**
   * How long `exec` may run, when it is meant to outlast the transport's
   * per-command default (a bounded wait). @default the transport's
   */
  timeoutMs?: number;
  apply?: never;
  what?: never;
}

/**
 * A change the runner cannot make with one command on one host: it spans
 * hosts (the failover drill, a VIP handover, IPVS weights on every
 * director), runs on the controller (a wait from outside), or outlives the
 * connection (a reboot). The runner calls `apply`, and judges its result as
 * a command's; the commands it runs are shown with -v as they are sent.
 */
export interface ApplyChange extends ChangeBase {
  apply: (io: ApplyIO) => Promise<RunResult & { table?: ResultTable }>;
  /**
   * What `apply` does, in words, and where (with the commands it runs, when
   * they say it best): the failure's detail names this where a command
   * change's names its command.
   */
  what: string;
  exec?: never;
  stdin?: never;
  timeoutMs?: never;
}

/**
 * One step a task needs to reach its desired state. Planning produces these;
 * the runner applies them (or, in check mode, only reports them): a command
 * (`exec`) or, for what one command cannot do, an `apply` function — never both.
 */
export type Change = CommandChange | ApplyChange;

/**
 * An apply change's `what`, step by step: each step's words, then the
 * commands it runs, indented under them.
 *
 * @example
 * ```ts
 * import { outline } from './change.ts';
 * outline([['on LB1:', 'ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.103:80 -g -w 0']]);
 * // => "on LB1:\n  ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.103:80 -g -w 0"
 * ```
 */
export function outline(steps: ReadonlyArray<readonly [words: string, ...commands: string[]]>): string {
  return steps.map(([words, ...commands]) => [words, ...commands.map((c) => c.replace(/^/gm, '  '))].join('\n')).join('\n');
}

/** What a change that applies itself may use. */
export interface ApplyIO {
  /** Another inventory host (or this one), over the run's connection to it: to read it, or to act on it. */
  host(hostName: string): Promise<HostAccess>;
  /** This host. */
  self: HostAccess;
  /**
   * Drop this host's connection and open a new one, checked as the first was
   * (reboot). Rejects while the host does not answer; tasks' later commands
   * go over the new connection.
   */
  reconnect?(): Promise<void>;
}

/** Rows a read-only task reports (verify): rendered as a table by the reporter. */
export interface ResultTable {
  head: string[];
  rows: string[][];
}

/** The planner's answer for one task on one host. */
export interface Plan {
  changes: Change[];
  /** Why nothing needs doing ("nginx is running"), shown with -v. */
  notes: string[];
  table?: ResultTable;
  /**
   * The task cannot be judged now (e.g. verify in check mode while changes
   * planned on other hosts were not applied): reported as skipped, with this reason.
   */
  skip?: string;
}

/** Helpers for planners: a plan with no change and a reason. */
export const noop = (...notes: string[]): Plan => ({ changes: [], notes });
/** A plan made of changes, with optional notes about what is already fine. */
export const changes = (list: Change[], notes: string[] = []): Plan => ({ changes: list, notes });
