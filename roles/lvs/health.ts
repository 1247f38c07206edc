import type { CheckRow } from '../verify/checks.ts';
import { parseIpvsadm } from '../verify/parse.ts';
import { parseKeepalived } from '../director/keepalived-parse.ts';
import { quote, sh } from '../../lib/core/shell.ts';
import { servicesOf, vipsOf, type LvsCluster, type ResolvedCheck } from './cluster.ts';

/** One real server of one virtual service, probed from a director the way its keepalived check probes it. */
export interface HealthTarget {
  /** The virtual service, `VIP:PORT/PROTO`, e.g. `192.168.56.200:80/TCP`. */
  service: string;
  /** The real server, `ADDR:PORT`. */
  real: string;
  check: ResolvedCheck;
}

/** What one director says about itself, in one command. */
export interface DirectorReading {
  name: string;
  /** `systemctl is-active keepalived`. */
  active: string;
  /** The VIPs this director's config on disk names (what it runs, once its own change is done). */
  vips: string[];
  /** Those VIPs, and the cluster's, that this director holds on the cluster interface. */
  holds: string[];
  /** The handover offset in keepalived's track file (0: none). */
  handover: number;
  /** Its priority, per VIP, in the config's instance carrying that VIP (active/active: one per instance). */
  priorities: Record<string, number>;
  /** `ipvsadm -Ln` output, or undefined without IPVS in the kernel. */
  ipvs?: string;
  /** Real servers (ADDR:PORT) of each virtual service (`VIP:PORT/PROTO`) in the director's config on disk. */
  configured: Record<string, string[]>;
  /** Targets their check finds up from this director, as `SERVICE REAL`. */
  up: string[];
}

const SECTION = '@@play-section ';
const serviceKey = (vip: string, port: number, proto: string) => `${vip}:${port}/${proto.toUpperCase()}`;

/**
 * Every real server of every virtual service, with the check that judges
 * it: what the health gate expects each director's IPVS table to list
 * while the check passes.
 *
 * @example
 * ```ts
 * import { healthTargets } from './health.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const address = (name: string) => inventory.hosts.find((h) => h.name === name)!.address;
 * const targets = healthTargets(inventory.vars.cluster, address); // 192.168.56.200:80/TCP → RS1, RS2
 * ```
 */
export function healthTargets(c: LvsCluster, addressOf: (host: string) => string): HealthTarget[] {
  return servicesOf(c).flatMap((s) => s.realServers.map((r) => ({ service: serviceKey(s.vip, s.port, s.protocol), real: `${addressOf(r.name)}:${s.port}`, check: s.check })));
}

/**
 * The shell that gathers what a check needs to judge one target. The
 * verdict is {@link targetUp}'s, on the controller: the host only reports.
 */
function probeCommand(t: HealthTarget): string {
  const [address = '', servicePort = ''] = t.real.split(':');
  const k = t.check;
  if (k.kind === 'MISC_CHECK') {
    // keepalived splits misc_path into words itself and runs it as the declared user.
    return `timeout ${k.timeout} runuser -u ${quote(k.user)} -- ${k.script.split(' ').map(quote).join(' ')} >/dev/null 2>&1; echo "exit $?"`;
  }
  const port = String(k.port ?? servicePort);
  const open = `if timeout 2 bash -c ${quote(`exec 3<>/dev/tcp/${address}/${port}`)} 2>/dev/null; then echo open; fi`;
  if (k.kind === 'TCP_CHECK') return open;
  const request = sh`printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' ${k.path} ${address}`;
  // The status line, then the MD5 of the body (what keepalived's digest is of).
  const judge = `head -c 1048576 | { IFS= read -r s; printf 'status %s\\n' "$s" | tr -d '\\r'; sed '1,/^\\r\\?$/d' | md5sum; }`;
  if (k.kind === 'HTTP_GET') return `{ ${request} | timeout 3 bash -c ${quote(`exec 3<>/dev/tcp/${address}/${port}; cat >&3; cat <&3`)} 2>/dev/null; } | ${judge}`;
  // SSL_GET: openssl where the director has it, else only whether the port accepts.
  return `if command -v openssl >/dev/null; then { ${request}; sleep 1; } | timeout 3 openssl s_client -quiet -connect ${quote(`${address}:${port}`)} 2>/dev/null | ${judge}; else ${open}; fi`;
}

/** Does a target's gathered output mean its check passes? */
export function targetUp(check: ResolvedCheck, out: string): boolean {
  const lines = out.split('\n').map((l) => l.trim());
  if (check.kind === 'TCP_CHECK') return lines.includes('open');
  if (check.kind === 'MISC_CHECK') return lines.includes('exit 0');
  if (check.kind === 'SSL_GET' && lines.includes('open')) return true;
  const status = /^status HTTP\/\d(?:\.\d)? (\d{3})\b/.exec(lines[0] ?? '')?.[1];
  if (Number(status) !== check.status) return false;
  return !check.digest || (lines[1] ?? '').split(/\s+/)[0] === check.digest;
}

/**
 * One round trip per director: keepalived's state, the VIPs, the handover
 * offset, the IPVS table, its keepalived.conf, and for every target what
 * its check sees from there (the probes run side by side).
 */
export function readingCommand(c: LvsCluster, targets: readonly HealthTarget[], handoverFile: string, conf: string): string {
  const part = (name: string) => `echo ${quote(`${SECTION}${name}`)}`;
  return [
    part('active'), 'systemctl is-active keepalived 2>/dev/null || true',
    part('addr'), sh`ip -o -4 addr show dev ${c.interface} 2>/dev/null || true`,
    part('handover'), sh`cat ${handoverFile} 2>/dev/null || true`,
    part('ipvs'), 'ipvsadm -Ln 2>/dev/null || echo "@@no-ipvs"',
    part('conf'), sh`cat ${conf} 2>/dev/null || true`,
    // Side by side: a real server that is down costs one timeout, not one per target.
    ...(targets.length ? [
      'd=$(mktemp -d)',
      ...targets.map((t, i) => `{ ${probeCommand(t)}; } > "$d/${i}" 2>/dev/null &`),
      'wait',
      ...targets.flatMap((_, i) => [part(`up ${i}`), `cat "$d/${i}"`]),
      'rm -rf "$d"',
    ] : []),
  ].join('\n');
}

/** Parse {@link readingCommand}'s output. */
export function parseReading(name: string, c: LvsCluster, targets: readonly HealthTarget[], out: string): DirectorReading {
  const parts = new Map<string, string>();
  let cur = '';
  for (const line of out.split('\n')) {
    if (line.startsWith(SECTION)) { cur = line.slice(SECTION.length); parts.set(cur, ''); continue; }
    if (cur) parts.set(cur, `${parts.get(cur)}${line}\n`);
  }
  const ipvs = parts.get('ipvs') ?? '';
  const addr = (parts.get('addr') ?? '').split('\n');
  const conf = parseKeepalived(parts.get('conf') ?? '');
  return {
    name,
    active: (parts.get('active') ?? '').trim() || 'unknown',
    vips: [...new Set(conf.instances.flatMap((i) => i.shared.vips))],
    holds: [...new Set([...vipsOf(c), ...conf.instances.flatMap((i) => i.shared.vips)])].filter((v) => addr.some((l) => l.includes(` ${v}/`))),
    handover: Number.parseInt((parts.get('handover') ?? '').trim() || '0', 10) || 0,
    priorities: Object.fromEntries(conf.instances.flatMap((i) => (i.priority === undefined ? [] : i.shared.vips.map((v) => [v, i.priority!])))),
    ipvs: ipvs.includes('@@no-ipvs') ? undefined : ipvs,
    configured: Object.fromEntries(conf.virtualServers.map((v) => [serviceKey(v.address, v.port, v.protocol), v.reals.map((r) => `${r.address}:${r.port}`)])),
    up: targets.flatMap((t, i) => (targetUp(t.check, parts.get(`up ${i}`) ?? '') ? [`${t.service} ${t.real}`] : [])),
  };
}

/**
 * The director that should hold `vip`: among running ones, the highest
 * priority after handover offsets in the instance carrying it — each
 * director's priority as its own config on disk says (mid-rollout the
 * directors may run different sets of instances), else the cluster's.
 */
export function expectedHolder(c: LvsCluster, readings: readonly DirectorReading[], vip: string = c.vip): string | undefined {
  const running = readings.filter((r) => r.active === 'active');
  const effective = (r: DirectorReading) => Math.max(1, (r.priorities[vip] ?? c.directors[r.name]?.priority ?? 0) - r.handover);
  return running.sort((a, b) => effective(b) - effective(a))[0]?.name;
}

/**
 * Is the cluster serving as it should? Healthy when no director runs
 * keepalived yet (nothing serves, nothing to protect), or when each VIP the
 * running directors' configs name is on exactly one director — the running
 * one with the highest priority after handover offsets in that VIP's
 * instance ({@link expectedHolder}) — and each running director's IPVS table lists,
 * for every virtual service its config names, each real server whose check
 * passes from that director.
 */
export function judgeHealth(c: LvsCluster, readings: readonly DirectorReading[]): { healthy: boolean; rows: CheckRow[] } {
  const rows: CheckRow[] = [];
  const running = readings.filter((r) => r.active === 'active');
  const all = readings.map((r) => r.name).join(',');
  if (running.length === 0) {
    rows.push({ check: 'keepalived running', host: all, expected: 'some director, or none yet', seen: 'none yet: nothing serves', pass: 'yes' });
    return { healthy: true, rows };
  }
  let healthy = true;
  // Mid-rollout the directors may run the config before the change: the VIPs judged are those their configs name.
  const named = [...new Set(running.flatMap((r) => r.vips))];
  for (const vip of named.length ? named : vipsOf(c)) {
    const holders = readings.filter((r) => r.holds.includes(vip)).map((r) => r.name);
    const want = expectedHolder(c, readings, vip)!;
    const ok = holders.length === 1 && holders[0] === want;
    rows.push({ check: `VIP ${vip} holder`, host: all, expected: `${want} only`, seen: holders.join(',') || 'none', pass: ok ? 'yes' : 'no' });
    healthy &&= ok;
  }
  for (const r of running) {
    const services = Object.entries(r.configured);
    const label = (key: string) => (services.length > 1 ? `IPVS lists healthy real servers of ${key}` : 'IPVS lists healthy real servers');
    if (r.ipvs === undefined) {
      rows.push({ check: label(services[0]?.[0] ?? ''), host: r.name, expected: 'every configured real server that answers', seen: 'skipped: no IPVS in this kernel', pass: 'skipped' });
      continue;
    }
    const table = parseIpvsadm(r.ipvs);
    const up = new Set(r.up);
    for (const [key, configured] of services) {
      const svc = table.find((s) => serviceKey(s.address, s.port, s.proto) === key);
      const listed = new Set((svc?.reals ?? []).map((x) => `${x.address}:${x.port}`));
      const required = configured.filter((x) => up.has(`${key} ${x}`));
      const missing = required.filter((x) => !listed.has(x));
      rows.push({ check: label(key), host: r.name, expected: required.join(' ') || 'none answer', seen: [...listed].join(' ') || 'none', pass: missing.length ? 'no' : 'yes' });
      if (missing.length) healthy = false;
    }
  }
  return { healthy, rows };
}
