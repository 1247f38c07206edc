import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { labDown, labUp, readLabProfile, type LabProfile, type LabRelease } from '../../lib/lab/index.ts';
import { labHostsFromInventory } from '../../lib/cli/lab-hosts.ts';
import { connectSsh } from '../../lib/transport/ssh.ts';
import seed from '../../inventory/inventory.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import { probeHttp, type ProbeReport } from '../../lib/probe/http-probe.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Refuse to talk to a lab address that does not route to the lab bridge:
 * otherwise 192.168.56.x traffic would leave this machine.
 */
export async function assertRoutedToLab(p: LabProfile, addresses: readonly string[] = p.hosts.map((h) => h.address)): Promise<void> {
  for (const a of addresses) {
    const { stdout } = await run('ip', ['route', 'get', a]);
    if (!new RegExp(`\\bdev ${p.bridge}\\b`).test(stdout)) throw new Error(`refusing to contact ${a}: it routes via "${stdout.trim()}", not the lab bridge ${p.bridge}`);
  }
}

/** `release` defaults to labUp's (bookworm). */
type LabWanted = { ipvs?: boolean; inventory?: Inventory<unknown>; release?: LabRelease };
const labKey = (o: LabWanted) => JSON.stringify({ hosts: labHostsFromInventory(o.inventory ?? seed), ipvs: !!o.ipvs, release: o.release ?? 'bookworm' });
/** The lab this spec run built last, and what for: {@link sharedLab} may keep it. */
let built: { key: string; profile: LabProfile } | undefined;

/** A fresh lab of the seed's hosts, or another inventory's (any old one is removed first). */
export async function freshLab(o: LabWanted = {}): Promise<LabProfile> {
  await labDown();
  const p = await labUp({ hosts: labHostsFromInventory(o.inventory ?? seed), ipvs: o.ipvs, release: o.release, owner: 'spec', log: (l) => process.env.PLAY_SPEC_VERBOSE && console.log(`    lab: ${l}`) });
  await assertRoutedToLab(p, [...p.hosts.map((h) => h.address), seed.vars.cluster.vip]);
  built = { key: labKey(o), profile: p };
  return p;
}

/**
 * The lab {@link freshLab} would build, kept from the spec file before when
 * that file built the very same hosts in this run and left it up for the
 * next (its `after` says so). An `--ipvs` lab costs minutes under software
 * emulation (its VMs' first apt install alone ~3 min), so the e2e specs on
 * it share one; each starts by converging the cluster it needs.
 */
export async function sharedLab(o: LabWanted = {}): Promise<LabProfile> {
  const current = readLabProfile();
  if (built && current && built.key === labKey(o) && JSON.stringify(current.hosts) === JSON.stringify(built.profile.hosts)) {
    await assertRoutedToLab(current, [...current.hosts.map((h) => h.address), seed.vars.cluster.vip]);
    return current;
  }
  return freshLab(o);
}

export { labDown };

/** play's own SSH transport to a lab host. */
export async function connectLab(name: string, p: LabProfile = readLabProfile()!): Promise<Transport> {
  const h = p.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no lab host ${name}`);
  return connectSsh({ host: name, address: h.address, identityFile: p.identityFile, knownHostsFile: p.knownHostsFile });
}

/**
 * A host's connection in `conns` is gone with its reboot: a new one,
 * checked against the same host key. The old one is closed, or left after
 * 2 s (a close can wait on a connection whose far end vanished).
 */
export async function reconnectLab(conns: Map<string, Transport>, name: string, p: LabProfile = readLabProfile()!): Promise<Transport> {
  const old = conns.get(name);
  if (old) await Promise.race([old.close().catch(() => undefined), new Promise((res) => setTimeout(res, 2000))]);
  const t = await connectLab(name, p);
  conns.set(name, t);
  return t;
}

/**
 * Run the real CLI (`bin/play.js`) as a child process. `lines` has each
 * stdout line with the epoch ms it arrived at: with `--json`, when each
 * task ended, to line up with a probe's failures.
 */
export function playCli(args: readonly string[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string; lines: Array<{ atMs: number; line: string }> }> {
  return new Promise((resolve, reject) => {
    // A lab the CLI brings up for a spec is the suite's (see labBeforeSuite).
    const child = spawn(process.execPath, [`${repo}bin/play.js`, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: '1', PLAY_LAB_OWNER: 'spec', ...o.env } });
    let stdout = '', stderr = '', partial = '';
    const lines: Array<{ atMs: number; line: string }> = [];
    child.stdout.on('data', (d) => {
      stdout += d;
      const parts = (partial + String(d)).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ atMs: Date.now(), line });
    });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`play ${args.join(' ')} timed out\n${stdout}\n${stderr}`)); }, o.timeoutMs ?? 300_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr, lines }); });
  });
}

/**
 * The `--json` task events that ran within `aroundMs` of each failed
 * request (`atMs` counted from `startMs`), as "+12.3–15.0 s LB1 task
 * (status)": what the run was doing when the probe saw a failure.
 */
export function tasksAround(lines: ReadonlyArray<{ atMs: number; line: string }>, startMs: number, failures: ReadonlyArray<{ atMs: number }>, aroundMs = 5000): string[] {
  const out: string[] = [];
  for (const { atMs, line } of lines) {
    let e: Record<string, any>;
    try { e = JSON.parse(line) as Record<string, any>; } catch { continue; }
    if (e.event !== 'task') continue;
    const end = atMs - startMs, begin = end - (typeof e.durationMs === 'number' ? e.durationMs : 0);
    if (failures.some((f) => f.atMs >= begin - aroundMs && f.atMs <= end + aroundMs)) {
      const said = String(e.stdout ?? '').trim().split('\n').filter(Boolean).slice(-8);
      out.push(`+${(begin / 1000).toFixed(1)}–${(end / 1000).toFixed(1)} s ${e.host} ${e.task} (${e.status})${said.map((l) => `\n          ${l}`).join('')}`);
    }
  }
  return out;
}

/** The `--json` recap line of a run. */
export function recapOf(stdout: string): Record<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: number }> {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(last) as { recap: ReturnType<typeof recapOf> }).recap;
}

/** JSON task events of a run. */
export function eventsOf(stdout: string): Array<Record<string, any>> {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e.event === 'task');
}

/** verify's rows of an `--ipvs` run: the IPVS table lists the real servers and requests to the VIP went round robin. Returns what verify saw. */
export function assertIpvsVerified(stdout: string): string {
  const rows: string[][] = eventsOf(stdout).find((e) => e.kind === 'verify')!.table.rows;
  const ipvsRow = rows.find((x) => x[0] === 'IPVS service lists real servers')!;
  const rrRow = rows.find((x) => x[0]!.startsWith('10 requests to VIP'))!;
  assert.is(ipvsRow[4], 'yes', JSON.stringify(rows));
  assert.is(rrRow[4], 'yes', JSON.stringify(rows));
  return rrRow[3]!;
}

/** The `--json` run's play starts, as "play: note" (the note says side by side, rolling or all at once, and why). */
export function playStartsOf(stdout: string): string[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e.event === 'play_start').map((e) => `${e.play}: ${e.note ?? ''}`);
}

/**
 * A first deployment (nothing served): the real servers and the directors
 * ran side by side, all at once; a run on the serving cluster rolled them.
 */
export function assertDeployedAtOnce(stdout: string, first: boolean): void {
  const starts = playStartsOf(stdout).filter((s) => s.startsWith('real servers:') || s.startsWith('directors:'));
  if (first) {
    assert.equal(starts.map((s) => /side by side/.test(s) && /all at once: nothing serves yet/.test(s)), [true, true], starts.join('\n'));
  } else {
    assert.ok(starts.length >= 2 && starts.filter((s) => /rolling: the cluster serves/.test(s)).length === 2, starts.join('\n'));
  }
}

/**
 * On a first converge (or its --check): each host's `restart UNIT` handler
 * ran, and was ok with the note that the unit's first start came after the
 * change that notified it (#17), with no restart.
 */
export function noRestartAfterFirstStart(stdout: string, hosts: readonly string[], unit: string): void {
  for (const h of hosts) {
    const e = eventsOf(stdout).find((x) => x.host === h && x.handler && x.task === `restart ${unit}`);
    assert.is(e?.status, 'ok', `${h}: restart ${unit}: ${JSON.stringify(e)}`);
    assert.equal(e!.notes, [`${unit} started after the change that notified this handler: no restart needed`], h);
  }
}

/**
 * A digest of what a run could change on a host: every file under /etc,
 * /var/www and /usr/local (path, content, mode, owner), and the running
 * services. Equal digests = byte-identical for our purposes.
 */
export async function snapshot(t: Transport): Promise<string> {
  const r = await t.run([
    `find /etc /var/www /usr/local -xdev \\( -type f -o -type l -o -type d \\) -printf '%p %m %u:%g %l\\n' 2>/dev/null | sort`,
    `find /etc /var/www /usr/local -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum 2>/dev/null`,
    `systemctl list-units --type=service --state=running --no-legend --plain 2>/dev/null | awk '{print $1}' | sort`,
  ].join('; '));
  return r.stdout;
}

/**
 * Run `fn` under the HTTP probe against the lab's VIP (a GET every 50 ms,
 * 2 s client timeout, never longer than 15 min), after checking the VIP
 * routes to the lab bridge.
 */
export async function underProbe<T>(vip: string, fn: () => Promise<T>): Promise<{ result: T; probe: ProbeReport }> {
  await assertRoutedToLab(readLabProfile()!, [vip]);
  const stop = new AbortController();
  const report = probeHttp({ url: `http://${vip}/`, everyMs: 50, timeoutMs: 2000, maxMs: 900_000, signal: stop.signal });
  try {
    return { result: await fn(), probe: await (stop.abort(), report) };
  } finally {
    stop.abort();
    await report;
  }
}
