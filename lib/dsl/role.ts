import type { HostView } from '../core/host.ts';
import type { Task } from '../core/task.ts';
import type { Inventory } from './inventory-def.ts';
import type { FieldProblem, Problem } from '../core/errors.ts';

/** What a role sees when it builds its tasks for one host. */
export interface RoleContext<V> {
  host: HostView<V>;
  vars: Readonly<V>;
  /** Every host of the inventory, e.g. to list the real servers in a director's config. */
  inventory: Inventory<V>;
}

/** A problem a role finds in its variables: which field, what is wrong. */
export interface VarProblem extends FieldProblem {
  /** A warning is printed but does not stop the run. */
  warning?: boolean;
}

/** A problem of an inventory-wide rule; `host` only when the value at fault is that host's own. */
export interface InventoryProblem extends VarProblem, Pick<Problem, 'host'> {}

/**
 * A rule about the inventory as a whole (a cluster model every host shares),
 * given the hosts the role runs on in this run. Compile runs each rule
 * function once per run, however many hosts and roles use it: roles that
 * share a model share the rule (the same function), and its problems are
 * reported once, against the inventory rather than a host.
 */
export type InventoryRule<V> = (inventory: Inventory<V>, hosts: readonly HostView<V>[]) => InventoryProblem[];

/** A named function from a host's typed context to an ordered list of tasks. */
export interface Role<V> {
  readonly name: string;
  /** One line for `--list-tasks` and the README. */
  readonly description?: string;
  /**
   * Rules about the whole inventory, each run once per compile (see
   * {@link InventoryRule}). When one reports a problem, the role builds no
   * tasks and runs no `validate` anywhere: both would read the values found
   * wrong and repeat the mistake.
   */
  inventoryRules?: readonly InventoryRule<V>[];
  /**
   * Check what is particular to this host (is it in the cluster?); every
   * problem is listed before any connection. When one is found the role
   * builds no tasks for this host.
   */
  validate?(ctx: RoleContext<V>): VarProblem[];
  /** Its tasks for one host; a task's `when` reads the same typed `vars`. */
  tasks(ctx: RoleContext<V>): Task<unknown, V>[];
  /** Tasks run at the end of the play, once, if a task notified them by name. */
  handlers?(ctx: RoleContext<V>): Task<unknown, V>[];
}

/**
 * Declare a role.
 *
 * @example
 * ```ts
 * import { defineRole, apt, service } from 'playbook-ts';
 * export const web = defineRole<{ site: string }>({
 *   name: 'web',
 *   tasks: () => [
 *     apt({ name: 'nginx', state: 'present' }),
 *     service({ name: 'nginx', state: 'started', enabled: true }),
 *   ],
 * });
 * ```
 */
export function defineRole<V>(role: Role<V>): Role<V> {
  return role;
}
