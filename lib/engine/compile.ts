import type { Problem } from '../core/errors.ts';
import type { HostView } from '../core/host.ts';
import type { Task } from '../core/task.ts';
import type { Inventory } from '../dsl/inventory.ts';
import type { Playbook } from '../dsl/playbook.ts';
import type { Role, RoleContext } from '../dsl/role.ts';
import { selectHosts } from './select-hosts.ts';

/** A task placed in its role. */
export interface PlacedTask {
  task: Task;
  role?: string;
}

/** What one host runs in one play. */
export interface HostWork {
  host: HostView;
  tasks: PlacedTask[];
  /** Handlers by name, in definition order. */
  handlers: PlacedTask[];
}

export interface CompiledPlay {
  name: string;
  work: HostWork[];
}

/** What the user selected on the command line. */
export interface Selection {
  /** Only these hosts or groups. */
  limit?: readonly string[];
  /** Only these roles. */
  roles?: readonly string[];
  /** Only tasks with one of these tags (a task tagged `always` always runs). */
  tags?: readonly string[];
}

/** Where the playbook and the inventory were loaded from, so each problem names its file. */
export interface SourceFiles {
  playbook?: string;
  inventory?: string;
}

export interface Compiled {
  plays: CompiledPlay[];
  problems: Problem[];
  warnings: string[];
}

const notifyList = (t: Task): string[] => {
  const n = t.options.notify;
  return n === undefined ? [] : typeof n === 'string' ? [n] : [...n];
};

/**
 * Turn a playbook and an inventory into the exact work per host, checking
 * everything that can be checked without a connection: host patterns, role
 * variables, task parameters, templates, handler names. Every problem is
 * returned; nothing is thrown.
 */
export function compile<V>(pb: Playbook<V>, inv: Inventory<V>, sel: Selection = {}, files: string | SourceFiles = {}): Compiled {
  const { playbook: file, inventory: invFile } = typeof files === 'string' ? { playbook: files, inventory: undefined } : files;
  const problems: Problem[] = inv.problems.map((p) => ({ file: invFile, ...p }));
  const warnings: string[] = [];
  const plays: CompiledPlay[] = [];

  let limitHosts: Set<string> | undefined;
  if (sel.limit?.length) {
    const { hosts, unknown } = selectHosts(inv, sel.limit);
    unknown.forEach((u) => problems.push({ field: '--limit', message: `unknown host or group "${u}"` }));
    limitHosts = new Set(hosts.map((h) => h.name));
  }
  if (sel.roles?.length) {
    const known = new Set(pb.plays.flatMap((p) => (p.roles ?? []).map((r) => r.name)));
    sel.roles.filter((r) => !known.has(r)).forEach((r) => problems.push({ field: '--role', message: `no play in "${pb.name}" uses role "${r}" (roles: ${[...known].join(', ') || 'none'})` }));
  }

  for (const play of pb.plays) {
    const patterns = typeof play.hosts === 'string' ? [play.hosts] : play.hosts;
    const { hosts, unknown } = selectHosts(inv, patterns);
    unknown.forEach((u) => problems.push({ file, field: `play "${play.name}" hosts`, message: `unknown host or group "${u}"` }));
    const roles: readonly Role<V>[] = (play.roles ?? []).filter((r) => !sel.roles?.length || sel.roles.includes(r.name));
    // --role runs the selected roles alone: a play with none of them, and plays' loose tasks, are left out.
    if (sel.roles?.length && roles.length === 0) continue;
    const work: HostWork[] = [];
    for (const host of hosts) {
      if (limitHosts && !limitHosts.has(host.name) && !host.local) continue;
      const ctx: RoleContext<V> = { host, vars: host.vars, inventory: inv };
      const tasks: PlacedTask[] = [];
      const handlers: PlacedTask[] = [];
      for (const role of roles) {
        for (const vp of safe(() => role.validate?.(ctx) ?? [], `role ${role.name}`, host.name, problems, file)) {
          if (vp.warning) warnings.push(`host ${host.name}: role ${role.name}: ${vp.field}: ${vp.message}`);
          // A role checks the host's variables: they are written in the inventory.
          else problems.push({ file: invFile ?? file, host: host.name, field: vp.field, message: `${vp.message} (role ${role.name})` });
        }
        tasks.push(...safe(() => role.tasks(ctx), `role ${role.name}`, host.name, problems, file).map((task) => ({ task, role: role.name })));
        handlers.push(...safe(() => role.handlers?.(ctx) ?? [], `role ${role.name}`, host.name, problems, file).map((task) => ({ task, role: role.name })));
      }
      if (!sel.roles?.length && play.tasks) tasks.push(...safe(() => play.tasks!(ctx), `play "${play.name}"`, host.name, problems, file).map((task) => ({ task })));
      if (play.handlers) handlers.push(...safe(() => play.handlers!(ctx), `play "${play.name}"`, host.name, problems, file).map((task) => ({ task })));

      for (const { task } of [...tasks, ...handlers]) {
        for (const p of safe(() => task.validate?.(host) ?? [], `task "${task.name}"`, host.name, problems, file)) problems.push({ file, ...p, host: host.name, task: p.task ?? task.name });
      }
      const handlerNames = new Set(handlers.map((h) => h.task.name));
      for (const { task } of tasks) {
        for (const n of notifyList(task)) {
          if (!handlerNames.has(n)) problems.push({ file, host: host.name, task: task.name, field: 'notify', message: `no handler named "${n}" (handlers: ${[...handlerNames].join(', ') || 'none'})` });
        }
      }
      const selected = sel.tags?.length ? tasks.filter(({ task }) => (task.options.tags ?? []).some((t) => t === 'always' || sel.tags!.includes(t))) : tasks;
      work.push({ host, tasks: selected, handlers });
    }
    plays.push({ name: play.name, work });
  }
  return { plays, problems, warnings };
}

/** Run user code (a role, a validator); an exception becomes a problem, not a crash. */
function safe<T>(fn: () => T[], what: string, host: string, problems: Problem[], file?: string): T[] {
  try {
    return fn();
  } catch (e) {
    problems.push({ file, host, message: `${what} threw: ${e instanceof Error ? e.message : String(e)}` });
    return [];
  }
}

export { notifyList };
