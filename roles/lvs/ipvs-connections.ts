/**
 * A director's IPVS connection entries, as `ipvsadm -Lnc` lists them, and
 * which of them are active: the one rule the take-back's catch-up and the
 * drain both count by.
 */

/** The command that lists a director's IPVS timeouts and connection entries (numeric). */
export const CONNECTIONS_COMMAND = 'ipvsadm -L --timeout 2>/dev/null; ipvsadm -Lnc 2>/dev/null';

/**
 * A connection counts as active when its entry on the director holding the
 * VIP was refreshed by a packet within this many seconds. An entry that
 * was not is idle or dead: the sync daemon copies a connection only when it
 * carries packets, and a director the VIP came back to keeps the copies of
 * connections that ended elsewhere as ESTABLISHED for IPVS's TCP timeout
 * (15 min) — counted, they held a drain for its whole bound.
 */
export const ACTIVE_WITHIN_S = 10;

/** One entry of `ipvsadm -Lnc`. */
export interface IpvsConnection {
  proto: string;
  /** Seconds until the entry expires. */
  expiresS: number;
  state: string;
  client: string;
  /** VIP:PORT. */
  virtual: string;
  /** Real server ADDR:PORT. */
  dest: string;
}

/** The entries in {@link CONNECTIONS_COMMAND}'s output, and IPVS's TCP timeout when the output has it. */
export function parseConnections(out: string): { tcpTimeoutS?: number; entries: IpvsConnection[] } {
  const t = /^Timeout \(tcp tcpfin udp\):\s+(\d+)/m.exec(out)?.[1];
  const entries: IpvsConnection[] = [];
  for (const line of out.split('\n')) {
    const m = /^(TCP|UDP|SCTP)\s+(\d+):(\d\d)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(line.trim());
    if (m) entries.push({ proto: m[1]!, expiresS: Number(m[2]) * 60 + Number(m[3]), state: m[4]!, client: m[5]!, virtual: m[6]!, dest: m[7]! });
  }
  return { ...(t ? { tcpTimeoutS: Number(t) } : {}), entries };
}

/**
 * Is this entry, on the director holding its VIP, a connection carrying
 * traffic? ESTABLISHED, and refreshed within {@link ACTIVE_WITHIN_S} of
 * IPVS's TCP timeout (without the timeout, every ESTABLISHED one).
 */
export function isActive(e: IpvsConnection, tcpTimeoutS?: number): boolean {
  if (e.state !== 'ESTABLISHED') return false;
  return tcpTimeoutS === undefined || e.expiresS >= tcpTimeoutS - ACTIVE_WITHIN_S;
}

/** The address part of ADDR:PORT. */
export const addressOf = (addrPort: string): string => addrPort.slice(0, addrPort.lastIndexOf(':'));
