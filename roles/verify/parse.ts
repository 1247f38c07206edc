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

/**
 * Does a sequence of answers look like the scheduler at work? rr: every
 * server answers, counts differ by at most one and no server answers twice
 * in a row. Other schedulers: every server answers at least once.
 */
export function judgeSpread(labels: readonly string[], expected: readonly string[], scheduler: string): { pass: boolean; seen: string } {
  const counts = new Map(expected.map((e) => [e, 0]));
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const seen = `${labels.map((l) => l || 'FAIL').join(' ')}`;
  const all = expected.every((e) => (counts.get(e) ?? 0) > 0) && labels.every((l) => expected.includes(l));
  if (!all) return { pass: false, seen };
  if (scheduler !== 'rr' || expected.length < 2) return { pass: true, seen };
  const n = expected.map((e) => counts.get(e)!);
  const alternating = labels.every((l, i) => i === 0 || l !== labels[i - 1]);
  return { pass: alternating && Math.max(...n) - Math.min(...n) <= 1, seen };
}
