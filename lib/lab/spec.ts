/**
 * What a lab host is, as the inventory gives it, and the checks a set of
 * them must pass before anything is created: every problem at once.
 */
import { LabError } from './errors.ts';
import { ipv4ToInt, subnetOf, type LabNet } from './network.ts';

export interface LabHostSpec {
  /** Inventory host name, e.g. "LB1". The machine name (and hostname) is its lowercase form, "lb1". */
  name: string;
  /** IPv4 address, e.g. "192.168.56.101". All hosts share one /24. */
  address: string;
  /** Interface name inside the host, e.g. "enp0s8". */
  iface: string;
  /** Directors get keepalived's VRRP-only drop-in (default kernel) or become qemu VMs (`--ipvs`). */
  director: boolean;
}

/**
 * What an inventory tells `play lab up -i` about a host, as its `lab` var
 * (a host's own, or its group's): the interface name inside it, and
 * whether it is a director. A role's model can set it for the hosts it
 * declares, so nothing is written twice (`lvsGroups` does, from
 * `cluster.interface` and `cluster.directors`).
 *
 * @example
 * ```ts
 * import type { LabHostVars } from './spec.ts';
 * const lab: LabHostVars = { iface: 'eth1', director: true };
 * ```
 */
export interface LabHostVars {
  /** @default the host var `iface`, else `enp0s8` */
  iface?: string;
  /** @default membership of a group named `directors` */
  director?: boolean;
}

/** The seed's topology: LB1/LB2 directors, RS1/RS2 real servers, `enp0s8` everywhere (VIP .200 is not a host). */
export const DEFAULT_LAB_HOSTS: LabHostSpec[] = [
  { name: 'LB1', address: '192.168.56.101', iface: 'enp0s8', director: true },
  { name: 'LB2', address: '192.168.56.102', iface: 'enp0s8', director: true },
  { name: 'RS1', address: '192.168.56.103', iface: 'enp0s8', director: false },
  { name: 'RS2', address: '192.168.56.104', iface: 'enp0s8', director: false },
];

/** The machine (container or VM) name of a host: its lowercase inventory name. */
export function machineName(name: string): string {
  return name.toLowerCase();
}

/** Validate a set of hosts whole and derive the lab's /24; throws one LabError listing every problem. */
export function validateHosts(hosts: readonly LabHostSpec[]): LabNet {
  const problems: string[] = [];
  if (!hosts.length) problems.push('no hosts: the inventory names none');
  const seenMachines = new Map<string, string>();
  const seenAddresses = new Map<string, string>();
  const subnets = new Set<string>();
  for (const h of hosts) {
    const m = machineName(h.name);
    if (!/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(m)) {
      problems.push(`host ${h.name}: a lab host name must be a hostname of letters, digits and inner dashes, at most 32 characters`);
    }
    const other = seenMachines.get(m);
    if (other) problems.push(`host ${h.name}: same machine name "${m}" as host ${other}`);
    seenMachines.set(m, h.name);
    const n = ipv4ToInt(h.address);
    if (n === undefined) {
      problems.push(`host ${h.name}: address "${h.address}" is not an IPv4 address`);
    } else {
      if (n % 256 === 0 || n % 256 === 1 || n % 256 === 255) {
        problems.push(`host ${h.name}: ${h.address} is the network, the bridge (.1) or the broadcast address of its /24`);
      }
      const dup = seenAddresses.get(h.address);
      if (dup) problems.push(`host ${h.name}: address ${h.address} is also host ${dup}'s`);
      seenAddresses.set(h.address, h.name);
      subnets.add(subnetOf(h.address));
    }
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/.test(h.iface) || h.iface === 'lo') {
      problems.push(`host ${h.name}: interface name "${h.iface}" is not a valid Linux interface name (at most 15 characters)`);
    }
  }
  if (subnets.size > 1) problems.push(`the hosts span several /24 subnets (${[...subnets].join(', ')}); the lab has one bridge for one /24`);
  if (problems.length) throw new LabError(`cannot build a lab from these hosts:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return netOf([...subnets][0]!);
}

/** The lab's network for a /24 subnet: the bridge is its .1. */
export function netOf(subnet: string): LabNet {
  return { subnet, gateway: subnet.replace(/\.0\/24$/, '.1'), prefixLen: 24 };
}
