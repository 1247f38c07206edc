import type { HostAccess } from '../../lib/core/task.ts';

/** The command that lists a director's IPVS timeouts and connection entries (numeric). */
export const CONNECTIONS_COMMAND = 'ipvsadm -L --timeout 2>/dev/null; ipvsadm -Lnc 2>/dev/null';

/**
 * A connection counts as active when its entry on the director holding the
 * VIP was refreshed by a packet within this many seconds: only those reach
 * a taker (the sync daemon copies a connection when it carries packets), and
 * an idle or dead one would hold every take-back for the whole bound.
 */
export const ACTIVE_WITHIN_S = 10;

/**
 * The connections in `CONNECTIONS_COMMAND`'s output to any of `vips`, as
 * "PROTO client:port vip:port" keys. With `active`, only what a director
 * holding the VIP carries: ESTABLISHED, and refreshed within
 * {@link ACTIVE_WITHIN_S} (the entry's expiry within that of IPVS's TCP
 * timeout; without the timeout line, every ESTABLISHED one).
 */
export function connectionKeys(out: string, vips: readonly string[], active = false): Set<string> {
  const keys = new Set<string>();
  const tcpTimeout = Number(/^Timeout \(tcp tcpfin udp\):\s+(\d+)/m.exec(out)?.[1] ?? NaN);
  for (const line of out.split('\n')) {
    const m = /^(TCP|UDP|SCTP)\s+(\d+):(\d\d)\s+(\S+)\s+(\S+)\s+(\S+):(\d+)\s/.exec(line.trim() + ' ');
    if (!m || !vips.includes(m[6]!)) continue;
    if (active) {
      if (m[4] !== 'ESTABLISHED') continue;
      const expiresS = Number(m[2]) * 60 + Number(m[3]);
      if (Number.isFinite(tcpTimeout) && expiresS < tcpTimeout - ACTIVE_WITHIN_S) continue;
    }
    keys.add(`${m[1]} ${m[5]} ${m[6]}:${m[7]}`);
  }
  return keys;
}

/**
 * How long a director taking the VIPs back waits for the connections to
 * reach it: the 2 s refresh, plus the sync daemon's flush of a part-filled
 * message (after 2 s, looked at every second), twice over.
 */
export const CATCH_UP_MS = 8_000;

/** How far a director taking the VIPs back had come with the connections the holders carry. */
export interface CatchUp {
  /** Active connections (see connectionKeys) the holders carried, at the last look. */
  carried: number;
  /** Of those, the ones the taker had no entry for. */
  missing: number;
  waitedMs: number;
  /** Reads of the taker's table: 1 when it had them all at once. */
  looks: number;
}

/**
 * Wait (bounded) until `taker` has an IPVS entry for every active
 * connection the directors holding `vips` carry: a director whose
 * keepalived restarted has an empty table and learns the connections only
 * from the holder's sync daemon (every 2 s per active connection, see
 * IPVS_SYSCTLS); taking the VIPs back before that stalls those connections,
 * as the taker's TCP stack answers their packets and its RST is dropped.
 * Connections that end meanwhile drop out of the count. A taker that never
 * restarted already has them all: one look each.
 */
export async function catchUp(taker: HostAccess, holders: readonly HostAccess[], vips: readonly string[], boundMs: number, everyMs = 250): Promise<CatchUp> {
  const start = Date.now();
  for (let looks = 1; ; looks++) {
    const [mine, ...theirs] = await Promise.all([taker, ...holders].map(async (r) => (await r.run(CONNECTIONS_COMMAND)).stdout));
    const known = connectionKeys(mine!, vips);
    const carried = new Set(theirs.flatMap((out) => [...connectionKeys(out, vips, true)]));
    const missing = [...carried].filter((k) => !known.has(k)).length;
    const waitedMs = Date.now() - start;
    if (missing === 0 || waitedMs >= boundMs) return { carried: carried.size, missing, waitedMs, looks };
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A note for the run's output: what the taker knew when it took the VIPs. */
export function catchUpNote(who: string, c: CatchUp): string {
  if (c.carried === 0) return `${who}: no active connection to take over`;
  if (c.missing === 0) return `${who} had all ${c.carried} active connection(s) of the holder${c.looks > 1 ? ` after ${c.waitedMs} ms` : ''}`;
  return `${who}: ${c.missing} of ${c.carried} active connection(s) still not synced after ${c.waitedMs} ms; taking the VIPs back anyway (those may stall)`;
}
