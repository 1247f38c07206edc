import type { HostView } from '../core/host.ts';
import type { InventoryRule, Role, RoleContext } from './role.ts';
import type { HostAccess, Task } from '../core/task.ts';

/**
 * Hosts per rolling batch: a count, a share of the play's hosts (`'30%'`),
 * or a list of those whose last entry repeats (`[1, '50%']`: one host
 * first, as a canary, then half of them at a time) — Ansible's `serial`.
 */
export type Serial = number | `${number}%` | readonly (number | `${number}%`)[];

/**
 * The order a play takes its hosts in (and so cuts its batches): Ansible's
 * `order` names, or a function that sorts the play's hosts (it may not add
 * or drop any).
 */
export type HostOrder<V> = 'inventory' | 'reverse_inventory' | 'sorted' | 'reverse_sorted' | ((hosts: readonly HostView<V>[]) => readonly HostView<V>[]);

/** What a {@link RollDecision} may look at: the play's hosts, the inventory, and read-only commands on any host. */
export interface RollContext<V> {
  /** The play's hosts (after `--limit`), in its order. */
  hosts: readonly HostView<V>[];
  /** Every host of the inventory (a cluster's other members, e.g. its directors). */
  inventoryHosts: readonly HostView<V>[];
  /** Run read-only commands on any inventory host (the connection is the run's own). */
  reader(hostName: string): Promise<HostAccess>;
}

/** A {@link RollDecision}'s answer, and why: the run prints the reason next to the play. */
export interface RollAnswer {
  roll: boolean;
  why: string;
}

/**
 * Asked when a play's turn comes, before its first batch: does this run
 * need the rolling `serial` asks for? Read-only. An answer of no runs every
 * host at once; a decision that throws rolls (the safe default), saying so.
 */
export type RollDecision<V> = (ctx: RollContext<V>) => RollAnswer | Promise<RollAnswer>;

/**
 * One play: a set of hosts and what to run on them. Plays are barriers:
 * every host finishes play N before play N+1 starts (unless play N+1 runs
 * {@link Play.withPrevious | side by side} with it).
 */
export interface Play<V> {
  name: string;
  /** Group names, host names, or `'controller'` (the machine running play). */
  hosts: string | readonly string[];
  /**
   * Roll through the hosts in batches: each batch finishes (tasks, handlers,
   * post tasks) before the next starts, and a batch with failures stops the
   * run (see `maxFailPercentage`). @default every host at once
   */
  serial?: Serial;
  /**
   * Roll (as `serial` says) only when this answers yes; otherwise every host
   * at once. A rolling change protects what a cluster serves: where nothing
   * serves yet (a first deployment), it only costs time. Needs `serial`.
   * @default always roll
   */
  rollIf?: RollDecision<V>;
  /**
   * Run side by side with the play before it (and whatever runs beside
   * that one), when none of them rolls: their tasks run at once, and their
   * post tasks (health gates) start when every host of all of them is
   * through its tasks and handlers, so each gate sees the whole change.
   * When one of them rolls, they run one after the other as usual: two
   * rollings at once would each see the other's hosts as unhealthy. The
   * plays must not share a host. @default false
   */
  withPrevious?: boolean;
  /**
   * Share of a batch's hosts that may fail (or be unreachable) and the run
   * still goes on to the next batch; more than this stops it, and the recap
   * names the hosts not reached. @default 0 with `serial` (any failure
   * stops the rollout), no limit without it
   */
  maxFailPercentage?: number;
  /** The order hosts are taken in, and batched. @default 'inventory' */
  order?: HostOrder<V>;
  /**
   * Tasks before the roles' tasks, in every batch (e.g. a health gate: is
   * the cluster healthy before this batch is touched?). Their notified
   * handlers run before the roles start.
   */
  preTasks?: (ctx: RoleContext<V>) => Task<unknown, V>[];
  /**
   * Inventory-wide rules the play's own tasks rely on, as a role's (see
   * {@link InventoryRule}): each runs once per compile, and when one finds
   * a problem the play builds none of its own tasks.
   */
  inventoryRules?: readonly InventoryRule<V>[];
  roles?: readonly Role<V>[];
  /** Tasks after the roles' tasks. */
  tasks?: (ctx: RoleContext<V>) => Task<unknown, V>[];
  /**
   * Tasks after the handlers the roles and tasks notified, in every batch
   * (e.g. a health gate: wait until the cluster is healthy again before the
   * next batch).
   */
  postTasks?: (ctx: RoleContext<V>) => Task<unknown, V>[];
  handlers?: (ctx: RoleContext<V>) => Task<unknown, V>[];
}

/** An ordered list of plays. */
export interface Playbook<V> {
  name: string;
  plays: readonly Play<V>[];
}

/**
 * Declare a playbook.
 *
 * @example
 * ```ts
 * import { definePlaybook, defineRole, command } from 'playbook-ts';
 * const hello = defineRole<{}>({ name: 'hello', tasks: () => [command({ cmd: 'true', changedWhen: () => false })] });
 * export default definePlaybook<{}>({
 *   name: 'hello',
 *   plays: [
 *     { name: 'say hello', hosts: 'all', roles: [hello] },
 *     // One host first as a canary, then a third of them at a time; one failure stops the rollout.
 *     { name: 'rolling', hosts: 'all', serial: [1, '33%'], maxFailPercentage: 0, roles: [hello] },
 *   ],
 * });
 * ```
 */
export function definePlaybook<V>(p: Playbook<V>): Playbook<V> {
  return p;
}

/** The variables a role (or a playbook's roles) need: `VarsOf<typeof director>`, `VarsOf<typeof site>`. */
export type VarsOf<R> = R extends Role<infer V> ? V : R extends Playbook<infer V> ? V : never;
