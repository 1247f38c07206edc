import type { HostView } from '../core/host.ts';
import { CONTROLLER, controllerHost, type Inventory } from '../dsl/inventory.ts';

/**
 * Resolve a host pattern list (group names, host names, `all`,
 * `controller`) to hosts in inventory order. Unknown names are returned
 * separately so the caller can list them all at once.
 */
export function selectHosts<V>(inv: Inventory<V>, patterns: readonly string[]): { hosts: HostView<V>[]; unknown: string[] } {
  const wanted = new Set<string>();
  const unknown: string[] = [];
  let controller = false;
  for (const p of patterns) {
    if (p === CONTROLLER || p === 'localhost') controller = true;
    else if (p === 'all') inv.hosts.forEach((h) => wanted.add(h.name));
    else if (inv.groups.has(p)) inv.groups.get(p)!.forEach((h) => wanted.add(h));
    else if (inv.hosts.some((h) => h.name === p)) wanted.add(p);
    else unknown.push(p);
  }
  const hosts = inv.hosts.filter((h) => wanted.has(h.name));
  return { hosts: controller ? [...hosts, controllerHost(inv)] : hosts, unknown };
}

/**
 * What a host pattern may name, for an error about one that names nothing:
 * "hosts: A, B; groups: web; also all, controller".
 *
 * @example
 * ```ts
 * import { defineInventory } from '../dsl/inventory.ts';
 * import { listExisting } from './select-hosts.ts';
 * listExisting(defineInventory({ vars: {}, hosts: { A: { address: '192.0.2.1', groups: ['web'] } } }));
 * ```
 */
export function listExisting<V>(inv: Inventory<V>): string {
  return `hosts: ${inv.hosts.map((h) => h.name).join(', ') || 'none'}; groups: ${[...inv.groups.keys()].join(', ') || 'none'}; also all, ${CONTROLLER}`;
}

/** Split a comma list from the CLI: "LB1,realservers" → ["LB1", "realservers"]. */
export function splitList(values: readonly string[] | undefined): string[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}
