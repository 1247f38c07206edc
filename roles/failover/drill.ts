import { randomBytes } from 'node:crypto';
import type { ApplyIO, ResultTable } from '../../lib/core/change.ts';
import type { RunResult } from '../../lib/core/transport.ts';
import { handoverVrrp } from '../director/index.ts';
import { handoverCommand, HANDOVER_OFFSET } from '../director/keepalived-commands.ts';
import { handoverStep } from '../director/vip-handover.ts';
import { holdsVip, readIpvs, settle, table, type CheckRow, type Topology } from '../verify/checks.ts';

/** One failover to drill: the MASTER whose keepalived stops, the director that should take its VIP, and where to send requests. */
export interface DrillMove {
  master: string;
  backup: string;
  /** The VIP watched (the first of the instance's), and the TCP port asked on it. */
  vip: string;
  port: number;
  /** Row label prefix when the drill covers several instances, e.g. 'VI_2: '. */
  label: string;
}

export interface DrillOptions {
  /** Longest acceptable failover and failback, ms. */
  limitMs: number;
  /** Poll period while waiting for the VIP to move, ms. */
  pollMs: number;
}

/** Wait until `probe` is true; the elapsed ms, or undefined at the deadline. */
async function timeUntil(probe: () => Promise<boolean>, since: number, deadlineMs: number, everyMs: number): Promise<number | undefined> {
  const ok = await settle(probe, (v) => v, deadlineMs, everyMs);
  return ok ? Date.now() - since : undefined;
}

/** A shell loop on the controller: GET the VIP until the stop file appears; prints "ok failed". */
const httpLoop = (vip: string, port: number, stopFile: string) =>
  `ok=0; bad=0; while [ ! -e ${stopFile} ]; do if curl -s -o /dev/null -m 1 http://${vip}:${port}/; then ok=$((ok+1)); else bad=$((bad+1)); fi; sleep 0.05; done; rm -f ${stopFile}; echo "$ok $bad"`;

/**
 * Stop keepalived on a MASTER, time until the BACKUP holds its VIP, start
 * it again, time until the MASTER has it back (a planned handback, once the
 * connections are synced to it) — with HTTP requests to the VIP meanwhile
 * where IPVS exists. keepalived on the MASTER is started again, at its own
 * priority, whatever happens.
 */
export async function runDrill(t: Topology, move: DrillMove, io: Pick<ApplyIO, 'host' | 'self'>, o: DrillOptions): Promise<RunResult & { table: ResultTable }> {
  const c = { ...t.cluster, vip: move.vip };
  const { master, backup, label } = move;
  const m = await io.host(master);
  const b = await io.host(backup);
  const rows: CheckRow[] = [];
  const fail = (why: string) => ({ code: 1, stdout: '', stderr: why, table: table(rows) });

  const ready = await settle(() => holdsVip(m, c), (v) => v, o.limitMs, 200);
  rows.push({ check: `${label}before: VIP on MASTER`, host: master, expected: `holds ${c.vip}`, seen: ready ? `holds ${c.vip}` : 'does not', pass: ready ? 'yes' : 'no' });
  if (!ready) return fail(`${master} does not hold ${c.vip}; not starting the drill`);

  const ipvs = (await readIpvs(m)).ok;
  const stopFile = `/tmp/play-drill-${randomBytes(6).toString('hex')}.stop`;
  const http = ipvs ? io.self.run(httpLoop(c.vip, move.port, stopFile)) : undefined;
  let masterDown = false;
  let lowered = false;
  const notes: string[] = [];
  try {
    const t0 = Date.now();
    const stop = await m.run('systemctl stop keepalived');
    if (stop.code !== 0) return fail(`could not stop keepalived on ${master}: ${stop.stderr.trim()}`);
    masterDown = true;
    const over = await timeUntil(() => holdsVip(b, c), t0, o.limitMs, o.pollMs);
    rows.push({ check: `${label}failover: VIP to BACKUP`, host: backup, expected: `≤ ${o.limitMs} ms`, seen: over === undefined ? 'never' : `${over} ms`, pass: over === undefined ? 'no' : 'yes' });

    // The failback is planned: the MASTER starts below the BACKUP (its
    // handover offset), so it does not preempt with an empty IPVS table
    // (keepalived's stop removed its services and their connections); it
    // takes the VIP back once the sync daemon has brought it the BACKUP's
    // connections, as play handback does (see handoverStep).
    const t1 = Date.now();
    lowered = true;
    const low = await m.run(handoverCommand(HANDOVER_OFFSET));
    if (low.code !== 0) return fail(`could not set the handover offset on ${master}: ${low.stderr.trim()}`);
    const start = await m.run('systemctl start keepalived');
    if (start.code !== 0) return fail(`could not start keepalived on ${master}: ${start.stderr.trim()}`);
    masterDown = false;
    const handback = await handoverStep({ ...handoverVrrp(t.cluster, master), offset: 0, boundMs: o.limitMs }, master, 'failback').apply(io);
    if (handback.code === 0) lowered = false;
    const back = handback.code === 0 ? Date.now() - t1 : undefined;
    rows.push({ check: `${label}failback: VIP to MASTER`, host: master, expected: `≤ ${o.limitMs} ms`, seen: back === undefined ? `never (${handback.stderr.trim()})` : `${back} ms`, pass: back === undefined ? 'no' : 'yes' });
    notes.push(...handback.stdout.split('\n').filter(Boolean));
  } finally {
    if (masterDown) await m.run('systemctl start keepalived').catch(() => undefined);
    // Whatever failed, the MASTER is not left below its peers.
    if (lowered) await m.run(handoverCommand(0)).catch(() => undefined);
    if (http) {
      await io.self.run(`touch ${stopFile}`);
      const [ok = 0, bad = 0] = (await http).stdout.trim().split(/\s+/).map(Number);
      const share = ok + bad === 0 ? 0 : (100 * ok) / (ok + bad);
      rows.push({ check: `${label}HTTP to ${c.vip}:${move.port} during drill`, host: 'controller', expected: 'served', seen: `${ok}/${ok + bad} ok (${share.toFixed(1)} %)`, pass: ok > 0 ? 'yes' : 'no' });
    }
  }
  if (!ipvs) rows.push({ check: `${label}HTTP to ${c.vip}:${move.port} during drill`, host: 'controller', expected: 'served', seen: 'skipped: no IPVS in the directors\' kernel', pass: 'skipped' });
  const failed = rows.filter((r) => r.pass === 'no');
  return { code: failed.length ? 1 : 0, stdout: [...rows.map((r) => `${r.check}: ${r.seen}`), ...notes].join('\n'), stderr: failed.map((r) => `${r.check}: expected ${r.expected}, saw ${r.seen}`).join('\n'), table: table(rows) };
}
