/**
 * The simulated fleet: its hosts (one port of 127.0.0.1 each) and the one
 * definition of what its play sets. The playbook, the inventory and the
 * converged host the simulator answers as are all built from this file, so
 * the play and the simulated hosts cannot drift apart.
 */

/** Variables every fleet host has. */
export interface FleetVars {
  /** Written into the templated file. */
  motto: string;
  role: string;
}

export const FLEET_VARS: FleetVars = { motto: 'a template, a sysctl, a package, a service', role: 'web' };

/** The template and where it goes. */
export const FLEET_TEMPLATE = { src: new URL('./templates/play-fleet.conf.njk', import.meta.url), dest: '/etc/play-fleet.conf', mode: '0644' } as const;

/** The kernel parameter, set and persisted. */
export const FLEET_SYSCTL = { name: 'net.ipv4.conf.all.arp_announce', value: '2', file: '/etc/sysctl.d/90-play-fleet.conf' } as const;

/** Packages present (the version a converged host has installed), and the service that runs. */
export const FLEET_PACKAGES: Readonly<Record<string, string>> = { nginx: '1.22.1-9+deb12u1' };
export const FLEET_SERVICE = 'nginx';

/** Ports below Linux's ephemeral range (32768–60999), so no outgoing connection holds one. */
export const FLEET_BASE_PORT = 20_000;
export const FLEET_MAX_HOSTS = 5_000;

export interface FleetHost {
  name: string;
  port: number;
}

/**
 * The fleet's hosts: f0001…fNNNN, host i on port `basePort + i - 1` of 127.0.0.1.
 *
 * @example
 * ```ts
 * import { fleetHosts } from './fleet.ts';
 * fleetHosts(2); // => [{ name: 'f0001', port: 20000 }, { name: 'f0002', port: 20001 }]
 * ```
 */
export function fleetHosts(count: number, basePort = FLEET_BASE_PORT): FleetHost[] {
  if (!Number.isInteger(count) || count < 1 || count > FLEET_MAX_HOSTS) throw new Error(`fleet size must be 1–${FLEET_MAX_HOSTS}, got ${count}`);
  return Array.from({ length: count }, (_, i) => ({ name: `f${String(i + 1).padStart(4, '0')}`, port: basePort + i }));
}
