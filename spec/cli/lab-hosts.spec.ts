/**
 * What `play lab up -i` builds from an inventory: each host's interface
 * and whether it is a director, from its `lab` var — which the LVS
 * cluster's groups set from `cluster.interface` and `cluster.directors`,
 * so a cluster on eth1 gets lab hosts with eth1.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { labHostsFromInventory } from '../../lib/cli/lab-hosts.ts';
import { defineInventory, type Inventory } from '../../lib/dsl/inventory.ts';
import seed from '../../inventory/inventory.ts';
import eth1 from '../fixtures/inventory/lab-eth1.ts';

const LabHosts = suite('lab hosts from an inventory');
const brief = (inv: Inventory<unknown>) => labHostsFromInventory(inv).map((h) => `${h.name} ${h.iface}${h.director ? ' director' : ''}`);

const cases: Array<[string, Inventory<unknown>, string[]]> = [
  ['the seed: two directors, enp0s8', seed as Inventory<unknown>, ['LB1 enp0s8 director', 'LB2 enp0s8 director', 'RS1 enp0s8', 'RS2 enp0s8']],
  ['a cluster on eth1 with three directors: the cluster says so, once', eth1 as Inventory<unknown>, ['LB1 eth1 director', 'LB2 eth1 director', 'LB3 eth1 director', 'RS1 enp0s8', 'RS2 enp0s8']],
  ['no cluster: a host var iface, a directors group, a host\'s own lab var', defineInventory<Record<string, unknown>>({
    vars: {},
    hosts: { A: { address: '10.0.0.1', vars: { iface: 'ens3' } }, B: { address: '10.0.0.2', groups: ['directors'] }, C: { address: '10.0.0.3', vars: { lab: { iface: 'eth7', director: true } } } },
  }) as Inventory<unknown>, ['A ens3', 'B enp0s8 director', 'C eth7 director']],
];
for (const [name, inv, want] of cases) LabHosts(name, () => assert.equal(brief(inv), want));

LabHosts('a host\'s own lab var wins over its group\'s', () => {
  const inv = defineInventory<Record<string, unknown>>({
    vars: {}, hosts: { D: { address: '10.0.0.4', vars: { lab: { iface: 'eth3' } } } },
    groups: { directors: { hosts: ['D'], vars: { lab: { iface: 'eth1', director: true } } } },
  });
  assert.equal(brief(inv as Inventory<unknown>), ['D eth3 director']);
});

LabHosts.run();
