/**
 * `play drain` / `undrain` with several services: the real server's weight
 * changes in every service it is in, on every director; the seed's single
 * service gives the commands it always gave.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostAccess } from '../../lib/core/task.ts';
import { FactCache } from '../../lib/engine/fact-cache.ts';
import { planContext } from '../../lib/engine/plan-context.ts';
import { drainRealServer, realServerInService } from '../../roles/lvs/real-server-ops.ts';
import type { LvsCluster } from '../../roles/lvs/cluster.ts';
import type { Topology } from '../../roles/verify/checks.ts';
import { cluster as multiCluster } from '../fixtures/inventory/multi-service.ts';
import seed from '../../inventory/inventory.ts';
import { FakeTransport } from '../support/fake-transport.ts';
import { testHost } from '../support/plan-harness.ts';

const topology = (cluster: LvsCluster): Topology => ({
  cluster, master: 'LB1', directors: [{ name: 'LB1' }, { name: 'LB2' }],
  realServers: [{ name: 'RS1', address: '192.168.56.103', label: 'RS1' }, { name: 'RS2', address: '192.168.56.104', label: 'RS2' }],
});
const HEAD = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn';
const SEED_TABLE = `${HEAD}\nTCP  192.168.56.200:80 rr\n  -> 192.168.56.103:80 Route 1 0 0\n  -> 192.168.56.104:80 Route 1 0 0`;
const multiTable = (rs2: number) => `${HEAD}
TCP  192.168.56.200:80 wlc
  -> 192.168.56.103:80 Route 1 0 0
  -> 192.168.56.104:80 Route ${rs2} 0 0
TCP  192.168.56.200:443 sh persistent 300
  -> 192.168.56.103:443 Route 2 0 0
  -> 192.168.56.104:443 Route ${rs2} 0 0
UDP  192.168.56.201:53 rr
  -> 192.168.56.104:53 Route ${rs2} 0 0`;

async function plan(task: ReturnType<typeof drainRealServer>, host: string, table: string) {
  const reader = async (name: string): Promise<HostAccess> => ({ host: testHost({ name }), run: async () => ({ code: 0, stdout: `active\n${table}`, stderr: '' }) });
  return task.plan(planContext({
    host: testHost({ name: host }), cache: new FactCache(new FakeTransport(host, [])), pending: [], run: { pending: 0 }, results: {}, wantDiff: false, reader,
  }));
}
/** The weight changes, each made on a director through its HostAccess: what each says it runs, and where. */
const weights = (p: Awaited<ReturnType<typeof plan>>) => p.changes.map((c) => (c.apply ? c.what : '')).filter((e) => e.includes('ipvsadm -e'));

const Drain = suite('drain and undrain over several services');

Drain('the seed: one ipvsadm command per director, as before', async () => {
  assert.equal(weights(await plan(drainRealServer({ topology: topology(seed.vars.cluster) }), 'RS1', SEED_TABLE)), [
    'on LB1:\n  ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.103:80 -g -w 0',
    'on LB2:\n  ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.103:80 -g -w 0',
  ]);
});

Drain('RS2 drained from its three services (UDP with -u) on each director; RS2 is the last in 53/UDP, so that is refused', async () => {
  let refused = '';
  try { await plan(drainRealServer({ topology: topology(multiCluster) }), 'RS2', multiTable(1)); } catch (e) { refused = (e as Error).message; }
  assert.match(refused, /RS2 is the last real server in service on LB1/);
  const dnsBoth = { ...multiCluster, services: multiCluster.services!.map((x, i) => (i === 2 ? { ...x, realServers: { RS1: { weight: 1 }, RS2: { weight: 1 } } } : x)) };
  const udp = multiTable(1).replace('  -> 192.168.56.104:53', '  -> 192.168.56.103:53 Route 1 0 0\n  -> 192.168.56.104:53');
  assert.ok(weights(await plan(drainRealServer({ topology: topology(dnsBoth) }), 'RS2', udp)).includes('on LB2:\n  ipvsadm -e -u 192.168.56.201:53 -r 192.168.56.104:53 -g -w 0'));
  const two = { ...multiCluster, services: multiCluster.services!.slice(0, 2) };
  assert.equal(weights(await plan(drainRealServer({ topology: topology(two) }), 'RS2', multiTable(1))), [
    'on LB1:\n  ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.104:80 -g -w 0',
    'on LB1:\n  ipvsadm -e -t 192.168.56.200:443 -r 192.168.56.104:443 -g -w 0',
    'on LB2:\n  ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.104:80 -g -w 0',
    'on LB2:\n  ipvsadm -e -t 192.168.56.200:443 -r 192.168.56.104:443 -g -w 0',
  ]);
});

Drain('undrain restores each service\'s own weight (443 gives RS1 weight 2)', async () => {
  const table = multiTable(1).replace('192.168.56.103:80 Route 1', '192.168.56.103:80 Route 0').replace('192.168.56.103:443 Route 2', '192.168.56.103:443 Route 0');
  assert.equal(weights(await plan(realServerInService({ topology: topology(multiCluster) }), 'RS1', table)), [
    'on LB1:\n  ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.103:80 -g -w 1',
    'on LB1:\n  ipvsadm -e -t 192.168.56.200:443 -r 192.168.56.103:443 -g -w 2',
    'on LB2:\n  ipvsadm -e -t 192.168.56.200:80 -r 192.168.56.103:80 -g -w 1',
    'on LB2:\n  ipvsadm -e -t 192.168.56.200:443 -r 192.168.56.103:443 -g -w 2',
  ]);
});

/** RS1's connection entries: `active` carrying traffic, `idle` ESTABLISHED without a packet for 30 s, one closing, and one to RS2. */
const entries = (active: number, idle: number) => [
  'Timeout (tcp tcpfin udp): 900 120 300', 'IPVS connection entries', 'pro expire state       source             virtual            destination',
  ...Array.from({ length: active }, (_, i) => `TCP 14:5${i % 10}  ESTABLISHED 192.168.56.1:${40000 + i} 192.168.56.200:80  192.168.56.103:80`),
  ...Array.from({ length: idle }, (_, i) => `TCP 14:30  ESTABLISHED 192.168.56.1:${41000 + i} 192.168.56.200:80  192.168.56.103:80`),
  'TCP 01:50  FIN_WAIT    192.168.56.1:42000 192.168.56.200:80  192.168.56.103:80',
  'TCP 14:59  ESTABLISHED 192.168.56.1:42001 192.168.56.200:80  192.168.56.104:80',
].join('\n');
/** A director's answer: keepalived's state, its IPVS table with RS1's active connections, whether it holds the VIP, its connection entries. */
const director = (o: { weight: number; active: number; holds: boolean; idle?: number }) =>
  `active\n${SEED_TABLE.replace('192.168.56.103:80 Route 1 0 0', `192.168.56.103:80 Route ${o.weight} ${o.active + (o.idle ?? 0)} 0`)}\n@@play-addrs\n` +
  `2: enp0s8    inet 192.168.56.101/24 brd 192.168.56.255 scope global enp0s8\n${o.holds ? '2: enp0s8    inet 192.168.56.200/32 scope global enp0s8\n' : ''}` +
  `@@play-conns\n${entries(o.active, o.idle ?? 0)}\n`;

const activeRows: Array<{ name: string; lb1: Parameters<typeof director>[0]; lb2: Parameters<typeof director>[0]; want: string }> = [
  { name: 'drained, connections left only on the director without the VIP (from before it moved): done', lb1: { weight: 0, active: 0, holds: true }, lb2: { weight: 0, active: 3, holds: false }, want: 'noop' },
  { name: 'drained, connections left on the VIP holder: wait for them', lb1: { weight: 0, active: 2, holds: true }, lb2: { weight: 0, active: 0, holds: false }, want: 'wait until RS1 has no active connection on LB1, LB2' },
  { name: 'drained, the VIP holder has only entries without a packet for 10 s (copies synced while it was BACKUP, of connections that ended elsewhere): done', lb1: { weight: 0, active: 0, idle: 2, holds: true }, lb2: { weight: 0, active: 0, holds: false }, want: 'noop' },
  { name: 'drained, one carrying traffic beside idle ones on the VIP holder: wait', lb1: { weight: 0, active: 1, idle: 2, holds: true }, lb2: { weight: 0, active: 0, holds: false }, want: 'wait until RS1 has no active connection on LB1, LB2' },
  { name: 'not drained: weight 0 on both, then wait', lb1: { weight: 1, active: 0, holds: true }, lb2: { weight: 1, active: 5, holds: false }, want: 'weight 1 → 0 for 192.168.56.103:80 on LB1 | weight 1 → 0 for 192.168.56.103:80 on LB2 | wait until RS1 has no active connection on LB1, LB2' },
];
for (const r of activeRows) {
  Drain(`active connections: ${r.name}`, async () => {
    const answers: Record<string, string> = { LB1: director(r.lb1), LB2: director(r.lb2) };
    const reader = async (name: string): Promise<HostAccess> => ({ host: testHost({ name }), run: async () => ({ code: 0, stdout: answers[name]!, stderr: '' }) });
    const p = await drainRealServer({ topology: topology(seed.vars.cluster) }).plan(planContext({
      host: testHost({ name: 'RS1' }), cache: new FactCache(new FakeTransport('RS1', [])), pending: [], run: { pending: 0 }, results: {}, wantDiff: false, reader,
    }));
    assert.is(p.changes.length ? p.changes.map((c) => c.summary).join(' | ') : 'noop', r.want);
  });
}

Drain.run();
