import { servicesOf } from './cluster.ts';
import { changes, noop, outline, type Change } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { wholeNumber } from '../../lib/tasks/checks.ts';
import { TaskError } from '../../lib/core/errors.ts';
import { sh } from '../../lib/core/shell.ts';
import type { PlanContext } from '../../lib/core/task.ts';
import { parseIpvsadm } from '../verify/parse.ts';
import { ACTIVE_WITHIN_S, CONNECTIONS_COMMAND, isActive, parseConnections } from './ipvs-connections.ts';
import { settle, table, type CheckRow, type Topology } from '../verify/checks.ts';

const FLAG: Record<string, string> = { DR: '-g', NAT: '-m', TUN: '-i' };
/** Where a director's addresses start in what `entries` reads. */
const ADDRS = '@@play-addrs';
/** Where its IPVS connection entries start. */
const CONNS = '@@play-conns';

/**
 * This real server's entry on each running director with IPVS, one per
 * service it is in (the seed: one).
 */
async function entries(t: Topology, host: string, ctx: Pick<PlanContext, 'reader'>) {
  const c = t.cluster;
  const rs = t.realServers.find((r) => r.name === host);
  if (!rs) throw new TaskError(host, 'real server', `${host} is not in cluster.realServers`);
  const services = servicesOf(c).filter((s) => s.realServers.some((r) => r.name === host));
  const perDirector = await Promise.all(t.directors.map(async (d) => {
    const r = await ctx.reader(d.name);
    const out = await r.run(`systemctl is-active keepalived 2>/dev/null; ipvsadm -Ln 2>/dev/null || echo @@no-ipvs; echo ${ADDRS}; ip -o -4 addr show 2>/dev/null || true; echo ${CONNS}; ${CONNECTIONS_COMMAND}`);
    const [state = '', ...rest] = out.stdout.split('\n');
    const [ipvs = '', tail = ''] = rest.join('\n').split(`${ADDRS}\n`);
    const [addrs = '', connections = ''] = tail.split(`${CONNS}\n`);
    return services.map((service) => {
      const dest = `${rs.address}:${service.port}`;
      const svc = parseIpvsadm(ipvs).find((s) => s.address === service.vip && s.port === service.port && s.proto === service.protocol);
      const mine = svc?.reals.find((x) => `${x.address}:${x.port}` === dest);
      return {
        director: d.name, access: r, service, dest, running: state.trim() === 'active', ipvs: !ipvs.includes('@@no-ipvs'),
        // Connections count only where the service's VIP is, as packets reach that director alone. Another keeps
        // the entries of connections it carried before the VIP moved (they never see their FIN, so stay
        // ESTABLISHED for IPVS's 15 min), and the sync daemon's copies of the holder's, counted there. And
        // there only those carrying traffic (isActive): the VIP's holder may have copies, synced while it
        // was BACKUP, of connections that ended elsewhere.
        weight: mine?.weight, active: mine && addrs.includes(` inet ${service.vip}/`) ? activeOf(connections, service, dest) : 0,
        othersServing: (svc?.reals ?? []).filter((x) => `${x.address}:${x.port}` !== dest && x.weight > 0).length,
        configured: service.realServers.find((x) => x.name === host)?.weight ?? 1,
      };
    });
  }));
  return perDirector.flat();
}

type Entry = Awaited<ReturnType<typeof entries>>[number];

/** Set this real server's IPVS weight in one service on one director (made there, through its HostAccess). */
function weightChange(t: Topology, e: Entry, to: number): Change {
  const svc = `${e.service.protocol === 'UDP' ? '-u' : '-t'} ${sh`${`${e.service.vip}:${e.service.port}`} -r ${e.dest}`}`;
  const cmd = `ipvsadm -e ${svc} ${FLAG[t.cluster.forwarding] ?? '-g'} -w ${Math.trunc(to)}`;
  return { summary: `weight ${e.weight} → ${to} for ${e.dest} on ${e.director}`, what: outline([[`on ${e.director}:`, cmd]]), apply: async () => e.access.run(cmd) };
}

/** Connections to `dest` through this service that carry traffic, in {@link CONNECTIONS_COMMAND}'s output. */
function activeOf(out: string, service: { vip: string; port: number; protocol: string }, dest: string): number {
  const { tcpTimeoutS, entries } = parseConnections(out);
  return entries.filter((e) => e.proto === service.protocol && e.virtual === `${service.vip}:${service.port}` && e.dest === dest && isActive(e, tcpTimeoutS)).length;
}

/** Parameters of {@link drainRealServer}. */
export interface DrainParams {
  topology: Topology;
  /** How long its connections may take to end, ms. @default 60000 */
  boundMs?: number;
}

/**
 * Take this real server out of service without failing a request: weight 0
 * on every director (no new connections; established ones go on), then
 * wait, bounded, until its active connections end (counted on the director
 * that holds the service's VIP, where its packets go). Refuses to drain the
 * last real server in service. Run on the real server (`-l RS1`); the
 * changes are made on the directors.
 *
 * @example
 * ```ts
 * import { drainRealServer } from './real-server-ops.ts';
 * declare const topology: import('../verify/checks.ts').Topology;
 * const drain = drainRealServer({ topology, boundMs: 30_000 });
 * ```
 */
export const drainRealServer = defineTask<DrainParams>({
  kind: 'drain',
  keys: ['topology', 'boundMs'],
  required: ['topology'],
  name: () => 'drain from every director',
  check: (p) => wholeNumber('boundMs', p.boundMs, 1, 2 ** 31, { unit: 'ms' }),
  plan: async (p, ctx) => {
    const t = p.topology;
    const es = (await entries(t, ctx.host.name, ctx)).filter((e) => e.running && e.ipvs);
    if (es.length === 0) return noop(`no director runs keepalived with IPVS: ${ctx.host.name} takes no traffic through the VIP`);
    const out: Change[] = [];
    for (const e of es) {
      if (e.weight === undefined) continue;
      if (e.weight > 0 && e.othersServing === 0) throw new TaskError(ctx.host.name, 'drain from every director', `${ctx.host.name} is the last real server in service on ${e.director}; draining it would stop the service`);
      if (e.weight > 0) out.push(weightChange(t, e, 0));
    }
    out.push({
      summary: `wait until ${ctx.host.name} has no active connection on ${es.map((e) => e.director).join(', ')}`,
      what: `read ipvsadm -Ln and -Lnc on every director every 0.5 s, up to ${(p.boundMs ?? 60_000) / 1000} s: until ${ctx.host.name} has no connection where the VIP is that carried a packet in the last ${ACTIVE_WITHIN_S} s`,
      apply: async () => {
        const left = await settle(async () => (await entries(t, ctx.host.name, ctx)).filter((e) => e.running && e.active > 0), (l) => l.length === 0, p.boundMs ?? 60_000, 500);
        return left.length === 0 ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr: `still active after ${(p.boundMs ?? 60_000) / 1000} s: ${left.map((e) => `${e.director} ${e.active}`).join(', ')}` };
      },
      judge: (r) => ({ failed: r.code !== 0, changed: false }),
      failMessage: (r) => `connections did not end: ${r.stderr}`,
    });
    const drained = es.every((e) => e.weight === undefined || e.weight === 0) && es.every((e) => e.active === 0);
    return drained ? noop(`${ctx.host.name} is drained on ${es.map((e) => e.director).join(', ')} (weight 0 or out of the table, no active connection)`) : changes(out);
  },
});

/** Parameters of {@link realServerInService}. */
export interface InServiceParams {
  topology: Topology;
  /** How long its health check may take to pass, ms. @default 60000 */
  boundMs?: number;
}

/**
 * Put this real server back in service: wait (bounded) until every running
 * director's health check lists it again, then restore its configured
 * weight where it is still 0 (keepalived restores it itself when the check
 * had removed it).
 *
 * @example
 * ```ts
 * import { realServerInService } from './real-server-ops.ts';
 * declare const topology: import('../verify/checks.ts').Topology;
 * const back = realServerInService({ topology });
 * ```
 */
export const realServerInService = defineTask<InServiceParams>({
  kind: 'undrain',
  keys: ['topology', 'boundMs'],
  required: ['topology'],
  name: () => 'in service on every director',
  check: (p) => wholeNumber('boundMs', p.boundMs, 1, 2 ** 31, { unit: 'ms' }),
  plan: async (p, ctx) => {
    const t = p.topology;
    const bound = ctx.pending.length > 0 ? 0 : p.boundMs ?? 60_000;
    const es = await settle(async () => (await entries(t, ctx.host.name, ctx)).filter((e) => e.running && e.ipvs), (l) => l.every((e) => e.weight !== undefined), bound, 500);
    const rows: CheckRow[] = es.map((e) => ({ check: 'listed by the health check', host: e.director, expected: `${e.dest} weight ${e.configured}`, seen: e.weight === undefined ? 'absent' : `weight ${e.weight}`, pass: e.weight === undefined ? 'no' : 'yes' }));
    const absent = es.filter((e) => e.weight === undefined);
    if (absent.length && ctx.pending.length > 0) return { changes: [], notes: [], table: table(rows), skip: 'check mode: the service this waits for was not started' };
    if (absent.length) throw new TaskError(ctx.host.name, 'in service on every director', `${ctx.host.name} is not back in ${absent.map((e) => e.director).join(', ')}'s IPVS table after ${bound / 1000} s (is its service up?)`, { table: table(rows) });
    const out: Change[] = es.filter((e) => e.weight === 0 && e.configured > 0).map((e) => weightChange(t, e, e.configured));
    return out.length ? { ...changes(out), table: table(rows) } : { ...noop(`${ctx.host.name} is in service on ${es.map((e) => e.director).join(', ') || 'no director with IPVS'}`), table: table(rows) };
  },
});

