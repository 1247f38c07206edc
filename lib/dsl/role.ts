import type { HostView } from '../core/host.ts';
import type { Task } from '../core/task.ts';
import type { Inventory } from './inventory.ts';

/** What a role sees when it builds its tasks for one host. */
export interface RoleContext<V> {
  host: HostView<V>;
  vars: Readonly<V>;
  /** Every host of the inventory, e.g. to list the real servers in a director's config. */
  inventory: Inventory<V>;
}

/** A problem a role finds in its variables: which field, what is wrong. */
export interface VarProblem {
  field: string;
  message: string;
  /** A warning is printed but does not stop the run. */
  warning?: boolean;
}

/** A named function from a host's typed context to an ordered list of tasks. */
export interface Role<V> {
  readonly name: string;
  /** One line for `--list-tasks` and the README. */
  readonly description?: string;
  /** Check the variables for this host; every problem is listed before any connection. */
  validate?(ctx: RoleContext<V>): VarProblem[];
  tasks(ctx: RoleContext<V>): Task[];
  /** Tasks run at the end of the play, once, if a task notified them by name. */
  handlers?(ctx: RoleContext<V>): Task[];
}

/** The variables a role needs: `VarsOf<typeof director>`. */
export type VarsOf<R> = R extends Role<infer V> ? V : never;

/**
 * Declare a role.
 *
 * @example
 * ```ts
 * import { defineRole, apt, service } from 'play';
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
