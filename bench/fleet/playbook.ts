/**
 * The simulated fleet's play: a template, a sysctl, a package present and
 * its service running and enabled, on every host. What it sets is in
 * fleet.ts, which the simulated hosts are built from too.
 */
import { definePlaybook, defineRole } from '../../lib/index.ts';
import { apt, service, sysctl, template } from '../../lib/tasks/index.ts';
import { FLEET_PACKAGES, FLEET_SERVICE, FLEET_SYSCTL, FLEET_TEMPLATE, type FleetVars } from './fleet.ts';

const web = defineRole<FleetVars>({
  name: 'fleet',
  tasks: ({ vars, host }) => [
    template({ ...FLEET_TEMPLATE, vars: { ...vars, host: host.name } }),
    sysctl({ ...FLEET_SYSCTL }),
    apt({ name: Object.keys(FLEET_PACKAGES), state: 'present' }),
    service({ name: FLEET_SERVICE, state: 'started', enabled: true }),
  ],
});

export default definePlaybook<FleetVars>({ name: 'bench-fleet', plays: [{ name: 'fleet', hosts: 'all', roles: [web] }] });
