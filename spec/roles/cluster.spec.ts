import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { lvsGroups, masterOf, validateCluster, type LvsCluster, type LvsVars } from '../../roles/lvs/cluster.ts';
import seed from '../../inventory/inventory.ts';

const base = (): LvsCluster => structuredClone(seed.vars.cluster);
const inv = (c: LvsCluster) => defineInventory<LvsVars>({
  vars: { cluster: c },
  hosts: { LB1: { address: '192.168.56.101' }, LB2: { address: '192.168.56.102' }, RS1: { address: '192.168.56.103' }, RS2: { address: '192.168.56.104' } },
  groups: lvsGroups(c),
});
const problems = (mutate: (c: LvsCluster) => void) => {
  const c = base();
  mutate(c);
  return validateCluster(c, inv(c)).map((p) => `${p.warning ? 'warning ' : ''}${p.field}: ${p.message}`);
};

const Cluster = suite('LVS cluster validation');

Cluster('the seed inventory is valid and LB1 is MASTER', () => {
  assert.equal(problems(() => {}), []);
  assert.is(masterOf(seed.vars.cluster), 'LB1');
  assert.equal(seed.problems, []);
  assert.equal([...seed.groups.entries()], [['directors', ['LB1', 'LB2']], ['realservers', ['RS1', 'RS2']], ['master', ['LB1']]]);
});

// Each case: a mistake, and the field its problem must name.
const cases: Array<[string, (c: LvsCluster) => void, RegExp]> = [
  ['virtual router id 300', (c) => { c.virtualRouterId = 300; }, /^cluster\.virtualRouterId: must be a whole number 1–255, got 300$/],
  ['virtual router id 0', (c) => { c.virtualRouterId = 0; }, /^cluster\.virtualRouterId/],
  ['same priorities', (c) => { c.directors = { LB1: { priority: 100 }, LB2: { priority: 100 } }; }, /^cluster\.directors\.LB2\.priority: 100 is also LB1's priority/],
  ['priority 255', (c) => { c.directors = { LB1: { priority: 255 }, LB2: { priority: 100 } }; }, /^cluster\.directors\.LB1\.priority: must be a whole number 1–254 \(255 is reserved for the address owner\), got 255$/],
  ['auth_pass of 12 characters', (c) => { c.auth = { type: 'PASS', pass: 'abcdefghijkl' }; }, /^cluster\.auth\.pass: is 12 characters; keepalived silently uses only the first 8/],
  ['VIP is a host address', (c) => { c.vip = '192.168.56.103'; }, /^cluster\.vip: 192\.168\.56\.103 is the address of host RS1/],
  ['VIP outside the subnet', (c) => { c.vip = '10.0.0.200'; }, /^cluster\.vip: 10\.0\.0\.200 is outside/],
  ['VIP not an address', (c) => { c.vip = 'vip'; }, /^cluster\.vip: must be an IPv4 address/],
  ['unknown director', (c) => { c.directors = { LB1: { priority: 200 }, LB9: { priority: 100 } }; }, /^cluster\.directors\.LB9: no host named LB9/],
  ['director also real server', (c) => { c.realServers = { ...c.realServers, LB2: { weight: 1 } }; }, /^cluster\.realServers\.LB2: LB2 is also a director/],
  ['bad scheduler', (c) => { (c as { scheduler: string }).scheduler = 'random'; }, /^cluster\.scheduler: must be one of/],
  // Accepted once and deployed as DR: a cluster that did not work. Refused now, saying why.
  ['NAT forwarding', (c) => { (c as { forwarding: string }).forwarding = 'NAT'; }, /^cluster\.forwarding: NAT is not supported: play sets up direct routing \(DR\) only; NAT needs the directors as the real servers' default gateway/],
  ['TUN forwarding', (c) => { (c as { forwarding: string }).forwarding = 'TUN'; }, /^cluster\.forwarding: TUN is not supported: .*ipip tunnel/],
  ['forwarding of another name', (c) => { (c as { forwarding: string }).forwarding = 'dr'; }, /^cluster\.forwarding: must be one of DR, got the string "dr"/],
  ['bad interface', (c) => { c.interface = 'en p0s8; reboot'; }, /^cluster\.interface/],
  ['negative weight', (c) => { c.realServers = { RS1: { weight: -1 }, RS2: { weight: 1 } }; }, /^cluster\.realServers\.RS1\.weight/],
  ['a globalDefs keyword that is not one', (c) => { c.globalDefs = { 'vrrp garp': '1' }; }, /^cluster\.globalDefs\.vrrp garp: must be a keepalived keyword/],
  ['a globalDefs value that would open a block', (c) => { c.globalDefs = { notification_email: '{ root }' }; }, /^cluster\.globalDefs\.notification_email: must be true or a one-line value/],
  ['persistence with rr warns', (c) => { c.persistenceTimeout = 50; }, /^warning cluster\.persistenceTimeout: 50 s with rr: one client sticks/],
];
for (const [name, mutate, expected] of cases) {
  Cluster(name, () => {
    const found = problems(mutate);
    assert.ok(found.some((p) => expected.test(p)), `expected ${expected} in:\n${found.join('\n')}`);
  });
}

Cluster('several mistakes are all listed at once', () => {
  const found = problems((c) => { c.virtualRouterId = 300; c.auth = { type: 'PASS', pass: '123456789012' }; c.directors = { LB1: { priority: 7 }, LB2: { priority: 7 } }; });
  assert.is(found.length, 3, found.join('\n'));
});

Cluster.run();
