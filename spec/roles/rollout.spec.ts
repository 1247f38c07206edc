/**
 * How a config change reaches a running keepalived (reload, restart, the
 * BACKUPs-first path for shared VRRP settings, drains), and when the health
 * gate calls the cluster healthy: tables of configs and readings.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseKeepalived, removedReals, rolloutOf } from '../../roles/director/keepalived-parse.ts';
import { judgeHealth, parseReading, readingCommand, type DirectorReading } from '../../roles/lvs/health.ts';
import seed from '../../inventory/inventory.ts';

const LB1 = readFileSync(new URL('./fixtures/keepalived-LB1.conf', import.meta.url), 'utf8');
const Rollout = suite('keepalived rollout');

Rollout('the seed config parses: shared VRRP settings, the virtual server and its weights', () => {
  const c = parseKeepalived(LB1);
  assert.equal(c.instances.map((i) => [i.name, i.state, i.priority, i.shared]), [['VI_1', 'MASTER', 200, { advertInt: '1', virtualRouterId: '62', authType: 'PASS', authPass: '1111', vips: ['192.168.56.200'] }]]);
  assert.equal(c.virtualServers.map((v) => [v.address, v.port, v.scheduler, v.forwarding, v.reals.map((r) => `${r.address}:${r.port}=${r.weight}`)]), [
    ['192.168.56.200', 80, 'rr', 'DR', ['192.168.56.103:80=1', '192.168.56.104:80=1']],
  ]);
  assert.is(c.globals.lvs_sync_daemon, 'enp0s8 VI_1 maxlen 100');
});

// edit of the seed config → how it must reach a running keepalived
const edits: Array<[string, (s: string) => string, string]> = [
  ['a weight', (s) => s.replace('weight 1', 'weight 2'), 'reload'],
  ['delay_loop', (s) => s.replace('delay_loop 3', 'delay_loop 4'), 'reload'],
  ['the priority', (s) => s.replace('priority 200', 'priority 150'), 'reload'],
  ['advert_int', (s) => s.replace('advert_int 1', 'advert_int 2'), 'shared: VI_1 advert_int 1 → 2'],
  ['virtual_router_id', (s) => s.replace('virtual_router_id 62', 'virtual_router_id 63'), 'shared: VI_1 virtual_router_id 62 → 63'],
  ['auth_pass (never shown)', (s) => s.replace('auth_pass 1111', 'auth_pass 2222'), 'shared: VI_1 auth_pass changes'],
  ['the VIP', (s) => s.replace(/^(\s+)192\.168\.56\.200$/m, '$1192.168.56.201'), 'shared: VI_1 virtual_ipaddress 192.168.56.200 → 192.168.56.201'],
  ['net_namespace', (s) => s.replace('global_defs {', 'global_defs {\n   net_namespace lvs'), 'restart: net_namespace changes, and keepalived cannot change it on a reload'],
  ['disable_local_igmp (a flag, no value)', (s) => s.replace('global_defs {', 'global_defs {\n   disable_local_igmp'), 'restart: disable_local_igmp changes, and keepalived cannot change it on a reload'],
  ['a comment only', (s) => s.replace('managed by play', 'managed by PLAY'), 'reload'],
];
for (const [what, edit, want] of edits) {
  Rollout(`changing ${what} → ${want}`, () => {
    const how = rolloutOf(parseKeepalived(LB1), parseKeepalived(edit(LB1)));
    const seen = how.kind === 'reload' ? 'reload' : how.kind === 'restart' ? `restart: ${how.why}` : `shared: ${how.what.join(', ')}`;
    assert.is(seen, want);
  });
}

Rollout('a real server the new config drops is listed for draining; an added one is not', () => {
  const without = LB1.replace(/\n    real_server 192\.168\.56\.104 80 \{[^]*?\n    \}\n/, '\n');
  assert.not.match(without, /192\.168\.56\.104/);
  assert.equal(removedReals(parseKeepalived(LB1), parseKeepalived(without)).map((x) => `${x.vs.address}:${x.vs.port} ${x.real.address}`), ['192.168.56.200:80 192.168.56.104']);
  assert.equal(removedReals(parseKeepalived(without), parseKeepalived(LB1)), []);
});

const Gate = suite('health gate');
const c = seed.vars.cluster;
const RS1 = '192.168.56.103:80', RS2 = '192.168.56.104:80';
const table = (...reals: string[]) => `IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.168.56.200:80 rr\n${reals.map((r) => `  -> ${r}            Route   1      0          0\n`).join('')}`;
const d = (name: string, o: Partial<DirectorReading>): DirectorReading => ({ name, active: 'active', holdsVip: false, handover: 0, ipvs: table(RS1, RS2), configured: [RS1, RS2], up: [RS1, RS2], ...o });

// readings of LB1 (MASTER, 200) and LB2 (BACKUP, 100) → healthy?
const cases: Array<[string, DirectorReading[], boolean]> = [
  ['converged: VIP on the MASTER, both tables full', [d('LB1', { holdsVip: true }), d('LB2', {})], true],
  ['nothing runs yet (a fresh deploy)', [d('LB1', { active: 'inactive', ipvs: undefined }), d('LB2', { active: 'inactive', ipvs: undefined })], true],
  ['VIP on both directors (split brain)', [d('LB1', { holdsVip: true }), d('LB2', { holdsVip: true })], false],
  ['VIP on nobody', [d('LB1', {}), d('LB2', {})], false],
  ['VIP on the BACKUP while the MASTER runs', [d('LB1', {}), d('LB2', { holdsVip: true })], false],
  ['MASTER stopped for a change: the BACKUP holds it', [d('LB1', { active: 'inactive' }), d('LB2', { holdsVip: true })], true],
  ['BACKUP left VRRP: the MASTER holds it alone', [d('LB1', { holdsVip: true }), d('LB2', { active: 'inactive' })], true],
  ['handed over: the BACKUP should hold it', [d('LB1', { handover: 253 }), d('LB2', { holdsVip: true })], true],
  ['handed over, VIP still on the MASTER', [d('LB1', { handover: 253, holdsVip: true }), d('LB2', {})], false],
  ['a healthy real server missing from a table', [d('LB1', { holdsVip: true, ipvs: table(RS1) }), d('LB2', {})], false],
  ['a real server that does not answer may be missing', [d('LB1', { holdsVip: true, ipvs: table(RS1), up: [RS1] }), d('LB2', { ipvs: table(RS1), up: [RS1] })], true],
  ['no IPVS in the kernel: the VIP alone decides', [d('LB1', { holdsVip: true, ipvs: undefined }), d('LB2', { ipvs: undefined })], true],
];
for (const [what, readings, healthy] of cases) {
  Gate(`${what} → ${healthy ? 'healthy' : 'not healthy'}`, () => {
    const v = judgeHealth(c, readings);
    assert.is(v.healthy, healthy, JSON.stringify(v.rows));
  });
}

Gate('one command per director reads it all; its output parses back', () => {
  const cmd = readingCommand(c, [RS1, RS2], '/etc/keepalived/play-handover', '/etc/keepalived/keepalived.conf');
  assert.match(cmd, /exec 3<>\/dev\/tcp\/192\.168\.56\.103\/80/);
  const out = ['@@play-section active', 'active', '@@play-section addr', '3: enp0s8    inet 192.168.56.200/32 scope global enp0s8', '@@play-section handover', '253',
    '@@play-section ipvs', table(RS1), '@@play-section conf', LB1, '@@play-section up', RS1, ''].join('\n');
  assert.equal(parseReading('LB1', c, out), { name: 'LB1', active: 'active', holdsVip: true, handover: 253, ipvs: `${table(RS1)}\n`, configured: [RS1, RS2], up: [RS1] });
});

Rollout.run();
Gate.run();
