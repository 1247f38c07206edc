/**
 * How a config change reaches a running keepalived (reload, restart, the
 * BACKUPs-first path for shared VRRP settings, drains), and when the health
 * gate calls the cluster healthy: tables of configs and readings.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseKeepalived, removedReals, rolloutOf } from '../../roles/director/keepalived-parse.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthTargets, judgeHealth, parseReading, readingCommand, targetUp, type DirectorReading, type HealthTarget } from '../../roles/lvs/health.ts';
import type { ResolvedCheck } from '../../roles/lvs/cluster.ts';
import { HEALTH_PAGE_DIGEST } from '../../roles/realserver/index.ts';
import { localTransport } from '../../lib/transport/local.ts';
import multiService from '../fixtures/inventory/multi-service.ts';
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
const VIP = '192.168.56.200', SVC = '192.168.56.200:80/TCP';
const up = (...reals: string[]) => reals.map((r) => `${SVC} ${r}`);
const table = (...reals: string[]) => `IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.168.56.200:80 rr\n${reals.map((r) => `  -> ${r}            Route   1      0          0\n`).join('')}`;
const d = (name: string, o: Partial<DirectorReading>): DirectorReading => ({ name, active: 'active', vips: [VIP], holds: [], handover: 0, priorities: {}, ipvs: table(RS1, RS2), configured: { [SVC]: [RS1, RS2] }, up: up(RS1, RS2), ...o });

// readings of LB1 (MASTER, 200) and LB2 (BACKUP, 100) → healthy?
const cases: Array<[string, DirectorReading[], boolean]> = [
  ['converged: VIP on the MASTER, both tables full', [d('LB1', { holds: [VIP] }), d('LB2', {})], true],
  ['nothing runs yet (a fresh deploy)', [d('LB1', { active: 'inactive', ipvs: undefined }), d('LB2', { active: 'inactive', ipvs: undefined })], true],
  ['VIP on both directors (split brain)', [d('LB1', { holds: [VIP] }), d('LB2', { holds: [VIP] })], false],
  ['VIP on nobody', [d('LB1', {}), d('LB2', {})], false],
  ['VIP on the BACKUP while the MASTER runs', [d('LB1', {}), d('LB2', { holds: [VIP] })], false],
  ['MASTER stopped for a change: the BACKUP holds it', [d('LB1', { active: 'inactive' }), d('LB2', { holds: [VIP] })], true],
  ['BACKUP left VRRP: the MASTER holds it alone', [d('LB1', { holds: [VIP] }), d('LB2', { active: 'inactive' })], true],
  ['handed over: the BACKUP should hold it', [d('LB1', { handover: 253 }), d('LB2', { holds: [VIP] })], true],
  ['handed over, VIP still on the MASTER', [d('LB1', { handover: 253, holds: [VIP] }), d('LB2', {})], false],
  ['a healthy real server missing from a table', [d('LB1', { holds: [VIP], ipvs: table(RS1) }), d('LB2', {})], false],
  ['a real server that does not answer may be missing', [d('LB1', { holds: [VIP], ipvs: table(RS1), up: up(RS1) }), d('LB2', { ipvs: table(RS1), up: up(RS1) })], true],
  ['no IPVS in the kernel: the VIP alone decides', [d('LB1', { holds: [VIP], ipvs: undefined }), d('LB2', { ipvs: undefined })], true],
];
for (const [what, readings, healthy] of cases) {
  Gate(`${what} → ${healthy ? 'healthy' : 'not healthy'}`, () => {
    const v = judgeHealth(c, readings);
    assert.is(v.healthy, healthy, JSON.stringify(v.rows));
  });
}

const SEED_TARGETS = healthTargets(c, (n) => seed.hosts.find((h) => h.name === n)!.address);

Gate('one command per director reads it all; its output parses back', () => {
  const cmd = readingCommand(c, SEED_TARGETS, '/etc/keepalived/play-handover', '/etc/keepalived/keepalived.conf');
  assert.match(cmd, /exec 3<>\/dev\/tcp\/192\.168\.56\.103\/80/);
  const out = ['@@play-section active', 'active', '@@play-section addr', '3: enp0s8    inet 192.168.56.200/32 scope global enp0s8', '@@play-section handover', '253',
    '@@play-section ipvs', table(RS1), '@@play-section conf', LB1, '@@play-section up 0', 'open', '@@play-section up 1', ''].join('\n');
  assert.equal(parseReading('LB1', c, SEED_TARGETS, out), { name: 'LB1', active: 'active', vips: [VIP], holds: [VIP], handover: 253, priorities: { [VIP]: 200 }, ipvs: `${table(RS1)}\n`, configured: { [SVC]: [RS1, RS2] }, up: up(RS1) });
});

// Several services: every VIP judged, every service's table.
const multi = multiService.vars.cluster;
const MULTI_TARGETS = healthTargets(multi, (n) => multiService.hosts.find((h) => h.name === n)!.address);
const WEB = '192.168.56.200:80/TCP', TLS = '192.168.56.200:443/TCP', DNS = '192.168.56.201:53/UDP';
const multiTable = (web: string[], tls: string[], dns: string[]) => [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'TCP  192.168.56.200:80 wlc', ...web.map((r) => `  -> ${r}:80 Route 1 0 0`),
  'TCP  192.168.56.200:443 sh persistent 300', ...tls.map((r) => `  -> ${r}:443 Route 1 0 0`),
  'UDP  192.168.56.201:53 rr', ...dns.map((r) => `  -> ${r}:53 Route 1 0 0`), ''].join('\n');
const A = '192.168.56.103', B = '192.168.56.104';
const allUp = MULTI_TARGETS.map((t) => `${t.service} ${t.real}`);
const md = (name: string, o: Partial<DirectorReading>): DirectorReading => ({
  name, active: 'active', vips: ['192.168.56.200', '192.168.56.201'], holds: [], handover: 0, priorities: {}, ipvs: multiTable([A, B], [A, B], [B]),
  configured: { [WEB]: [`${A}:80`, `${B}:80`], [TLS]: [`${A}:443`, `${B}:443`], [DNS]: [`${B}:53`] }, up: allUp, ...o,
});
const multiCases: Array<[string, DirectorReading[], boolean]> = [
  ['both VIPs on the MASTER, every table full', [md('LB1', { holds: ['192.168.56.200', '192.168.56.201'] }), md('LB2', {})], true],
  ['the second VIP on nobody', [md('LB1', { holds: ['192.168.56.200'] }), md('LB2', {})], false],
  ['the second VIP on the BACKUP', [md('LB1', { holds: ['192.168.56.200'] }), md('LB2', { holds: ['192.168.56.201'] })], false],
  ['the UDP service lacks its real server', [md('LB1', { holds: ['192.168.56.200', '192.168.56.201'], ipvs: multiTable([A, B], [A, B], []) }), md('LB2', {})], false],
  ['the UDP real server fails its MISC_CHECK: it may be missing', [md('LB1', { holds: ['192.168.56.200', '192.168.56.201'], ipvs: multiTable([A, B], [A, B], []), up: allUp.filter((u) => !u.startsWith(DNS)) }), md('LB2', { up: allUp.filter((u) => !u.startsWith(DNS)) })], true],
  ['mid-rollout: the directors do not name the second VIP yet, so nobody need hold it', [md('LB1', { vips: ['192.168.56.200'], holds: ['192.168.56.200'] }), md('LB2', { vips: ['192.168.56.200'] })], true],
  ['one director names the second VIP: it is judged', [md('LB1', { vips: ['192.168.56.200'], holds: ['192.168.56.200'] }), md('LB2', {})], false],
  ['RS1 fails HTTP_GET on :80 only: missing there, required on :443', [md('LB1', { holds: ['192.168.56.200', '192.168.56.201'], ipvs: multiTable([B], [B], [B]), up: allUp.filter((u) => u !== `${WEB} ${A}:80`) }), md('LB2', { up: allUp.filter((u) => u !== `${WEB} ${A}:80`) })], false],
];
for (const [what, readings, healthy] of multiCases) {
  Gate(`several services: ${what} → ${healthy ? 'healthy' : 'not healthy'}`, () => {
    const v = judgeHealth(multi, readings);
    assert.is(v.healthy, healthy, JSON.stringify(v.rows));
  });
}
Gate('several services: one row per VIP and per service and director', () => {
  const v = judgeHealth(multi, [md('LB1', { holds: ['192.168.56.200', '192.168.56.201'] }), md('LB2', {})]);
  assert.equal(v.rows.map((r) => `${r.check} @ ${r.host}`), [
    'VIP 192.168.56.200 holder @ LB1,LB2', 'VIP 192.168.56.201 holder @ LB1,LB2',
    ...['LB1', 'LB2'].flatMap((h) => [WEB, TLS, DNS].map((k) => `IPVS lists healthy real servers of ${k} @ ${h}`)),
  ]);
});

// check → what the director gathered → up?
const http = { kind: 'HTTP_GET', path: '/health', connectTimeout: 3, retry: 1, delayBeforeRetry: 1, status: 200 } as const;
const probeCases: Array<[string, ResolvedCheck, string, boolean]> = [
  ['TCP open', { kind: 'TCP_CHECK', connectTimeout: 3, retry: 1, delayBeforeRetry: 1 }, 'open\n', true],
  ['TCP refused', { kind: 'TCP_CHECK', connectTimeout: 3, retry: 1, delayBeforeRetry: 1 }, '', false],
  ['HTTP 200', http, 'status HTTP/1.1 200 OK\nd41d8cd98f00b204e9800998ecf8427e  -\n', true],
  ['HTTP 500 (TCP accepts)', http, 'status HTTP/1.1 500 Internal Server Error\nx  -\n', false],
  ['HTTP no answer', http, 'status \nd41d8cd98f00b204e9800998ecf8427e  -\n', false],
  ['HTTP expected 204', { ...http, status: 204 }, 'status HTTP/1.1 204 No Content\n', true],
  ['HTTP digest matches', { ...http, digest: 'eff5bc1ef8ec9d03e640fc4370f5eacd' }, 'status HTTP/1.1 200 OK\neff5bc1ef8ec9d03e640fc4370f5eacd  -\n', true],
  ['HTTP digest differs', { ...http, digest: 'eff5bc1ef8ec9d03e640fc4370f5eacd' }, 'status HTTP/1.1 200 OK\n00000000000000000000000000000000  -\n', false],
  ['SSL_GET without openssl: the port accepts', { ...http, kind: 'SSL_GET' }, 'open\n', true],
  ['MISC_CHECK exit 0', { kind: 'MISC_CHECK', script: '/bin/true', timeout: 2, user: 'nobody' }, 'exit 0\n', true],
  ['MISC_CHECK exit 1', { kind: 'MISC_CHECK', script: '/bin/true', timeout: 2, user: 'nobody' }, 'exit 1\n', false],
];
for (const [what, check, out, want] of probeCases) Gate(`probe: ${what} → ${want ? 'up' : 'down'}`, () => assert.is(targetUp(check, out), want));

Gate('the HTTP_GET probe, run by bash against a real HTTP server: status and digest as keepalived sees them', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/health') { res.writeHead(200); res.end('ok\n'); } else { res.writeHead(500); res.end('broken'); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const at = (service: string, path: string, digest?: string): HealthTarget => ({ service, real: `127.0.0.1:${port}`, check: { ...http, path, ...(digest ? { digest } : {}) } });
  const local = localTransport();
  try {
    const targets = [at('page', '/health'), at('500', '/broken'), at('digest', '/health', HEALTH_PAGE_DIGEST), at('other-digest', '/health', '0123456789abcdef0123456789abcdef')];
    const r = await local.run(readingCommand(c, targets, '/nonexistent', '/nonexistent'));
    assert.equal(parseReading('here', c, targets, r.stdout).up, [`page 127.0.0.1:${port}`, `digest 127.0.0.1:${port}`]);
  } finally {
    await new Promise((r) => server.close(r));
    await local.close();
  }
});

Rollout.run();
Gate.run();
