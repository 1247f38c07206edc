import type { HostAccess } from '../../lib/core/task.ts';
import { addressOf, CONNECTIONS_COMMAND, isActive, parseConnections } from '../lvs/ipvs-connections.ts';

/**
 * The connections in `CONNECTIONS_COMMAND`'s output to any of `vips`, as
 * "PROTO client:port vip:port" keys; with `active`, only what a director
 * holding the VIP carries ({@link isActive}).
 */
export function connectionKeys(out: string, vips: readonly string[], active = false): Set<string> {
  const { tcpTimeoutS, entries } = parseConnections(out);
  return new Set(entries.filter((e) => vips.includes(addressOf(e.virtual)) && (!active || isActive(e, tcpTimeoutS))).map((e) => `${e.proto} ${e.client} ${e.virtual}`));
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
