/**
 * Several VRRP instances (active/active, #12): each director MASTER of one
 * instance. The model's defaults and its broken inputs (one problem per
 * field), the rendered keepalived.conf of each director, and what a live
 * rollout between one instance and two reads from the directors' configs:
 * which VIPs change instance (bridged on lo), what a director is MASTER of,
 * who should hold each VIP, and the failovers the drill runs.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handoverVrrp } from '../../roles/director/index.ts';
import { masteredBy, parseKeepalived, rehomedVips, replacedInstances } from '../../roles/director/keepalived-parse.ts';
import { drillMoves } from '../../roles/failover/index.ts';
import { expectedHolder, type DirectorReading } from '../../roles/lvs/health.ts';
import { directorState, instanceOf, instancesOf, masterOf, type LvsCluster } from '../../roles/lvs/cluster.ts';
import active, { cluster as aa } from '../fixtures/inventory/lab-active.ts';
import { cluster as services } from '../fixtures/inventory/lab-services.ts';
import seed from '../../inventory/inventory.ts';
import { clusterKit } from './cluster-kit.ts';

const golden = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const { render, problems, changed } = clusterKit(active);
const VIP1 = '192.168.56.200', VIP2 = '192.168.56.201';

const Model = suite('active/active: the model');

Model('one instance by default: VI_1 carries every VIP, with the cluster\'s router id and the directors\' priorities', () => {
  assert.equal(instancesOf(seed.vars.cluster), [{ name: 'VI_1', virtualRouterId: 62, vips: [VIP1], priorities: { LB1: 200, LB2: 100 }, master: 'LB1' }]);
  assert.equal(instancesOf(services).map((i) => i.vips), [[VIP1, VIP2]]);
  assert.equal(handoverVrrp(seed.vars.cluster), { vip: VIP1, interface: 'enp0s8', advertInterval: 1, virtualRouterId: 62, priorities: { LB1: 200, LB2: 100 } });
});

Model('two instances: each its VIPs, router id and MASTER; the handover and the drill follow each director', () => {
  assert.equal(instancesOf(aa), [
    { name: 'VI_1', virtualRouterId: 62, vips: [VIP1], priorities: { LB1: 200, LB2: 100 }, master: 'LB1' },
    { name: 'VI_2', virtualRouterId: 63, vips: [VIP2], priorities: { LB1: 100, LB2: 200 }, master: 'LB2' },
  ]);
  assert.is(masterOf(aa), 'LB1');
  assert.is(instanceOf(aa, VIP2).master, 'LB2');
  assert.equal([directorState(aa, 'LB1'), directorState(aa, 'LB1', instanceOf(aa, VIP2)), directorState(aa, 'LB2', instanceOf(aa, VIP2))], ['MASTER', 'BACKUP', 'MASTER']);
  assert.equal(handoverVrrp(aa, 'LB2'), { vip: VIP2, interface: 'enp0s8', advertInterval: 1, virtualRouterId: 63, priorities: { LB1: 100, LB2: 200 } });
  assert.equal(drillMoves(aa), [
    { master: 'LB1', backup: 'LB2', vip: VIP1, port: 80, label: 'VI_1: ' },
    { master: 'LB2', backup: 'LB1', vip: VIP2, port: 80, label: 'VI_2: ' },
  ]);
  assert.equal(drillMoves(seed.vars.cluster), [{ master: 'LB1', backup: 'LB2', vip: VIP1, port: 80, label: '' }]);
  // The instance carrying cluster.vip comes first whatever the order written: it is the sync daemon's and the MASTER's.
  const swapped = changed(aa, (c) => { c.vrrp.instances.reverse(); });
  assert.equal(instancesOf(swapped).map((i) => i.name), ['VI_1', 'VI_2']);
  assert.equal(problems(aa), []);
});

Model('the whole keepalived.conf of each director: two instances, each MASTER of one', () => {
  assert.fixture(render(aa, 'LB1'), golden('keepalived-active-LB1.conf'));
  assert.fixture(render(aa, 'LB2'), golden('keepalived-active-LB2.conf'));
});

Model('a sync group: written before the instances, once', () => {
  const together = changed(aa, (c) => { c.vrrp.instances[1].priorities = { LB1: 200, LB2: 100 }; c.vrrp.syncGroups = [{ name: 'G1', instances: ['VI_1', 'VI_2'] }]; });
  assert.equal(problems(together), []);
  assert.match(render(together, 'LB1'), /\n# Instances in one sync group change state together \(cluster\.vrrp\.syncGroups\)\.\nvrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n\nvrrp_instance VI_1 {/);
  assert.not.match(render(aa, 'LB1'), /vrrp_sync_group/);
});

// One mistake each → exactly the problem(s) naming its field.
const mistakes: Array<[string, (c: any) => void, string[]]> = [
  ['a VIP in two instances', (c) => { c.vrrp.instances[1].vips = [VIP2, VIP1]; }, [`cluster.vrrp.instances[1].vips[1]: ${VIP1} is also carried by instances[0]; a VIP belongs to one instance`]],
  ['a VIP in none', (c) => { c.vrrp.instances[1].vips = []; }, [
    'cluster.vrrp.instances[1].vips: is empty: an instance carries at least one VIP (remove the instance instead)',
    `cluster.vrrp.instances: no instance carries ${VIP2}; every VIP of the cluster must be in one instance's vips`,
  ]],
  ['an address that is no VIP', (c) => { c.vrrp.instances[1].vips = [VIP2, '192.168.56.250']; }, [`cluster.vrrp.instances[1].vips[1]: 192.168.56.250 is not a VIP of the cluster (cluster.vip or a service's vip: ${VIP1}, ${VIP2})`]],
  ['the second instance without a router id', (c) => { delete c.vrrp.instances[1].virtualRouterId; }, ['cluster.vrrp.instances[1].virtualRouterId: is required: only the instance carrying cluster.vip takes cluster.virtualRouterId']],
  ['two instances, one router id', (c) => { c.vrrp.instances[1].virtualRouterId = 62; }, ['cluster.vrrp.instances[1].virtualRouterId: 62 is also instances[0]\'s; every instance needs its own virtual_router_id']],
  ['a router id out of range', (c) => { c.vrrp.instances[1].virtualRouterId = 256; }, ['cluster.vrrp.instances[1].virtualRouterId: must be a whole number 1–255, got 256']],
  ['two instances, one name', (c) => { c.vrrp.instances[1].name = 'VI_1'; }, ['cluster.vrrp.instances[1].name: VI_1 is also instances[0]\'s name']],
  ['a name keepalived cannot read', (c) => { c.vrrp.instances[1].name = 'VI 2'; }, ['cluster.vrrp.instances[1].name: must be a letter, then letters, digits, _ or -, at most 32, got the string "VI 2"']],
  ['a priority for a host that is no director', (c) => { c.vrrp.instances[1].priorities = { LB1: 100, LB2: 200, RS1: 50 }; }, ['cluster.vrrp.instances[1].priorities.RS1: RS1 is not in cluster.directors']],
  ['a director left out of priorities', (c) => { c.vrrp.instances[1].priorities = { LB2: 200 }; }, ['cluster.vrrp.instances[1].priorities: has no priority for LB1: give every director one (or leave priorities out for the directors\' own)']],
  ['two equal priorities in one instance', (c) => { c.vrrp.instances[1].priorities = { LB1: 200, LB2: 200 }; }, ['cluster.vrrp.instances[1].priorities.LB2: 200 is also LB1\'s priority in this instance; priorities must differ so one director is its MASTER']],
  ['a director\'s own state with instances', (c) => { c.directors.LB2.state = 'MASTER'; }, ['cluster.directors.LB2.state: is refused with vrrp.instances: each instance\'s highest priority starts as its MASTER, the others as BACKUP; leave state out']],
  ['an empty list', (c) => { c.vrrp.instances = []; }, ['cluster.vrrp.instances: needs at least one instance (or leave it out for one instance carrying every VIP)']],
  ['not a list', (c) => { c.vrrp.instances = { VI_1: {} }; }, ['cluster.vrrp.instances: must be a list of { name, virtualRouterId?, vips, priorities? }, got an object']],
  ['a sync group naming an unknown instance', (c) => { c.vrrp.syncGroups = [{ name: 'G1', instances: ['VI_1', 'VI_3'] }]; }, ['cluster.vrrp.syncGroups[0].instances[1]: the string "VI_3" is not an instance of vrrp.instances']],
  ['a sync group of one', (c) => { c.vrrp.syncGroups = [{ name: 'G1', instances: ['VI_1'] }]; }, ['cluster.vrrp.syncGroups[0].instances: names 1 instance: a sync group keeps at least two together']],
  ['an instance in two sync groups', (c) => { c.vrrp.instances[1].priorities = { LB1: 200, LB2: 100 }; c.vrrp.syncGroups = [{ name: 'G1', instances: ['VI_1', 'VI_2'] }, { name: 'G2', instances: ['VI_2', 'VI_1'] }]; }, [
    'cluster.vrrp.syncGroups[1].instances[0]: VI_2 is also in syncGroups[0]; an instance is in one sync group at most',
    'cluster.vrrp.syncGroups[1].instances[1]: VI_1 is also in syncGroups[0]; an instance is in one sync group at most',
  ]],
  ['a sync group whose instances have different MASTERs', (c) => { c.vrrp.syncGroups = [{ name: 'G1', instances: ['VI_1', 'VI_2'] }]; }, ['cluster.vrrp.syncGroups[0].instances: VI_1, VI_2 have different MASTERs (VI_1: LB1, VI_2: LB2); instances that fail over together need the same highest-priority director']],
  ['a sync group without instances', (c) => { delete c.vrrp.instances; c.vrrp.syncGroups = [{ name: 'G1', instances: ['VI_1', 'VI_2'] }]; }, [
    'cluster.vrrp.syncGroups: needs vrrp.instances: with one instance there is nothing to keep together',
  ]],
];
for (const [name, f, want] of mistakes) {
  Model(`refused: ${name}`, () => assert.equal(problems(changed(aa, f)), want));
}

const Live = suite('active/active: a live rollout reads the directors\' configs');
const conf = (c: LvsCluster, host: string) => parseKeepalived(render(c, host));

Live('services → active/active: the second VIP changes instance on LB1 (bridged on lo), no instance is replaced', () => {
  assert.equal(rehomedVips(conf(services, 'LB1'), conf(aa, 'LB1')), [VIP2]);
  assert.equal(replacedInstances(conf(services, 'LB1'), conf(aa, 'LB1')), []);
  // …and back: VI_2 goes (replaced), its VIP joins VI_1.
  assert.equal(rehomedVips(conf(aa, 'LB1'), conf(services, 'LB1')), [VIP2]);
  assert.equal(replacedInstances(conf(aa, 'LB1'), conf(services, 'LB1')), ['VI_2']);
  assert.equal(rehomedVips(conf(services, 'LB1'), conf(services, 'LB1')), []);
});

Live('what a director is MASTER of, from every director\'s config (matched by router id)', () => {
  const both = (c: LvsCluster) => ({ LB1: conf(c, 'LB1'), LB2: conf(c, 'LB2') });
  assert.equal(masteredBy('LB2', both(aa)), { vips: [VIP2], virtualRouterId: 63, priorities: { LB1: 100, LB2: 200 } });
  assert.equal(masteredBy('LB1', both(aa)), { vips: [VIP1], virtualRouterId: 62, priorities: { LB1: 200, LB2: 100 } });
  assert.equal(masteredBy('LB1', both(services)), { vips: [VIP1, VIP2], virtualRouterId: 62, priorities: { LB1: 200, LB2: 100 } });
  assert.is(masteredBy('LB2', both(services)), undefined);
  // Half way: LB2 already runs two instances, LB1 still one. VI_2 has no peer yet, so LB2 is its MASTER.
  assert.equal(masteredBy('LB2', { LB1: conf(services, 'LB1'), LB2: conf(aa, 'LB2') })?.vips, [VIP2]);
});

const reading = (name: string, o: Partial<DirectorReading>): DirectorReading => ({ name, active: 'active', vips: [VIP1, VIP2], holds: [], handover: 0, priorities: {}, configured: {}, up: [], ...o });
Live('who should hold each VIP: the priority in its instance, as each director\'s config says, after handover offsets', () => {
  const lb1 = reading('LB1', { priorities: { [VIP1]: 200, [VIP2]: 100 } });
  const lb2 = reading('LB2', { priorities: { [VIP1]: 100, [VIP2]: 200 } });
  assert.equal([expectedHolder(aa, [lb1, lb2], VIP1), expectedHolder(aa, [lb1, lb2], VIP2)], ['LB1', 'LB2']);
  assert.is(expectedHolder(aa, [lb1, { ...lb2, handover: 253 }], VIP2), 'LB1');
  assert.is(expectedHolder(aa, [lb1, { ...lb2, active: 'inactive' }], VIP2), 'LB1');
  // Before the rollout both run one instance: LB1 holds both.
  const one = (name: string, p: number) => reading(name, { priorities: { [VIP1]: p, [VIP2]: p } });
  assert.equal([expectedHolder(aa, [one('LB1', 200), one('LB2', 100)], VIP2)], ['LB1']);
  // No config on disk: the cluster's own priorities.
  assert.is(expectedHolder(aa, [reading('LB1', {}), reading('LB2', {})], VIP2), 'LB1');
});

Model.run();
Live.run();
