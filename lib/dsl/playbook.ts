import type { Role, RoleContext } from './role.ts';
import type { Task } from '../core/task.ts';

/**
 * One play: a set of hosts and what to run on them. Plays are barriers:
 * every host finishes play N before play N+1 starts.
 */
export interface Play<V> {
  name: string;
  /** Group names, host names, or `'controller'` (the machine running play). */
  hosts: string | readonly string[];
  roles?: readonly Role<V>[];
  /** Tasks after the roles' tasks. */
  tasks?: (ctx: RoleContext<V>) => Task[];
  handlers?: (ctx: RoleContext<V>) => Task[];
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
 * import { definePlaybook, defineRole, command } from 'play';
 * const hello = defineRole<{}>({ name: 'hello', tasks: () => [command({ cmd: 'true', changedWhen: () => false })] });
 * export default definePlaybook<{}>({
 *   name: 'hello',
 *   plays: [{ name: 'say hello', hosts: 'all', roles: [hello] }],
 * });
 * ```
 */
export function definePlaybook<V>(p: Playbook<V>): Playbook<V> {
  return p;
}
