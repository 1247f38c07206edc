/**
 * The simulated fleet's inventory: `PLAY_FLEET_HOSTS` hosts on ports of
 * 127.0.0.1 from `PLAY_FLEET_PORT`, logging in as root with the key and
 * known_hosts the benchmark generated in `PLAY_FLEET_DIR` (see bench.ts).
 */
import { join } from 'node:path';
import { defineInventory } from '../../lib/index.ts';
import { FLEET_BASE_PORT, FLEET_VARS, fleetHosts, type FleetVars } from './fleet.ts';

const dir = process.env.PLAY_FLEET_DIR;
if (!dir) throw new Error('PLAY_FLEET_DIR is not set: the fleet benchmark (bench/fleet/bench.ts) sets it');

export default defineInventory<FleetVars>({
  vars: FLEET_VARS,
  defaults: { user: 'root', identityFile: join(dir, 'id_ed25519'), knownHostsFile: join(dir, 'known_hosts') },
  hosts: Object.fromEntries(fleetHosts(Number(process.env.PLAY_FLEET_HOSTS ?? 4), Number(process.env.PLAY_FLEET_PORT ?? FLEET_BASE_PORT))
    .map((h) => [h.name, { address: '127.0.0.1', port: h.port }])),
});
