import type { Problem } from '../core/errors.ts';
import type { ConnectionSettings, HostView } from '../core/host.ts';
import type { Inventory, InventoryDef } from './inventory-def.ts';
import type { Playbook } from './playbook.ts';
import { parseJump } from '../core/jump-spec.ts';
import { describe, wholeNumber } from '../core/rules.ts';

export type { ConnectionDefaults, GroupDef, HostDef, Inventory, InventoryDef } from './inventory-def.ts';

// Every setting, and nothing else: the compiler holds this list to ConnectionSettings both ways.
const SETTINGS = Object.keys({
  port: true, user: true, identityFile: true, knownHostsFile: true, proxyJump: true, become: true, becomePassword: true,
} satisfies Record<keyof ConnectionSettings, true>) as (keyof ConnectionSettings)[];

/** The connection settings `from` sets (a host, group or the defaults), without the rest of it. */
function given(from: ConnectionSettings): ConnectionSettings {
  return Object.fromEntries(SETTINGS.flatMap((k) => (from[k] === undefined ? [] : [[k, from[k]]])));
}

/** The implicit host that runs on the controller itself (HTTP checks, cross-host verification). */
export const CONTROLLER = 'controller';

/**
 * Declare an inventory for a playbook: its variables are checked against
 * what the playbook's roles need (the playbook's own type), so a missing
 * variable fails to compile, with no type argument written by hand. Or
 * declare it alone, typed by a type argument (e.g. `VarsOf<typeof
 * director>`), or untyped: a variable a role needs and the inventory lacks
 * is then reported before anything connects ("variable X is missing
 * (needed by role Y)").
 *
 * @example
 * ```ts
 * import { defineInventory, definePlaybook, defineRole, command } from 'playbook-ts';
 * const greet = defineRole<{ greeting: string }>({ name: 'greet', tasks: ({ vars }) => [command({ cmd: ['echo', vars.greeting] })] });
 * const site = definePlaybook({ name: 'site', plays: [{ name: 'web', hosts: 'web', roles: [greet] }] });
 * export default defineInventory(site, {
 *   vars: { greeting: 'hello' },            // leaving greeting out does not compile
 *   hosts: { web1: { address: '192.0.2.10', groups: ['web'] } },
 * });
 * ```
 *
 * @example
 * ```ts
 * import { defineInventory } from 'playbook-ts';
 * export default defineInventory<{ greeting: string }>({
 *   vars: { greeting: 'hello' },
 *   hosts: {
 *     web1: { address: '192.168.56.103', groups: ['web'] },
 *     web2: { address: '192.168.56.104', groups: ['web'], vars: { greeting: 'hi' } },
 *   },
 * });
 * ```
 */
export function defineInventory<V>(playbook: Playbook<V>, def: InventoryDef<NoInfer<V>>): Inventory<V>;
export function defineInventory<V>(def: InventoryDef<V>): Inventory<V>;
export function defineInventory<V>(first: Playbook<V> | InventoryDef<V>, second?: InventoryDef<V>): Inventory<V> {
  // The playbook is there for its type; what runs is still the one named on the command line.
  const def = second ?? (first as InventoryDef<V>);
  const problems: Problem[] = [];
  const groups = new Map<string, string[]>();
  const names = Object.keys(def.hosts);
  const add = (group: string, host: string) => {
    const members = groups.get(group) ?? [];
    if (!members.includes(host)) members.push(host);
    groups.set(group, members);
  };
  for (const [g, gd] of Object.entries(def.groups ?? {})) {
    groups.set(g, groups.get(g) ?? []);
    for (const h of gd.hosts ?? []) {
      if (!names.includes(h)) problems.push({ field: `groups.${g}.hosts`, message: `unknown host "${h}" (declared hosts: ${names.join(', ') || 'none'})` });
      else add(g, h);
    }
  }
  const seenAddr = new Map<string, string>();
  const d = def.defaults ?? {};
  const hosts: HostView<V>[] = Object.entries(def.hosts).map(([name, h]) => {
    for (const g of h.groups ?? []) add(g, name);
    if (name === CONTROLLER || groups.has(name)) problems.push({ host: name, message: `host name "${name}" is reserved or is also a group name` });
    if (!h.address || typeof h.address !== 'string') problems.push({ host: name, field: 'address', message: 'is required' });
    const memberOf = [...groups.entries()].filter(([, m]) => m.includes(name)).map(([g]) => g);
    // Group vars and settings apply in the order groups are declared; the host's own win.
    const ofGroups = Object.entries(def.groups ?? {}).filter(([g]) => memberOf.includes(g)).map(([, gd]) => gd);
    const vars = Object.assign({}, def.vars, ...ofGroups.map((gd) => gd.vars ?? {}), h.vars ?? {}) as V;
    // What the inventory says, before play's defaults: ~/.ssh/config fills in only what it leaves out.
    const settings: ConnectionSettings = Object.assign({}, ...[d, ...ofGroups, h].map(given));
    if (settings.proxyJump !== undefined && (typeof settings.proxyJump !== 'string' || !parseJump(settings.proxyJump))) {
      problems.push({ host: name, field: 'proxyJump', message: `must be [user@]host[:port], got ${describe(settings.proxyJump)}` });
    }
    const port = settings.port ?? 22;
    const portWrong = wholeNumber(port, 1, 65535);
    if (portWrong) problems.push({ host: name, field: 'port', message: portWrong });
    const key = `${h.address}:${port}`;
    if (seenAddr.has(key)) problems.push({ host: name, field: 'address', message: `${key} is also host ${seenAddr.get(key)}` });
    seenAddr.set(key, name);
    return {
      name, address: h.address, port, user: settings.user ?? 'root', settings,
      identityFile: settings.identityFile, knownHostsFile: settings.knownHostsFile, proxyJump: settings.proxyJump,
      become: settings.become ?? false, becomePassword: settings.becomePassword, groups: memberOf, vars,
    };
  });
  // Groups listed by hosts but declared after them: recompute membership now that all are known.
  for (const h of hosts) (h as { groups: readonly string[] }).groups = [...groups.entries()].filter(([, m]) => m.includes(h.name)).map(([g]) => g);
  return { hosts, groups, vars: def.vars, problems, def };
}

/** The controller as a host: local transport, global variables. */
export function controllerHost<V>(inv: Inventory<V>): HostView<V> {
  return { name: CONTROLLER, address: '127.0.0.1', port: 0, user: process.env.USER ?? 'root', become: false, groups: [], vars: inv.vars, local: true };
}
