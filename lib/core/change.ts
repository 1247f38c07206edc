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

/**
 * One step a task needs to reach its desired state. Planning produces these;
 * the runner applies them (or, in check mode, only reports them).
 */
export interface Change {
  /** One line, e.g. "set net.ipv4.conf.lo.arp_ignore 0 → 1". */
  summary: string;
  diff?: Diff;
  /** The shell command that makes the change, and its stdin. */
  exec: string;
  stdin?: string | Uint8Array;
  /**
   * How long `exec` may run, when it is meant to outlast the transport's
   * per-command default (a bounded wait). @default the transport's
   */
  timeoutMs?: number;
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
   * For changes that span hosts (the failover drill): the runner calls this
   * instead of running `exec`, which then only describes the change for -v.
   */
  apply?: (io: ApplyIO) => Promise<RunResult & { table?: ResultTable }>;
  /** Judge the result; default: exit 0 is a change, anything else a failure. */
  judge?: (r: RunResult) => Verdict;
  /** Message used when the change fails; default names the command. */
  failMessage?: (r: RunResult) => string;
}

/** What a change that applies itself may use. */
export interface ApplyIO {
  /** An inventory host (this one too), over the run's connection to it: to read it or to act on it. */
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
