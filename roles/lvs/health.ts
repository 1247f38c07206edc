import type { CheckRow } from '../verify/checks.ts';
import { parseIpvsadm } from '../verify/parse.ts';
import { parseKeepalived } from '../director/keepalived-parse.ts';
import { quote, sh } from '../../lib/core/shell.ts';
import { primaryService, type LvsCluster } from './cluster.ts';

/** What one director says about itself, in one command. */
export interface DirectorReading {
  name: string;
  /** `systemctl is-active keepalived`. */
  active: string;
  holdsVip: boolean;
  /** The handover offset in keepalived's track file (0: none). */
  handover: number;
  /** `ipvsadm -Ln` output, or undefined without IPVS in the kernel. */
  ipvs?: string;
  /** Real servers (ADDR:PORT) of the cluster's VIP:port in the director's config on disk. */
  configured: string[];
  /** Real servers (ADDR:PORT) that accept a TCP connection from this director. */
  up: string[];
}

const SECTION = '@@play-section ';

/**
 * One round trip per director: keepalived's state, the VIP, the handover
 * offset, the IPVS table, its keepalived.conf and which real servers answer
 * TCP from there (what keepalived's TCP_CHECK sees).
 */
export function readingCommand(c: LvsCluster, reals: readonly string[], handoverFile: string, conf: string): string {
  const part = (name: string) => `echo ${quote(`${SECTION}${name}`)}`;
  return [
    part('active'), 'systemctl is-active keepalived 2>/dev/null || true',
    part('addr'), sh`ip -o -4 addr show dev ${c.interface} 2>/dev/null || true`,
    part('handover'), sh`cat ${handoverFile} 2>/dev/null || true`,
    part('ipvs'), 'ipvsadm -Ln 2>/dev/null || echo "@@no-ipvs"',
    part('conf'), sh`cat ${conf} 2>/dev/null || true`,
    part('up'),
    ...reals.map((r) => {
      const [a, p] = r.split(':');
      return `if timeout 2 bash -c ${quote(`exec 3<>/dev/tcp/${a}/${p}`)} 2>/dev/null; then echo ${quote(r)}; fi`;
    }),
  ].join('\n');
}

/** Parse {@link readingCommand}'s output. */
export function parseReading(name: string, c: LvsCluster, out: string): DirectorReading {
  const parts = new Map<string, string>();
  let cur = '';
  for (const line of out.split('\n')) {
    if (line.startsWith(SECTION)) { cur = line.slice(SECTION.length); parts.set(cur, ''); continue; }
    if (cur) parts.set(cur, `${parts.get(cur)}${line}\n`);
  }
  const ipvs = parts.get('ipvs') ?? '';
  const conf = parseKeepalived(parts.get('conf') ?? '');
  const vs = conf.virtualServers.find((v) => v.address === c.vip && v.port === primaryService(c).port);
  return {
    name,
    active: (parts.get('active') ?? '').trim() || 'unknown',
    holdsVip: (parts.get('addr') ?? '').split('\n').some((l) => l.includes(` ${c.vip}/`)),
    handover: Number.parseInt((parts.get('handover') ?? '').trim() || '0', 10) || 0,
    ipvs: ipvs.includes('@@no-ipvs') ? undefined : ipvs,
    configured: (vs?.reals ?? []).map((r) => `${r.address}:${r.port}`),
    up: (parts.get('up') ?? '').split('\n').map((l) => l.trim()).filter(Boolean),
  };
}

/** The director that should hold the VIP: the highest priority after handover offsets, among running ones. */
export function expectedHolder(c: LvsCluster, readings: readonly DirectorReading[]): string | undefined {
  const running = readings.filter((r) => r.active === 'active');
  const effective = (r: DirectorReading) => Math.max(1, (c.directors[r.name]?.priority ?? 0) - r.handover);
  return running.sort((a, b) => effective(b) - effective(a))[0]?.name;
}

/**
 * Is the cluster serving as it should? Healthy when no director runs
 * keepalived yet (nothing serves, nothing to protect), or when exactly one
 * director holds the VIP — the running one with the highest priority
 * after handover offsets — and each running director's IPVS table lists
 * every real server its config names that answers TCP from it.
 */
export function judgeHealth(c: LvsCluster, readings: readonly DirectorReading[]): { healthy: boolean; rows: CheckRow[] } {
  const rows: CheckRow[] = [];
  const running = readings.filter((r) => r.active === 'active');
  const all = readings.map((r) => r.name).join(',');
  if (running.length === 0) {
    rows.push({ check: 'keepalived running', host: all, expected: 'some director, or none yet', seen: 'none yet: nothing serves', pass: 'yes' });
    return { healthy: true, rows };
  }
  const holders = readings.filter((r) => r.holdsVip).map((r) => r.name);
  const want = expectedHolder(c, readings)!;
  const vipOk = holders.length === 1 && holders[0] === want;
  rows.push({ check: `VIP ${c.vip} holder`, host: all, expected: `${want} only`, seen: holders.join(',') || 'none', pass: vipOk ? 'yes' : 'no' });
  let healthy = vipOk;
  for (const r of running) {
    if (r.ipvs === undefined) {
      rows.push({ check: 'IPVS lists healthy real servers', host: r.name, expected: 'every configured real server that answers', seen: 'skipped: no IPVS in this kernel', pass: 'skipped' });
      continue;
    }
    const svc = parseIpvsadm(r.ipvs).find((s) => s.address === c.vip && s.port === primaryService(c).port);
    const listed = new Set((svc?.reals ?? []).map((x) => `${x.address}:${x.port}`));
    const required = primaryService(c).protocol === 'UDP' ? r.configured : r.configured.filter((x) => r.up.includes(x));
    const missing = required.filter((x) => !listed.has(x));
    rows.push({ check: 'IPVS lists healthy real servers', host: r.name, expected: required.join(' ') || 'none answer', seen: [...listed].join(' ') || 'none', pass: missing.length ? 'no' : 'yes' });
    if (missing.length) healthy = false;
  }
  return { healthy, rows };
}
