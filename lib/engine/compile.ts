import { mergeHosts, type Problem } from '../core/errors.ts';
import { describe } from '../core/rules.ts';
import type { HostView } from '../core/host.ts';
import type { Task } from '../core/task.ts';
import { CONTROLLER, type Inventory } from '../dsl/inventory.ts';
import type { Play, Playbook, RollDecision } from '../dsl/playbook.ts';
import type { InventoryProblem, InventoryRule, Role, RoleContext } from '../dsl/role.ts';
import { batchStops, maxFailProblem, orderHosts, serialProblem, splitBatches } from './batches.ts';
import { listExisting, selectHosts } from './select-hosts.ts';
import { throwSite } from './throw-site.ts';

/**
 * Where a task sits in its play: pre tasks, then the roles' and the play's
 * tasks, then post tasks. Notified handlers run at the end of each phase.
 */
export type Phase = 'pre' | 'main' | 'post';

/** A task placed in its role. */
export interface PlacedTask {
  task: Task;
  role?: string;
  /** @default 'main' */
  phase?: Phase;
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
  /** Every host's work, in the play's order. */
  work: HostWork[];
  /** The same work cut into rolling batches (one batch without `serial`). */
  batches: HostWork[][];
  /** Does a batch with failures stop the run? Set with `serial` or `maxFailPercentage`. */
  stopsOnFailure: boolean;
  maxFailPercentage?: number;
  /** Asked at the play's turn whether `batches` is needed; no: every host at once. */
  rollIf?: RollDecision<unknown>;
  /**
   * Plays of one group may run side by side (see `withPrevious`): the index,
   * in the playbook, of the group's first play.
   */
  group: number;
  /** The play's hosts as the playbook and inventory give them, before --limit (the ones side-by-side plays must not share). */
  hostNames: readonly string[];
}

/** Does this batch's outcome stop the run? */
export function stopsAfter(play: CompiledPlay, failed: number, size: number): boolean {
  return play.stopsOnFailure && batchStops(failed, size, play.maxFailPercentage);
}

/**
 * What the user selected on the command line. Undefined: not selected by
 * that; an empty list (`--limit=`, an unset `$HOSTS`) is a problem, never
 * "everything". A selection that selects nothing is a problem too, listing
 * what exists.
 */
export interface Selection {
  /** Only these hosts or groups. */
  limit?: readonly string[];
  /** Only these roles. */
  roles?: readonly string[];
  /** Only tasks with one of these tags (a task tagged `always` runs too). */
  tags?: readonly string[];
  /**
   * Leave out tasks with any of these tags, as Ansible does: a task tagged
   * `always` is left out only when one of its tags is named (`always` itself,
   * or another of its tags).
   */
  skipTags?: readonly string[];
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

const notifyList = (t: Task): string[] => [...(t.options.notify ?? [])];

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
  // Tags of the tasks the host and role selection leaves, to check --tags and --skip-tags against.
  const knownTags = new Set<string>();
  // Hosts the plays (as --role leaves them) run on, to list when --limit leaves none of them.
  const playHosts = new Set<string>();

  let limitHosts: Set<string> | undefined;
  if (sel.limit) {
    const { hosts, unknown } = selectHosts(inv, sel.limit);
    if (sel.limit.length === 0) problems.push({ field: '--limit', message: `is empty: name hosts or groups (${listExisting(inv)})` });
    unknown.forEach((u) => problems.push({ field: '--limit', message: `unknown host or group "${u}" (${listExisting(inv)})` }));
    limitHosts = new Set(hosts.map((h) => h.name));
  }
  const knownRoles = [...new Set(pb.plays.flatMap((p) => (p.roles ?? []).map((r) => r.name)))];
  if (sel.roles?.length === 0) problems.push({ field: '--role', message: `is empty: name roles (roles: ${knownRoles.join(', ') || 'none'})` });
  for (const r of sel.roles ?? []) {
    if (!knownRoles.includes(r)) problems.push({ field: '--role', message: `no play in "${pb.name}" uses role "${r}" (roles: ${knownRoles.join(', ') || 'none'})` });
  }

  // Hosts and roles of each play first: inventory-wide rules are judged
  // once, over every host a role runs on, before any host's tasks are built.
  const laid = pb.plays.map((play) => {
    const patterns = typeof play.hosts === 'string' ? [play.hosts] : play.hosts;
    const selected = selectHosts(inv, patterns);
    selected.unknown.forEach((u) => problems.push({ file, field: `play "${play.name}" hosts`, message: `unknown host or group "${u}"` }));
    const serialWrong = serialProblem(play.serial);
    if (serialWrong) problems.push({ file, field: `play "${play.name}" serial`, message: serialWrong });
    const maxFailWrong = maxFailProblem(play.maxFailPercentage);
    if (maxFailWrong) problems.push({ file, field: `play "${play.name}" maxFailPercentage`, message: maxFailWrong });
    if (play.rollIf !== undefined && typeof play.rollIf !== 'function') problems.push({ file, field: `play "${play.name}" rollIf`, message: `must be a function answering { roll, why }, got ${describe(play.rollIf)}` });
    else if (play.rollIf !== undefined && play.serial === undefined) problems.push({ file, field: `play "${play.name}" rollIf`, message: 'decides whether the play rolls, but the play has no serial: set serial, or drop rollIf' });
    let hosts = selected.hosts;
    try {
      hosts = orderHosts(selected.hosts, play.order);
    } catch (e) {
      problems.push({ file, field: `play "${play.name}" order`, message: e instanceof Error ? e.message : String(e) });
    }
    const allHosts = hosts;
    hosts = hosts.filter((h) => !limitHosts || limitHosts.has(h.name) || h.local);
    const roles: readonly Role<V>[] = (play.roles ?? []).filter((r) => !sel.roles || sel.roles.includes(r.name));
    return { play, hosts, allHosts, roles, serialWrong, maxFailWrong };
  });
  const groups = sideBySideGroups(laid, file, problems);
  const broken = inventoryRules(laid.filter((l) => !(sel.roles && l.roles.length === 0)), inv, problems, warnings, invFile ?? file);

  for (const [index, { play, hosts, allHosts, roles, serialWrong, maxFailWrong }] of laid.entries()) {
    // --role runs the selected roles alone: a play with none of them, and plays' loose tasks, are left out.
    if (sel.roles && roles.length === 0) continue;
    allHosts.forEach((h) => { if (!h.local) playHosts.add(h.name); });
    // A play whose own inventory rule failed builds none of its own tasks: they read what was found wrong.
    const own = !broken.has(play);
    const work: HostWork[] = [];
    for (const host of hosts) {
      const ctx: RoleContext<V> = { host, vars: host.vars, inventory: inv };
      const tasks: PlacedTask[] = [];
      const handlers: PlacedTask[] = [];
      // Pre and post tasks guard the play (health gates): they run with --role too.
      if (own && play.preTasks) tasks.push(...build(() => play.preTasks!(ctx), `play "${play.name}" preTasks`, host.name, problems, file).map((task) => ({ task, phase: 'pre' as const })));
      const missingOf = new Map<string, ReadonlySet<string>>();
      for (const role of roles) {
        // A host's own checks compare it with the model (is it a director?):
        // against a model found wrong they would repeat that mistake.
        if (broken.has(role)) continue;
        const watched = watchVars(host.vars);
        missingOf.set(role.name, watched.missing);
        const ctx: RoleContext<V> = { host, vars: watched.vars as V, inventory: inv };
        // An untyped inventory that lacks a variable: the role's own error (a TypeError
        // reading a property of undefined) says nothing of the cause. Name the variable instead.
        let missingThrew = false;
        const guard = <T>(fn: () => T[]) => (): T[] => {
          try {
            return fn();
          } catch (e) {
            if (!(e instanceof TypeError) || watched.missing.size === 0) throw e;
            missingThrew = true;
            return [];
          }
        };
        let hostWrong = false;
        for (const vp of safe(guard(() => role.validate?.(ctx) ?? []), `role ${role.name}`, host.name, problems, file)) {
          if (vp.warning) warnings.push(`host ${host.name}: role ${role.name}: ${vp.field}: ${vp.message}`);
          // A role checks the host's variables: they are written in the inventory.
          else { hostWrong = true; problems.push({ file: invFile ?? file, host: host.name, field: vp.field, message: `${vp.message} (role ${role.name})` }); }
        }
        // Tasks built from values found wrong would only throw the same mistake again.
        if (hostWrong) continue;
        tasks.push(...build(guard(() => role.tasks(ctx)), `role ${role.name}`, host.name, problems, file).map((task) => ({ task, role: role.name })));
        handlers.push(...build(guard(() => role.handlers?.(ctx) ?? []), `role ${role.name}`, host.name, problems, file).map((task) => ({ task, role: role.name })));
        if (missingThrew) {
          problems.push(...missingProblems(watched.missing, role.name, host.name, invFile ?? file));
          missingOf.delete(role.name);
        }
      }
      if (own && !sel.roles && play.tasks) tasks.push(...build(() => play.tasks!(ctx), `play "${play.name}"`, host.name, problems, file).map((task) => ({ task })));
      if (own && play.postTasks) tasks.push(...build(() => play.postTasks!(ctx), `play "${play.name}" postTasks`, host.name, problems, file).map((task) => ({ task, phase: 'post' as const })));
      if (own && play.handlers) handlers.push(...build(() => play.handlers!(ctx), `play "${play.name}" handlers`, host.name, problems, file).map((task) => ({ task })));

      const named = new Set<string>();
      for (const { task, role } of [...tasks, ...handlers]) {
        const found = safe(() => task.validate?.(host) ?? [], `task "${task.name}"`, host.name, problems, file);
        for (const p of found) problems.push({ file, ...p, host: host.name, task: p.task ?? task.name });
        // A parameter made of a missing variable ("undefined/motd"): the variable is the mistake to name.
        const missing = role === undefined ? undefined : missingOf.get(role);
        if (found.length && missing?.size && !named.has(role!)) {
          named.add(role!);
          problems.push(...missingProblems(missing, role!, host.name, invFile ?? file));
        }
      }
      for (const { task } of [...tasks, ...handlers]) {
        const d = task.options.delegateTo;
        if (d !== undefined && d !== CONTROLLER && !inv.hosts.some((h) => h.name === d)) {
          problems.push({ file, host: host.name, task: task.name, field: 'delegateTo', message: `no host named "${d}" (hosts: ${[...inv.hosts.map((h) => h.name), CONTROLLER].join(', ')})` });
        }
      }
      const handlerNames = new Set(handlers.map((h) => h.task.name));
      for (const { task } of tasks) {
        for (const n of notifyList(task)) {
          if (!handlerNames.has(n)) problems.push({ file, host: host.name, task: task.name, field: 'notify', message: `no handler named "${n}" (handlers: ${[...handlerNames].join(', ') || 'none'})` });
        }
      }
      tasks.forEach(({ task }) => task.options.tags?.forEach((t) => knownTags.add(t)));
      work.push({ host, tasks: tasks.filter(({ task }) => selectedByTags(task.options.tags ?? [], sel)), handlers });
    }
    const rolling = play.serial !== undefined && !serialWrong;
    plays.push({
      name: play.name, work, batches: splitBatches(work, rolling ? play.serial : undefined),
      stopsOnFailure: rolling || (play.maxFailPercentage !== undefined && !maxFailWrong), maxFailPercentage: maxFailWrong ? undefined : play.maxFailPercentage,
      rollIf: rolling && typeof play.rollIf === 'function' ? (play.rollIf as RollDecision<unknown>) : undefined,
      group: groups[index]!, hostNames: allHosts.map((h) => h.name),
    });
  }
  problems.push(...emptySelection(plays, sel, limitHosts, [...knownTags].sort(), [...playHosts], problems.length > 0));
  return { plays, problems: mergeHosts(problems), warnings };
}

/**
 * Each play's group: the index of the nearest play at or before it that
 * does not run `withPrevious`. Plays of one group must not share a host
 * (checked on the hosts before --limit: whether a playbook is sound does
 * not depend on the selection).
 */
function sideBySideGroups<V>(laid: ReadonlyArray<{ play: Play<V>; allHosts: readonly HostView<V>[] }>, file: string | undefined, problems: Problem[]): number[] {
  const groups: number[] = [];
  for (const [i, { play, allHosts }] of laid.entries()) {
    if (play.withPrevious !== undefined && typeof play.withPrevious !== 'boolean') {
      problems.push({ file, field: `play "${play.name}" withPrevious`, message: `must be true or false, got ${describe(play.withPrevious)}` });
    }
    if (play.withPrevious !== true) { groups.push(i); continue; }
    if (i === 0) {
      problems.push({ file, field: `play "${play.name}" withPrevious`, message: 'the first play has no play before it to run beside' });
      groups.push(i);
      continue;
    }
    const group = groups[i - 1]!;
    groups.push(group);
    for (let j = group; j < i; j++) {
      const other = laid[j]!;
      const shared = allHosts.filter((h) => other.allHosts.some((o) => o.name === h.name)).map((h) => h.name);
      if (shared.length) problems.push({ file, field: `play "${play.name}" withPrevious`, message: `runs side by side with play "${other.play.name}", but both run on ${shared.join(', ')}: a host runs one play at a time` });
    }
  }
  return groups;
}

/** Does a task with these tags run under --tags and --skip-tags (Ansible's rules, without `never`)? */
function selectedByTags(tags: readonly string[], sel: Selection): boolean {
  if (sel.tags && !tags.some((t) => t === 'always' || sel.tags!.includes(t))) return false;
  return !sel.skipTags || !tags.some((t) => sel.skipTags!.includes(t));
}

/**
 * The selection's own problems once the plays are compiled: an empty or
 * unknown tag, or a selection that leaves no host or no task — which would
 * otherwise connect to every host to do nothing. Whole-selection checks are
 * skipped when other problems were found: they would only repeat them.
 */
function emptySelection(plays: readonly CompiledPlay[], sel: Selection, limitHosts: Set<string> | undefined, knownTags: string[], playHosts: string[], othersFound: boolean): Problem[] {
  const problems: Problem[] = [];
  const tags = `tags: ${knownTags.join(', ') || 'none'}`;
  for (const [field, list] of [['--tags', sel.tags], ['--skip-tags', sel.skipTags]] as const) {
    if (list?.length === 0) problems.push({ field, message: `is empty: name tags (${tags})` });
    for (const t of list ?? []) if (!knownTags.includes(t)) problems.push({ field, message: `no selected task is tagged "${t}" (${tags})` });
  }
  if (othersFound || problems.length) return problems;
  const work = plays.flatMap((p) => p.work);
  if (limitHosts && !work.some((w) => limitHosts.has(w.host.name))) {
    problems.push({ field: '--limit', message: `no selected play runs on ${[...limitHosts].join(', ')} (plays run on: ${playHosts.join(', ') || 'no host'})` });
  } else if ((sel.tags || sel.skipTags || sel.roles) && !work.some((w) => w.tasks.length)) {
    problems.push({ message: `the selection leaves no task to run (${tags})` });
  }
  return problems;
}

/**
 * Run every inventory rule of the compiled roles and plays once, over all
 * the hosts each one runs on; a rule shared (the same function) runs once.
 * Returns the roles and plays one of whose rules found a problem.
 */
function inventoryRules<V>(laid: ReadonlyArray<{ play: Play<V>; hosts: readonly HostView<V>[]; roles: readonly Role<V>[] }>, inv: Inventory<V>, problems: Problem[], warnings: string[], file?: string): Set<Role<V> | Play<V>> {
  type Owner = Role<V> | Play<V>;
  const users = new Map<InventoryRule<V>, { owners: Owner[]; labels: string[]; hosts: Map<string, HostView<V>> }>();
  const use = (owner: Owner, label: string, rules: readonly InventoryRule<V>[] | undefined, hosts: readonly HostView<V>[]) => {
    for (const rule of rules ?? []) {
      const u = users.get(rule) ?? { owners: [], labels: [], hosts: new Map<string, HostView<V>>() };
      if (!u.owners.includes(owner)) { u.owners.push(owner); u.labels.push(label); }
      hosts.forEach((h) => u.hosts.set(h.name, h));
      users.set(rule, u);
    }
  };
  for (const { play, hosts, roles } of laid) {
    use(play, `play "${play.name}"`, play.inventoryRules, hosts);
    for (const role of roles) use(role, `role ${role.name}`, role.inventoryRules, hosts);
  }
  const broken = new Set<Owner>();
  for (const [rule, u] of users) {
    // "role director", or "roles realserver, director" when several share the rule.
    const roleNames = u.labels.filter((l) => l.startsWith('role ')).map((l) => l.slice(5));
    const by = [...u.labels.filter((l) => !l.startsWith('role ')), ...(roleNames.length ? [`${roleNames.length > 1 ? 'roles' : 'role'} ${roleNames.join(', ')}`] : [])].join(', ');
    const found: Problem[] = [];
    for (const p of safe<InventoryProblem>(() => rule(inv, [...u.hosts.values()]), by, undefined, found, file)) {
      if (p.warning) warnings.push(`${p.host ? `host ${p.host}: ` : ''}${by}: ${p.field}: ${p.message}`);
      else found.push({ file, ...(p.host ? { host: p.host } : {}), field: p.field, message: `${p.message} (${by})` });
    }
    problems.push(...found);
    if (found.length) u.owners.forEach((o) => broken.add(o));
  }
  return broken;
}

/** Names of variables nobody checks for like this: JSON.stringify and await look these up on any object. */
const NOT_VARIABLES = new Set(['toJSON', 'then']);

/**
 * A host's variables as a role sees them, recording each top-level name it
 * reads that the inventory does not have. Nothing else changes: a missing
 * name still reads as undefined, so a role that handles an optional
 * variable itself works as before.
 */
function watchVars(vars: object): { vars: object; missing: Set<string> } {
  const missing = new Set<string>();
  const proxy = new Proxy(vars, {
    get(target, key, receiver) {
      if (typeof key === 'string' && !(key in target) && !NOT_VARIABLES.has(key)) missing.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
  return { vars: proxy, missing };
}

function missingProblems(missing: ReadonlySet<string>, role: string, host: string, file: string | undefined): Problem[] {
  return [...missing].map((name) => ({ file, host, field: name, message: `variable ${name} is missing (needed by role ${role})` }));
}

/**
 * Run user code (a role, a validator); an exception, or something other
 * than a list, becomes a problem, not a crash. The problem's file is the
 * throw site (`path:line:column`, as compilers print it), which may be a
 * role's module rather than the playbook.
 */
function safe<T>(fn: () => T[], what: string, host: string | undefined, problems: Problem[], file?: string): T[] {
  try {
    const got: unknown = fn();
    if (Array.isArray(got)) return got as T[];
    problems.push({ file, ...(host === undefined ? {} : { host }), message: `${what} returned ${describe(got)}, not a list` });
    return [];
  } catch (e) {
    problems.push({ file: throwSite(e) ?? file, ...(host === undefined ? {} : { host }), message: `${what} threw: ${e instanceof Error ? e.message : String(e)}` });
    return [];
  }
}

/**
 * Run a task builder (a role's tasks, a play's handlers). An entry that is
 * no task (`cond && command(...)` gives `false`) is a problem naming its
 * place, not a crash when the runner reaches it.
 */
function build(fn: () => Task[], what: string, host: string, problems: Problem[], file?: string): Task[] {
  return safe(fn, what, host, problems, file).filter((t: unknown, i) => {
    const ok = typeof t === 'object' && t !== null && typeof (t as Task).plan === 'function' && typeof (t as Task).name === 'string';
    if (!ok) problems.push({ file, host, message: `${what}: entry [${i}] is not a task (made by a task constructor such as command()), got ${describe(t)}` });
    return ok;
  });
}

export { notifyList };
