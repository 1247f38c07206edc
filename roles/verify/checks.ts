import { holdsVipCommand } from '../director/keepalived-commands.ts';
import type { ResultTable } from '../../lib/core/change.ts';
import { quote, sh } from '../../lib/core/shell.ts';
import type { HostAccess } from '../../lib/core/task.ts';
import { instanceOf, primaryService, servicesOf, vipsOf, type LvsCluster, type ResolvedService } from '../lvs/cluster.ts';
import { ARP_SYSCTLS, realServerServices } from '../realserver/index.ts';
import { connDeltas, judgeDeltas, parseIpvsadm } from './parse.ts';

/** One verified fact: what we expected, what we saw. */
export interface CheckRow {
  check: string;
  host: string;
  expected: string;
  seen: string;
  pass: 'yes' | 'no' | 'skipped';
}

export const table = (rows: readonly CheckRow[]): ResultTable => ({
  head: ['check', 'host', 'expected', 'seen', 'pass'],
  rows: rows.map((r) => [r.check, r.host, r.expected, r.seen, r.pass]),
});

export interface Topology {
  cluster: LvsCluster;
  master: string;
  directors: Array<{ name: string }>;
  realServers: Array<{ name: string; address: string; label: string }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry `probe` until `done` says so or the deadline passes; return the last value. */
export async function settle<T>(probe: () => Promise<T>, done: (v: T) => boolean, deadlineMs: number, everyMs = 300): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() >= end) return v;
    await sleep(everyMs);
  }
}

/**
 * The director's counters once they count everything that came before this
 * call. The kernel folds its per-CPU counters into the ones it shows only
 * every 2 s (IPVS's estimator), all of them at once: a reading that differs
 * from the one taken now comes from a fold after now. Waits at most
 * `deadlineMs` (no traffic since the last fold changes nothing), polling
 * every `everyMs`: on average half the estimator's period, not all of it.
 */
export async function foldedStats(read: () => Promise<string>, deadlineMs = 2500, everyMs = 100): Promise<string> {
  const now = await read();
  return settle(read, (x) => x !== now, deadlineMs, everyMs);
}

/** Does this director hold the VIP on the cluster's interface? */
export async function holdsVip(r: HostAccess, c: LvsCluster): Promise<boolean> {
  return (await r.run(holdsVipCommand(c.vip, c.interface))).code === 0;
}

/** keepalived on every director, and each VIP on exactly one: the MASTER of its instance. */
export async function directorChecks(t: Topology, reader: (h: string) => Promise<HostAccess>, settleMs: number): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const readers = await Promise.all(t.directors.map((d) => reader(d.name)));
  const active = await Promise.all(readers.map((r) => r.run('systemctl is-active keepalived 2>/dev/null || true')));
  t.directors.forEach((d, i) => {
    const seen = active[i]!.stdout.trim() || 'unknown';
    rows.push({ check: 'keepalived running', host: d.name, expected: 'active', seen, pass: seen === 'active' ? 'yes' : 'no' });
  });
  // keepalived needs a few adverts before the MASTER takes the VIPs: wait for it, bounded.
  const vips = vipsOf(t.cluster);
  const masters = vips.map((vip) => instanceOf(t.cluster, vip).master);
  // One address listing per director per poll, whatever the number of VIPs.
  const listing = sh`ip -o -4 addr show dev ${t.cluster.interface} 2>/dev/null || true`;
  const holding = await settle(
    async () => {
      const addrs = await Promise.all(readers.map(async (r) => (await r.run(listing)).stdout));
      return vips.map((vip) => t.directors.flatMap((d, i) => (addrs[i]!.includes(` ${vip}/`) ? [d.name] : [])));
    },
    (all) => all.every((h, i) => h.length === 1 && h[0] === masters[i]), settleMs);
  const several = new Set(masters).size > 1;
  vips.forEach((vip, i) => {
    const holders = holding[i]!;
    const check = several ? `VIP ${vip} holder (${instanceOf(t.cluster, vip).name})` : `VIP ${vip} holder`;
    rows.push({ check, host: t.directors.map((d) => d.name).join(','), expected: `${masters[i]} only`, seen: holders.join(',') || 'none', pass: holders.length === 1 && holders[0] === masters[i] ? 'yes' : 'no' });
  });
  return rows;
}

/** VIP on lo, ARP sysctls and its own page, on each real server. */
export async function realServerChecks(t: Topology, reader: (h: string) => Promise<HostAccess>): Promise<CheckRow[]> {
  const perHost = await Promise.all(t.realServers.map(async (rs) => {
    const r = await reader(rs.name);
    const own = realServerServices(t.cluster, rs.name);
    // The realserver role's page is nginx's, on port 80 when the host serves it there.
    const port = own.ports.some((p) => p.port === 80 && p.proto === 'tcp') ? 80 : primaryService(t.cluster).port;
    const script = [
      ...own.vips.map((vip) => `ip -o -4 addr show dev lo | grep -c ${quote(` ${vip}/32`)} || true`),
      ...ARP_SYSCTLS.map(([k]) => sh`sysctl -n ${k} 2>/dev/null || echo '?'`),
      `curl -s -m 3 http://127.0.0.1:${port}/ 2>/dev/null | grep -o '<h1>[^<]*</h1>' || echo 'no answer'`,
    ].join('; ');
    const out = (await r.run(script)).stdout.trim().split('\n');
    const rows: CheckRow[] = [];
    own.vips.forEach((vip, i) => {
      const held = Number(out[i] ?? 0) > 0;
      rows.push({ check: 'VIP on lo', host: rs.name, expected: `${vip}/32`, seen: held ? `${vip}/32` : 'absent', pass: held ? 'yes' : 'no' });
    });
    const n = own.vips.length;
    ARP_SYSCTLS.forEach(([k, v], i) => {
      const seen = (out[n + i] ?? '?').trim();
      rows.push({ check: k.replace('net.ipv4.conf.', ''), host: rs.name, expected: v, seen, pass: seen === v ? 'yes' : 'no' });
    });
    const page = (out[n + ARP_SYSCTLS.length] ?? '').trim();
    rows.push({ check: 'nginx serves its page', host: rs.name, expected: `<h1>${rs.label}</h1>`, seen: page, pass: page === `<h1>${rs.label}</h1>` ? 'yes' : 'no' });
    return rows;
  }));
  return perHost.flat();
}

/** What the MASTER's IPVS table says, or why it cannot be read. */
export async function readIpvs(r: HostAccess): Promise<{ ok: true; out: string } | { ok: false; reason: string }> {
  const res = await r.run('ipvsadm -Ln 2>&1');
  // ipvsadm's first line says why ("Can't initialize ipvs: Protocol not available").
  if (res.code !== 0) return { ok: false, reason: `no IPVS on ${r.host.name} (ipvsadm -Ln: ${res.stdout.trim().split('\n')[0] || `exit ${res.code}`})` };
  return { ok: true, out: res.stdout };
}

/**
 * For every virtual service: the IPVS table on the MASTER of its VIP's instance lists it with
 * every real server, and requests from the controller to its VIP:port
 * (HTTP, or HTTPS for an SSL_GET-checked one; a UDP service is not asked)
 * are all answered and spread as its scheduler says. Without IPVS in the
 * directors' kernel, all are skipped with that reason.
 */
export async function balancingChecks(t: Topology, reader: (h: string) => Promise<HostAccess>, self: HostAccess, requests: number, settleMs: number): Promise<CheckRow[]> {
  const services = servicesOf(t.cluster);
  const rows = await Promise.all(services.map((s) => serviceChecks(t, s, services.length > 1, reader, self, requests, settleMs)));
  return rows.flat();
}

async function serviceChecks(t: Topology, s: ResolvedService, several: boolean, reader: (h: string) => Promise<HostAccess>, self: HostAccess, requests: number, settleMs: number): Promise<CheckRow[]> {
  // The director that holds this service's VIP: the MASTER of its instance.
  const holder = instanceOf(t.cluster, s.vip).master;
  const master = await reader(holder);
  const address = (name: string) => t.realServers.find((r) => r.name === name)?.address ?? name;
  const want = s.realServers.map((rs) => `${address(rs.name)}:${s.port}`).sort();
  const at = several ? ` ${s.vip}:${s.port}/${s.protocol}` : '';
  const listCheck = `IPVS service lists real servers${at}`;
  const askCheck = `${requests} requests to VIP${at} (${s.scheduler})`;
  const first = await readIpvs(master);
  if (!first.ok) {
    const reason = `skipped: ${first.reason}`;
    return [
      { check: listCheck, host: holder, expected: want.join(' '), seen: reason, pass: 'skipped' },
      { check: askCheck, host: 'controller', expected: s.realServers.map((r) => r.name).join('/'), seen: reason, pass: 'skipped' },
    ];
  }
  const mine = (out: string) => parseIpvsadm(out).find((x) => x.address === s.vip && x.port === s.port && x.proto === s.protocol);
  const listed = (out: string) => (mine(out)?.reals ?? []).map((x) => `${x.address}:${x.port}`).sort();
  // Health checks add real servers a few seconds after keepalived starts.
  const reals = await settle(async () => { const x = await readIpvs(master); return x.ok ? listed(x.out) : []; }, (l) => l.join(' ') === want.join(' '), settleMs);
  const rows: CheckRow[] = [{ check: listCheck, host: holder, expected: want.join(' '), seen: reals.join(' ') || 'none', pass: reals.join(' ') === want.join(' ') ? 'yes' : 'no' }];
  if (s.protocol === 'UDP') {
    rows.push({ check: askCheck, host: 'controller', expected: 'answers', seen: 'skipped: a UDP service; its health check is the proof', pass: 'skipped' });
    return rows;
  }
  // Judged from the director's own counters, not from the order of our
  // answers: on a cluster with other clients, their requests take turns in
  // the same rotation as ours.
  const stats = async () => (await master.run('ipvsadm -Ln --stats --exact 2>/dev/null')).stdout;
  const before = await stats();
  const url = s.check.kind === 'SSL_GET' ? `https://${s.vip}:${s.port}/` : `http://${s.vip}:${s.port}/`;
  // Any HTTP status is an answer: the service may be the user's own application, not the realserver role's page.
  const loop = `for i in $(seq 1 ${requests}); do printf '#%s\\n' "$(curl -sk -o /dev/null -w '%{http_code}' -m 3 ${quote(url)} 2>/dev/null)"; done`;
  const answered = (await self.run(loop)).stdout.split('\n').filter((l) => /^#[1-5]\d\d$/.test(l.trim())).length;
  const deltas = connDeltas(before, await foldedStats(stats), s.vip, s.port);
  const now = await readIpvs(master);
  const table = now.ok ? mine(now.out) : undefined;
  const weights = new Map((table?.reals ?? []).map((x) => [`${x.address}:${x.port}`, x.weight] as const));
  const names = new Map(t.realServers.map((r) => [`${r.address}:${s.port}`, r.label]));
  const pass = answered === requests && judgeDeltas(deltas, weights, s.scheduler);
  const seen = `${answered}/${requests} answered; new connections ${[...weights.keys()].map((k) => `${names.get(k) ?? k} +${deltas.get(k) ?? 0}${weights.get(k) === 0 ? ' (weight 0)' : ''}`).join(', ')}`;
  rows.push({ check: askCheck, host: holder, expected: s.scheduler === 'rr' ? 'all answered; IPVS spreads evenly' : 'all answered; every weighted real server used', seen, pass: pass ? 'yes' : 'no' });
  return rows;
}
