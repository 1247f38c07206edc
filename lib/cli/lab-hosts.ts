import type { Inventory } from '../dsl/inventory.ts';
import type { LabHostSpec, LabHostVars } from '../lab/index.ts';

/**
 * Map an inventory to lab hosts, from each host's `lab` var
 * ({@link LabHostVars}): a director when `lab.director` says so, else when
 * it is in a group named `directors`; its interface `lab.iface`, else a
 * host var `iface`, else the seed's `enp0s8`.
 */
export function labHostsFromInventory(inv: Inventory<unknown>): LabHostSpec[] {
  return inv.hosts.map((h) => {
    const vars = (h.vars ?? {}) as { iface?: string; lab?: LabHostVars };
    return {
      name: h.name,
      address: h.address,
      iface: vars.lab?.iface ?? vars.iface ?? 'enp0s8',
      director: vars.lab?.director ?? h.groups.includes('directors'),
    };
  });
}
