/** One IPVS virtual service as `ipvsadm -Ln` lists it. */
export interface IpvsService {
  proto: string;
  address: string;
  port: number;
  scheduler: string;
  persistent: boolean;
  reals: Array<{ address: string; port: number; forward: string; weight: number }>;
}

/**
 * Parse `ipvsadm -Ln`:
 * ```
 * TCP  192.168.56.200:80 rr
 *   -> 192.168.56.103:80            Route   1      0          0
 * ```
 */
export function parseIpvsadm(out: string): IpvsService[] {
  const services: IpvsService[] = [];
  for (const line of out.split('\n')) {
    const svc = /^(TCP|UDP|FWM)\s+(\S+):(\d+)\s+(\S+)(.*)$/.exec(line.trim());
    if (svc) {
      services.push({ proto: svc[1]!, address: svc[2]!, port: Number(svc[3]), scheduler: svc[4]!, persistent: /persistent/.test(svc[5] ?? ''), reals: [] });
      continue;
    }
    const real = /^->\s+(\S+):(\d+)\s+(\S+)\s+(\d+)/.exec(line.trim());
    if (real && real[1] !== 'RemoteAddress' && services.length) {
      services[services.length - 1]!.reals.push({ address: real[1]!, port: Number(real[2]), forward: real[3]!, weight: Number(real[4]) });
    }
  }
  return services;
}

/** The `<h1>` label of each response, in order ('' for a failed request). */
export function parseLabels(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('#')).map((l) => /<h1>([^<]*)<\/h1>/.exec(l)?.[1] ?? '');
}

/** New connections per real server (ADDR:PORT) of one service between two `ipvsadm -Ln --stats --exact` readings. */
export function connDeltas(before: string, after: string, vip: string, port: number): Map<string, number> {
  const conns = (out: string) => {
    const m = new Map<string, number>();
    let inService = false;
    for (const line of out.split('\n')) {
      const svc = /^(TCP|UDP|FWM)\s+(\S+):(\d+)/.exec(line.trim());
      if (svc) { inService = svc[2] === vip && Number(svc[3]) === port; continue; }
      const real = /^->\s+(\S+:\d+)\s+(\d+)/.exec(line.trim());
      if (real && inService) m.set(real[1]!, Number(real[2]));
    }
    return m;
  };
  const a = conns(before), b = conns(after);
  return new Map([...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)]));
}

/**
 * How far apart rr's per-real-server counts may be and still be rr: one for
 * the rotation, plus the connections other clients open while the kernel sums
 * each real server's per-CPU counters, one server after another, at each of
 * the two readings (at least one each; 5 % of the mean under heavier traffic).
 * Seen on the lab under a 20 requests/s probe: +30, +31, +29.
 */
export function rrSlack(mean: number): number {
  return 1 + 2 * Math.max(1, Math.ceil(mean * 0.05));
}

/**
 * Does the director's own count of new connections look like the scheduler
 * at work, whoever else sends requests meanwhile? Every real server with a
 * weight got some, none with weight 0 got any; rr also spreads them evenly
 * (within {@link rrSlack}: IPVS rotates over all clients' connections).
 */
export function judgeDeltas(deltas: ReadonlyMap<string, number>, weights: ReadonlyMap<string, number>, scheduler: string): boolean {
  const live = [...weights].filter(([, w]) => w > 0).map(([k]) => k);
  if (live.length === 0) return false;
  if (!live.every((k) => (deltas.get(k) ?? 0) > 0)) return false;
  if ([...weights].some(([k, w]) => w === 0 && (deltas.get(k) ?? 0) > 0)) return false;
  if (scheduler !== 'rr') return true;
  const n = live.map((k) => deltas.get(k) ?? 0);
  const mean = n.reduce((a, b) => a + b, 0) / n.length;
  return Math.max(...n) - Math.min(...n) <= rrSlack(mean);
}
