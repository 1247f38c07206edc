import type { Inventory } from '../dsl/inventory.ts';
import type { LabHostSpec } from '../lab/index.ts';

/**
 * Map an inventory to lab hosts. A host is a director when it is in a group
 * named `directors` or has a `lab.director` var; the interface name comes
 * from a host var `iface` (or `lab.iface`), else the seed's `enp0s8`.
 */
export function labHostsFromInventory(inv: Inventory<unknown>): LabHostSpec[] {
  return inv.hosts.map((h) => {
    const vars = (h.vars ?? {}) as { iface?: string; lab?: { director?: boolean; iface?: string } };
    return {
      name: h.name,
      address: h.address,
      iface: vars.lab?.iface ?? vars.iface ?? 'enp0s8',
      director: vars.lab?.director ?? h.groups.includes('directors'),
    };
  });
}
