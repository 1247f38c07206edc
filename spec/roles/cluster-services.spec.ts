/**
 * The cluster model beyond the seed (#12): several virtual services, the
 * health-check union, unicast VRRP, nopreempt / preempt_delay. Broken
 * inputs → the one problem naming the field; whole rendered keepalived.conf
 * files; several services through the rollout's parser, drain list and
 * live IPVS confirmation; what the realserver role serves for them.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { compile } from '../../lib/engine/compile.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import { ipvsMatches } from '../../roles/director/keepalived-commands.ts';
import { parseKeepalived, removedReals, rolloutOf } from '../../roles/director/keepalived-parse.ts';
import { directorState, lvsGroups, primaryService, servicesOf, vipsOf, type LvsCluster, type LvsVars } from '../../roles/lvs/cluster.ts';
import { realServerServices } from '../../roles/realserver/index.ts';
import multi, { cluster as multiCluster } from '../fixtures/inventory/multi-service.ts';
import seed from '../../inventory/inventory.ts';
import site from '../../playbooks/site.ts';
import failover from '../../playbooks/failover.ts';

import { clusterKit } from './cluster-kit.ts';

const golden = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const { invOf, render, problems, changed } = clusterKit(multi);

const Model = suite('LVS cluster: several services, checks, VRRP modes');

Model('the shorthand and the list are one model: servicesOf fills the defaults in one place', () => {
  assert.equal(servicesOf(seed.vars.cluster), [{
    vip: '192.168.56.200', port: 80, protocol: 'TCP', scheduler: 'rr', persistenceTimeout: 0, delayLoop: 3,
    check: { kind: 'TCP_CHECK', connectTimeout: 10, retry: 3, delayBeforeRetry: 3 },
    realServers: [{ name: 'RS1', weight: 1 }, { name: 'RS2', weight: 1 }], inhibitOnFailure: false,
  }]);
  const [web, tls, dns] = servicesOf(multiCluster);
  assert.equal([web!.vip, web!.delayLoop, web!.realServers], ['192.168.56.200', 3, [{ name: 'RS1', weight: 1 }, { name: 'RS2', weight: 1 }]]);
  assert.equal([tls!.sorryServer, tls!.quorum, tls!.realServers[0]], [{ address: '192.168.56.105', port: 443 }, 2, { name: 'RS1', weight: 2 }]);
  assert.equal([dns!.vip, dns!.delayLoop, dns!.realServers], ['192.168.56.201', 5, [{ name: 'RS2', weight: 1 }]]);
  assert.equal(vipsOf(multiCluster), ['192.168.56.200', '192.168.56.201']);
  assert.is(primaryService(multiCluster).port, 80);
  assert.equal(problems(multiCluster).map((p) => p.split(':')[0]), ['warning cluster.services[1].check.kind', 'warning cluster.services[1].sorryServer.address']);
  assert.ok(problems(multiCluster).includes('warning cluster.services[1].sorryServer.address: with DR the sorry server 192.168.56.105 gets packets for 192.168.56.200 as a real server does: it must hold that VIP on lo with ARP suppressed, which play sets up only on this service\'s real servers'));
});

Model('three services, HTTP_GET, SSL_GET with a digest, MISC_CHECK, unicast: the whole keepalived.conf of each director', () => {
  assert.fixture(render(multiCluster, 'LB1'), golden('keepalived-multi-LB1.conf'));
  assert.fixture(render(multiCluster, 'LB2'), golden('keepalived-multi-LB2.conf'));
});

Model('unicast source and peers are derived: a director\'s own address on the interface when the cluster gives one', () => {
  const c = changed(multiCluster, (x) => { x.directors.LB2.address = '192.168.56.12'; });
  assert.match(render(c, 'LB1'), /    unicast_src_ip 192\.168\.56\.101\n    unicast_peer {\n        192\.168\.56\.12\n    }\n/);
  assert.match(render(c, 'LB2'), /    unicast_src_ip 192\.168\.56\.12\n    unicast_peer {\n        192\.168\.56\.101\n    }\n/);
  // Multicast, the default, writes neither.
  assert.not.match(render(changed(multiCluster, (x) => { delete x.vrrp; }), 'LB1'), /unicast/);
});

Model('nopreempt: every director starts as BACKUP, the highest priority still router LVS_MASTER', () => {
  const c = changed(seed.vars.cluster, (x) => { x.vrrp = { nopreempt: true }; });
  assert.equal(problems(c).map((p) => p.split(':')[0]), ['warning cluster.vrrp.nopreempt']);
  for (const [h, prio] of [['LB1', 200], ['LB2', 100]] as const) {
    const text = render(c, h);
    assert.ok(text.includes(`    state BACKUP\n    interface enp0s8\n    virtual_router_id 62\n    priority ${prio}\n    nopreempt\n    advert_int 1\n`), text);
  }
  assert.equal([directorState(c, 'LB1'), directorState(seed.vars.cluster, 'LB1')], ['BACKUP', 'MASTER']);
  const d = changed(seed.vars.cluster, (x) => { x.vrrp = { preemptDelay: 30 }; });
  assert.ok(render(d, 'LB1').includes('    priority 200\n    preempt_delay 30\n    advert_int 1\n'));
  assert.is(directorState(d, 'LB1'), 'BACKUP');
});

// Each row: a broken cluster → exactly these problems (one per mistake, naming its field).
const S = (i: number, f: (s: any) => void) => changed(multiCluster, (c) => f(c.services[i]));
const broken: Array<[string, LvsCluster, string[]]> = [
  ['services empty', changed(multiCluster, (c) => { c.services = []; }), ['cluster.services: needs at least one service']],
  ['a service that is not an object', changed(multiCluster, (c) => { c.services[1] = 443; }), ['cluster.services[1]: must be a service { port, protocol, scheduler, check, … }, got 443']],
  ['shorthand beside the list', changed(multiCluster, (c) => { c.port = 80; }), ['cluster.port: is the single-service shorthand; with cluster.services, give it in each service']],
  ['two services on one VIP:port', S(1, (s) => { s.port = 80; }), ['cluster.services[1].port: 192.168.56.200:80/TCP is also services[0]; IPVS has one virtual server per VIP, port and protocol']],
  ['a service VIP that is a host', S(2, (s) => { s.vip = '192.168.56.104'; }), ['cluster.services[2].vip: 192.168.56.104 is the address of host RS2; the VIP must be unused']],
  ['a service VIP outside the subnet', S(2, (s) => { s.vip = '10.1.1.1'; }), ["cluster.services[2].vip: 10.1.1.1 is outside the directors' subnet 192.168.56.0/24"]],
  ['a service port 0', S(1, (s) => { s.port = 0; }), ['cluster.services[1].port: must be a whole number 1–65535, got 0']],
  ['a service scheduler unknown', S(0, (s) => { s.scheduler = 'fastest'; }), ['cluster.services[0].scheduler: must be one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, got the string "fastest"']],
  ['a check kind unknown', S(0, (s) => { s.check.kind = 'PING_CHECK'; }), ['cluster.services[0].check.kind: must be one of TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, got the string "PING_CHECK"']],
  ['HTTP_GET without a path', S(0, (s) => { delete s.check.path; }), ['cluster.services[0].check.path: must be a URL path starting with /, without spaces or quotes, e.g. /health, got undefined']],
  ['HTTP_GET path with a space', S(0, (s) => { s.check.path = '/a b'; }), ['cluster.services[0].check.path: must be a URL path starting with /, without spaces or quotes, e.g. /health, got the string "/a b"']],
  ['HTTP_GET status 42', S(0, (s) => { s.check.status = 42; }), ['cluster.services[0].check.status: must be a whole number 100–599, got 42']],
  ['SSL_GET digest not MD5', S(1, (s) => { s.check.digest = 'sha256:abc'; }), ['cluster.services[1].check.digest: must be an MD5 digest, 32 lower-case hex digits (as keepalived\'s genhash prints it), got the string "sha256:abc"']],
  ['HTTP_GET on a UDP service', S(2, (s) => { s.check = { kind: 'HTTP_GET', path: '/', connectTimeout: 3, retry: 1, delayBeforeRetry: 1 }; }), ['cluster.services[2].check.kind: HTTP_GET asks over TCP, but the service is UDP; use MISC_CHECK for a UDP service']],
  ['check timing missing', S(0, (s) => { delete s.check.retry; }), ['cluster.services[0].check.retry: must be a whole number 0–100, got undefined']],
  ['MISC_CHECK script relative', S(2, (s) => { s.check.script = 'check-dns'; }), ['cluster.services[2].check.script: must be an absolute path, then its arguments, without quotes, newlines, ! or #, got the string "check-dns"']],
  ['MISC_CHECK script with a quote', S(2, (s) => { s.check.script = '/bin/sh -c "x"'; }), ['cluster.services[2].check.script: must be an absolute path, then its arguments, without quotes, newlines, ! or #, got the string "/bin/sh -c \\"x\\""']],
  ['MISC_CHECK without a user', S(2, (s) => { delete s.check.user; }), ["cluster.services[2].check.user: must be a Linux user name (the script runs as that user, keepalived's enable_script_security refuses root-writable-by-others scripts), got undefined"]],
  ['MISC_CHECK timeout 0', S(2, (s) => { s.check.timeout = 0; }), ['cluster.services[2].check.timeout: must be a whole number of seconds 1–3600, got 0']],
  ['a service real server not in the cluster', S(1, (s) => { s.realServers.RS9 = { weight: 1 }; }), ['cluster.services[1].realServers.RS9: RS9 is not in cluster.realServers (the hosts the realserver role sets up)']],
  ['a service weight a string', S(1, (s) => { s.realServers.RS1.weight = '2'; }), ['cluster.services[1].realServers.RS1.weight: must be a whole number 0–65535, got the string "2"']],
  ['a service with no real server', S(1, (s) => { s.realServers = {}; }), ['cluster.services[1].realServers: needs at least one real server (leave it out for every real server of the cluster)']],
  ['inhibitOnFailure "yes"', S(0, (s) => { s.inhibitOnFailure = 'yes'; }), ['cluster.services[0].inhibitOnFailure: must be true or false, got the string "yes"']],
  ['a sorry server that is a real server', S(1, (s) => { s.sorryServer.address = '192.168.56.103'; }), ['cluster.services[1].sorryServer.address: 192.168.56.103 is real server RS1 of this service; a sorry server serves when every real server is down, so it must be another host']],
  ['a sorry server not an address', S(1, (s) => { s.sorryServer = { address: 'sorry.example' }; }), ['cluster.services[1].sorryServer.address: must be an IPv4 address, got the string "sorry.example"']],
  ['a sorry server on another port (DR cannot change it)', S(1, (s) => { s.sorryServer.port = 8443; }), ["cluster.services[1].sorryServer.port: 8443 is not the service's port 443; with DR a packet reaches the sorry server unchanged, on the service's port, so leave it out"]],
  ['quorum 0', S(1, (s) => { s.quorum = 0; }), ['cluster.services[1].quorum: must be a whole number 1 or more, got 0']],
  ['a real server in no service', changed(multiCluster, (c) => { c.services = c.services.slice(2); }), ['cluster.realServers.RS1: RS1 is in no service of cluster.services; list it in a service\'s realServers, or remove it']],
  ['persistence with rr warns per service', S(2, (s) => { s.persistenceTimeout = 60; }), ['warning cluster.services[2].persistenceTimeout: 60 s with rr: one client sticks to one real server for that long, so a single client never sees round robin']],
  ['vrrp mode unknown', changed(multiCluster, (c) => { c.vrrp.mode = 'broadcast'; }), ['cluster.vrrp.mode: must be one of multicast, unicast, got the string "broadcast"']],
  ['unicast with one director', changed(multiCluster, (c) => { c.directors = { LB1: { priority: 200 } }; }), ['cluster.vrrp.mode: unicast needs at least two directors (each sends its adverts to the others), got 1']],
  ['unicast with two directors on one address', changed(multiCluster, (c) => { c.directors.LB2.address = '192.168.56.101'; }), ["cluster.directors.LB2.address: 192.168.56.101 is also LB1's address; unicast VRRP needs each director's own"]],
  ['a director address outside the subnet', changed(multiCluster, (c) => { c.directors.LB2.address = '10.0.0.2'; }), ['cluster.directors.LB2.address: 10.0.0.2 is outside 192.168.56.0/24']],
  ['a director state unknown', changed(multiCluster, (c) => { c.directors.LB2.state = 'STANDBY'; }), ['cluster.directors.LB2.state: must be one of MASTER, BACKUP, got the string "STANDBY"']],
  ['nopreempt with a MASTER state', changed(multiCluster, (c) => { c.vrrp.nopreempt = true; c.directors.LB1.state = 'MASTER'; }),
    ['cluster.directors.LB1.state: MASTER with vrrp.nopreempt: keepalived ignores nopreempt on an instance whose state is MASTER, so this director would still take the VIP back; leave state out (every director then starts as BACKUP and the highest priority is elected)']],
  ['preemptDelay with a MASTER state', changed(multiCluster, (c) => { c.vrrp.preemptDelay = 10; c.directors.LB1.state = 'MASTER'; }),
    ['cluster.directors.LB1.state: MASTER with vrrp.preemptDelay: keepalived ignores preempt_delay on an instance whose state is MASTER, so this director would still take the VIP back; leave state out (every director then starts as BACKUP and the highest priority is elected)']],
  ['nopreempt and preemptDelay', changed(multiCluster, (c) => { c.vrrp.nopreempt = true; c.vrrp.preemptDelay = 10; }), ['cluster.vrrp.preemptDelay: has no effect with vrrp.nopreempt: a director that never preempts has no preemption to delay; give one or the other']],
  ['preemptDelay 2000', changed(multiCluster, (c) => { c.vrrp.preemptDelay = 2000; }), ['cluster.vrrp.preemptDelay: must be a whole number of seconds 0–1000, got 2000']],
  ['nopreempt "true"', changed(multiCluster, (c) => { c.vrrp.nopreempt = 'true'; }), ['cluster.vrrp.nopreempt: must be true or false, got the string "true"']],
];
// The fixture's SSL_GET warning (its own spec below) is left out of each row.
const own = (c: LvsCluster) => problems(c).filter((p) => !p.includes('SSL_GET connects with TLS') && !p.startsWith('warning cluster.vrrp.nopreempt') && !p.includes('the sorry server 192.168.56.105'));
for (const [name, c, want] of broken) Model(`refused: ${name}`, () => assert.equal(own(c), want));

Model('SSL_GET is a warning: the realserver role serves no TLS, the real servers must', () => {
  assert.equal(own(changed(multiCluster, (c) => { c.services = [c.services[1]]; })).length, 0);
  assert.equal(problems(changed(multiCluster, (c) => { c.services = [c.services[1]]; delete c.services[0].sorryServer; })), [
    'warning cluster.services[0].check.kind: SSL_GET connects with TLS to port 443; the realserver role sets up nginx for plain HTTP only, so the real servers must serve TLS there themselves, or every one of them is down',
  ]);
});

Model('nopreempt is told where it meets the tools that expect preemption: a warning, and the failover drill refuses', () => {
  assert.equal(problems(changed(seed.vars.cluster, (x) => { x.vrrp = { nopreempt: true }; })), [
    'warning cluster.vrrp.nopreempt: the VIP stays where it is after a failover: play handback, and a rollout that must restart the MASTER (it hands the VIP over and takes it back), expect the highest priority to take it back and will fail; verify expects it on the highest priority',
  ]);
  const c = changed(seed.vars.cluster, (x) => { x.vrrp = { nopreempt: true }; });
  const drill = compile(failover, defineInventory<LvsVars>({ ...seed.def, vars: { cluster: c }, groups: lvsGroups(c) }));
  assert.ok(drill.problems.some((p) => p.field === 'cluster.vrrp.nopreempt' && /the failover drill measures the VIP failing over and back/.test(p.message)), JSON.stringify(drill.problems));
});

Model('several mistakes across services: all listed at once, each naming its service', () => {
  const c = changed(multiCluster, (x) => { x.services[0].check.path = 'health'; x.services[2].check.user = 'Root!'; x.vrrp.mode = 'anycast'; });
  assert.equal(own(c).map((p) => p.split(':')[0]), ['cluster.services[0].check.path', 'cluster.services[2].check.user', 'cluster.vrrp.mode']);
});

const Rollout = suite('keepalived rollout with several services');
const conf = (c: LvsCluster) => parseKeepalived(render(c, 'LB1'));

Rollout('the parser reads each virtual server: its protocol, scheduler, real servers, sorry server; and the unicast peers as shared', () => {
  const k = conf(multiCluster);
  assert.equal(k.virtualServers.map((v) => [`${v.address}:${v.port}/${v.protocol}`, v.scheduler, v.reals.map((r) => `${r.address}:${r.port}=${r.weight}`), v.sorry]), [
    ['192.168.56.200:80/TCP', 'wlc', ['192.168.56.103:80=1', '192.168.56.104:80=1'], undefined],
    ['192.168.56.200:443/TCP', 'sh', ['192.168.56.103:443=2', '192.168.56.104:443=1'], '192.168.56.105:443'],
    ['192.168.56.201:53/UDP', 'rr', ['192.168.56.104:53=1'], undefined],
  ]);
  // Each director writes its own source and the others as peers: the set is the same on every one.
  assert.is(k.instances[0]!.shared.unicast, '192.168.56.101 192.168.56.102');
  assert.is(parseKeepalived(render(multiCluster, 'LB2')).instances[0]!.shared.unicast, '192.168.56.101 192.168.56.102');
});

Rollout('a real server dropped from one service only is drained from that service only', () => {
  const after = changed(multiCluster, (c) => { delete c.services[1].realServers.RS2; });
  assert.equal(removedReals(conf(multiCluster), conf(after)).map(({ vs, real }) => `${vs.address}:${vs.port} ${real.address}:${real.port}`), ['192.168.56.200:443 192.168.56.104:443']);
  assert.equal(rolloutOf(conf(multiCluster), conf(after)), { kind: 'reload' });
  // A whole service removed: each of its real servers drained.
  const two = changed(multiCluster, (c) => { c.services.pop(); });
  assert.equal(removedReals(conf(multiCluster), conf(two)).map(({ vs, real }) => `${vs.protocol} ${vs.address}:${vs.port} ${real.address}`), ['UDP 192.168.56.201:53 192.168.56.104']);
});

Rollout('a second VIP, and multicast → unicast, are VRRP settings every director must share (BACKUPs first)', () => {
  const one = changed(multiCluster, (c) => { c.services.pop(); });
  assert.equal(rolloutOf(conf(one), conf(multiCluster)), { kind: 'shared', what: ['VI_1 virtual_ipaddress 192.168.56.200 → 192.168.56.200,192.168.56.201'] });
  const mcast = changed(multiCluster, (c) => { delete c.vrrp; });
  assert.equal(rolloutOf(conf(mcast), conf(multiCluster)), { kind: 'shared', what: ['VI_1 unicast VRRP (none) → 192.168.56.101 192.168.56.102'] });
});

Rollout('ipvsMatches confirms every service live, a sorry server tolerated, a wrong scheduler on any service refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'play-ipvs-'));
  // A stand-in ipvsadm: `ipvsadm -Ln -t|-u VIP:PORT` prints that service's section of the table.
  const table = (s443: string, r443: string) => ({
    '-t 192.168.56.200:80': 'TCP  192.168.56.200:80 wlc\n  -> 192.168.56.103:80 Route 1 0 0\n  -> 192.168.56.104:80 Route 0 0 0',
    '-t 192.168.56.200:443': `TCP  192.168.56.200:443 ${s443} persistent 300\n${r443}`,
    '-u 192.168.56.201:53': 'UDP  192.168.56.201:53 rr\n  -> 192.168.56.104:53 Route 1 0 0',
  });
  const run = (t: Record<string, string>) => {
    const cases = Object.entries(t).map(([k, v]) => `  ${JSON.stringify(k)}) printf '%s\\n' 'Prot LocalAddress:Port Scheduler Flags' '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn' ${v.split('\n').map((l) => `'${l}'`).join(' ')};;`).join('\n');
    writeFileSync(join(dir, 'ipvsadm'), `#!/bin/sh\ncase "$2 $3" in\n${cases}\n  *) exit 1;;\nesac\n`);
    chmodSync(join(dir, 'ipvsadm'), 0o755);
    return spawnSync('sh', ['-c', ipvsMatches(conf(multiCluster))], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } }).status;
  };
  try {
    assert.is(run(table('sh', '  -> 192.168.56.103:443 Route 2 0 0\n  -> 192.168.56.104:443 Route 1 0 0')), 0);
    // Every real server down: IPVS lists the sorry server alone.
    assert.is(run(table('sh', '  -> 192.168.56.105:443 Route 1 0 0')), 0);
    assert.is(run(table('rr', '  -> 192.168.56.103:443 Route 2 0 0')), 1);
    assert.is(run(table('sh', '  -> 192.168.56.103:443 Route 5 0 0')), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const Real = suite('real servers of several services');

Real('each real server holds the VIPs, opens the ports and serves the health pages of its own services', () => {
  assert.equal(realServerServices(multiCluster, 'RS1'), { vips: ['192.168.56.200'], ports: [{ port: 80, proto: 'tcp' }, { port: 443, proto: 'tcp' }], pages: ['/health'] });
  assert.equal(realServerServices(multiCluster, 'RS2'), {
    vips: ['192.168.56.200', '192.168.56.201'], ports: [{ port: 80, proto: 'tcp' }, { port: 443, proto: 'tcp' }, { port: 53, proto: 'udp' }], pages: ['/health'],
  });
  assert.equal(realServerServices(seed.vars.cluster, 'RS1'), { vips: ['192.168.56.200'], ports: [{ port: 80, proto: 'tcp' }], pages: [] });
});

Real('site.ts against the multi-service inventory: no problems, the health page planned, both VIPs in RS2\'s lo unit', () => {
  const c = compile(site, multi);
  assert.equal(c.problems, []);
  const rs2 = c.plays.flatMap((p) => p.work.filter((w) => w.host.name === 'RS2').flatMap((w) => w.tasks.map((t) => t.task)));
  const page = rs2.find((t) => t.kind === 'file' && (t.params as { path?: string }).path === '/var/www/html/health');
  assert.equal((page?.params as { content?: string })?.content, 'ok\n');
  const unit = rs2.find((t) => t.kind === 'template' && String((t.params as { dest?: string }).dest).endsWith('lvs-vip.service'))!;
  const p = unit.params as { src: URL; vars: Record<string, unknown> };
  const r = renderTemplate(p.src, p.vars);
  assert.ok(r.ok);
  assert.fixture(r.ok ? r.text : '', golden('lvs-vip-two-vips.service'));
});

Real('the directors\' no-RST unit drops RSTs for every TCP service, not the UDP one', () => {
  const c = compile(site, multi);
  const unit = c.plays.flatMap((p) => p.work.filter((w) => w.host.name === 'LB1').flatMap((w) => w.tasks.map((t) => t.task)))
    .find((t) => t.kind === 'template' && String((t.params as { dest?: string }).dest).includes('lvs-director-no-rst'))!;
  const p = unit.params as { src: URL; vars: Record<string, unknown> };
  const r = renderTemplate(p.src, p.vars);
  const filters = (r.ok ? r.text : '').split('\n').filter((l) => l.includes('flower'));
  assert.equal(filters.map((l) => l.replace(/^.*handle (\d+) .*src_ip (\S+) src_port (\d+) .*$/, '$1 $2:$3')), ['1 192.168.56.200:80', '2 192.168.56.200:443']);
  assert.match(r.ok ? r.text : '', /Description=LVS director: no RST from 192\.168\.56\.200:80 192\.168\.56\.200:443\n/);
});

Model.run();
Rollout.run();
Real.run();
