/**
 * The seed with a config change to roll out on the live cluster (what
 * `./demo --ipvs` ends with): delayLoop 3 → 4 and RS1's weight 1 → 2.
 * `play site -i rollout-example`, then `play site -i inventory` to go back.
 */
import { defineInventory } from 'playbook-ts';
import seed from './inventory.ts';
import type { LvsVars } from '../roles/lvs/cluster.ts';

const c = seed.vars.cluster;
export default defineInventory<LvsVars>({ ...seed.def, vars: { cluster: { ...c, delayLoop: 4, realServers: { ...c.realServers, RS1: { weight: 2 } } } } });
