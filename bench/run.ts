/**
 * `npm run bench`: play against Ansible on the lab (issue 7). Holds the lab
 * lock for the whole run and leaves no lab behind.
 *
 * 1. First run on fresh hosts, interleaved (play, Ansible, play, …), a fresh
 *    lab for each run; the hosts' resulting state (template bytes, modes,
 *    sysctls, services, packages) must be identical for both tools.
 * 2. Idempotent re-run and `--check` on one converged lab, interleaved;
 *    Ansible's idempotent run both with its ControlPersist masters warm and
 *    cold. A re-run whose recap shows a change is void.
 * 3. Round trips per host in an idempotent run (play's own count; Ansible's
 *    `SSH: EXEC` lines at -vvv).
 * 4. The floor: N parallel bare connections running `true`, through OpenSSH
 *    and through play's SSH stack; one more command on an open connection.
 * 5. A config change rolled out and back on the converged lab, one host at
 *    a time with a health wait after each (play's site.ts; Ansible's site.yml,
 *    serial: 1), interleaved.
 * 6. Scale: sshd-only labs of 4, 20, 50 hosts, a small play (one template,
 *    one sysctl, one command), play and Ansible at forks 5 and forks = hosts,
 *    with the controller's peak RSS.
 *
 * play runs `site.ts --role director --role realserver`: Ansible's playbook
 * has no counterpart of the verify role, so the ratios compare like with like.
 *
 * 7. Fleet (`--fleet 100,300,1000`): play alone on simulated hosts (an SSH
 *    simulator on loopback, bench/fleet/), its controller's wall time, CPU
 *    and peak RSS, warm and cold. `--only fleet` runs nothing else and needs
 *    no lab (nor the lab lock, nor Ansible).
 *
 * The first run has a third sample in each pair: its floor, the same end
 * state as one shell script per host over one ssh each, all at once
 * (bench/first-floor.ts), on a fresh lab too; `--only first` runs the
 * first runs alone.
 *
 * Options: --pairs N (default 5), --scale 4,20,50 (or none), --skip-first,
 * --skip-seed (scale only), --fleet SIZES (default none; 100,300,1000 with
 * --only fleet), --fleet-samples N (default 3), --fleet-profile DIR (`node
 * --cpu-prof` of every fleet run and its agent, into DIR), --fleet-forks N,
 * --only fleet|first, --no-readme,
 * --out NAME (default latest). Results: bench/results/NAME.{json,md}, merged
 * into what the file held (a fleet-only run keeps the lab's series, a lab run
 * the fleet's); the table of a full run (`latest`) also goes into README.md
 * between the bench markers.
 */
import { holdLabLock } from '../spec/support/lab-lock.ts';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { labDown, labUp, type LabProfile } from '../lib/lab/index.ts';
import { connectSsh } from '../lib/transport/ssh.ts';
import type { Transport } from '../lib/core/transport.ts';
import { assertRoutedToLab, connectLab, freshLab } from '../spec/support/lab.ts';
import seed from '../inventory/inventory.ts';
import { scaleHosts } from './scale/inventory.ts';
import {
  ansibleRecap, ansibleSetup, closeMasters, median, playRecap, recapProblem, timed,
  type AnsibleSetup, type Recap, type Timed,
} from './measure.ts';
import { markdown, type Results, type Series } from './report.ts';
import { fleetBench } from './fleet/bench.ts';
import { runFloor } from './first-floor.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const ansibleDir = join(repo, 'bench/ansible');
const { values: opt } = parseArgs({
  options: {
    pairs: { type: 'string', default: '5' },
    scale: { type: 'string', default: '4,20,50' },
    'skip-first': { type: 'boolean', default: false },
    'no-readme': { type: 'boolean', default: false },
    'skip-seed': { type: 'boolean', default: false },
    fleet: { type: 'string' },
    'fleet-samples': { type: 'string', default: '3' },
    'fleet-profile': { type: 'string' },
    'fleet-forks': { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string', default: 'latest' },
  },
});
if (opt.only !== undefined && opt.only !== 'fleet' && opt.only !== 'first') throw new Error(`--only: "fleet" or "first" can run alone, got "${opt.only}"`);
/** The fleet alone touches no lab: no lock, no Ansible, no lab down at the end (another run may own the lab). */
const FLEET_ONLY = opt.only === 'fleet';
if (!FLEET_ONLY) holdLabLock();
const PAIRS = Number(opt.pairs);
const SCALE = FLEET_ONLY || opt.only === 'first' || opt.scale === 'none' ? [] : opt.scale!.split(',').map(Number);
const FLEET = (opt.fleet ?? (FLEET_ONLY ? '100,300,1000' : 'none')) === 'none' ? [] : (opt.fleet ?? '100,300,1000').split(',').map(Number);
const SEED_HOSTS = seed.hosts.map((h) => ({ name: h.name, address: h.address, groups: h.groups }));
const NAMES = SEED_HOSTS.map((h) => h.name);
const PLAY_SITE = ['site', '-i', 'inventory', '--role', 'director', '--role', 'realserver', '--json'];
const log = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const tmp = mkdtempSync('/tmp/play-bench-');
const results: Results = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version,
    ansible: FLEET_ONLY ? '(not run)' : execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim(),
  },
  pairs: PAIRS,
  series: {},
  voids: [],
  notes: [],
};

// ------------------------------------------------------------------ runners

/**
 * play keeps its connections in its agent as long as Ansible's masters are
 * kept here (ControlPersist=900s), in a directory of the benchmark's own.
 */
const PLAY_ENV = { NO_COLOR: '1', PLAY_PERSIST: '900', PLAY_AGENT_DIR: join(tmp, 'agent') };
/** The agent's command line, to count its memory with play's (it is detached from play's process tree, like Ansible's masters). */
const AGENT_CMDLINE = 'bin/play.js\0agent\0serve';

function play(args: readonly string[], o: { env?: NodeJS.ProcessEnv; sampleMs?: number } = {}): Promise<Timed> {
  return timed(process.execPath, [join(repo, 'bin/play.js'), ...args], {
    cwd: repo, env: { ...process.env, ...PLAY_ENV, ...o.env }, sampleMs: o.sampleMs, rssAlso: AGENT_CMDLINE,
  });
}

/** Stop play's agent, so the next run connects cold (and starts a new one). */
async function stopAgent(): Promise<void> {
  const r = await play(['agent', 'stop']);
  const pid = /^agent (\d+) stopped/.exec(r.stdout)?.[1];
  // `stop` answers before the agent has closed its connections and exited.
  for (let i = 0; pid && i < 100; i++) {
    try { process.kill(Number(pid), 0); } catch { return; }
    await new Promise((res) => setTimeout(res, 20));
  }
}

function ansible(a: AnsibleSetup, playbook: string, forks: number, extra: readonly string[] = [], sampleMs?: number): Promise<Timed> {
  return timed('ansible-playbook', [playbook, ...extra], { cwd: ansibleDir, env: a.env(forks), sampleMs, rssAlso: a.controlDir });
}

/** Time one run and check its recap; a run that does not show `expect` is void (recorded, not counted). */
async function measured(series: string, pair: number, tool: 'play' | 'ansible', run: () => Promise<Timed>, hosts: readonly string[], expect: 'converged' | 'changed'): Promise<Timed & { recap?: Recap; commands?: Record<string, number>; runMs?: number; void?: string }> {
  const t = await run();
  let recap: Recap | undefined;
  let extra: { commands?: Record<string, number>; runMs?: number } = {};
  let problem: string | undefined;
  try {
    if (tool === 'play') {
      const r = playRecap(t.stdout);
      recap = r.recap;
      extra = { commands: r.commands, runMs: r.runMs };
    } else recap = ansibleRecap(t.stdout);
    problem = recapProblem(recap, hosts, expect);
  } catch (e) {
    problem = `unreadable recap: ${(e as Error).message}`;
  }
  if (t.code !== 0 && !problem) problem = `exit ${t.code}`;
  const s = series_(series);
  s[tool][pair] = problem ? null : Math.round(t.ms);
  if (t.peakRssMiB !== undefined) (s.rssMiB ??= { play: [], ansible: [] })[tool][pair] = problem ? null : t.peakRssMiB;
  if (problem) {
    results.voids.push({ series, tool, problem, tail: `${t.stdout}\n${t.stderr}`.trim().split('\n').slice(-12).join('\n') });
    log(`  ${series} ${tool}: VOID (${problem})`);
  } else {
    log(`  ${series} ${tool}: ${secs(t.ms)}${extra.runMs !== undefined ? ` (run ${secs(extra.runMs)})` : ''}${t.peakRssMiB !== undefined ? `, peak RSS ${t.peakRssMiB} MiB` : ''}`);
  }
  return { ...t, recap, ...extra, void: problem };
}

function series_(name: string): Series {
  return (results.series[name] ??= { play: [], ansible: [] });
}

// ------------------------------------------------------- state of the hosts

const TEMPLATES: Record<string, string[]> = {
  directors: ['/etc/keepalived/keepalived.conf'],
  realservers: ['/var/www/html/index.html', '/etc/systemd/system/lvs-vip.service'],
};
const SYSCTLS = ['net.ipv4.conf.lo.arp_ignore', 'net.ipv4.conf.lo.arp_announce', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce'];

/**
 * What a converging run leaves on each host and both tools must agree on:
 * the templates' sha256, mode and owner; sysctl values; services; packages;
 * the VIP on lo. (The sysctl.d file itself differs by format: Ansible writes
 * `key=value`, play `key = value`; each tool leaves the other's line alone.)
 */
async function hostState(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(SEED_HOSTS.map(async (h) => {
    const director = h.groups.includes('directors');
    const files = director ? TEMPLATES.directors! : TEMPLATES.realservers!;
    const services = director ? ['keepalived'] : ['nginx', 'lvs-vip'];
    const packages = director ? ['keepalived', 'ipvsadm'] : ['nginx'];
    const cmd = [
      ...files.map((f) => `sha256sum ${f}; stat -c '%n %a %U %G' ${f}`),
      ...(director ? [] : [`sysctl ${SYSCTLS.join(' ')}`, `ip -o addr show dev lo | grep -o '192.168.56.200/32'`]),
      ...services.map((s) => `echo ${s} $(systemctl is-active ${s}) $(systemctl is-enabled ${s})`),
      `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${packages.join(' ')}`,
    ].join('; ');
    const t: Transport = await connectLab(h.name);
    try {
      out[h.name] = (await t.run(cmd)).stdout;
    } finally {
      await t.close();
    }
  }));
  return out;
}

function sameState(ref: Record<string, string>, got: Record<string, string>, what: string): void {
  for (const h of NAMES) {
    if (ref[h] !== got[h]) throw new Error(`${what}: ${h} differs from play's first run:\n--- play\n${ref[h]}\n--- now\n${got[h]}`);
  }
}

/**
 * Wait until every host has finished booting (`systemctl is-system-running
 * --wait`). The lab is "up" once sshd answers, while systemd may still be
 * starting units; on a 20-host lab sessions opened then were cut without an
 * exit status. Both tools start on settled hosts.
 */
async function settled(lab: LabProfile): Promise<LabProfile> {
  await Promise.all(lab.hosts.map(async (h) => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        const t = await connectSsh({ host: h.name, address: h.address, identityFile: lab.identityFile, knownHostsFile: lab.knownHostsFile });
        try {
          const r = await t.run('systemctl is-system-running --wait 2>/dev/null || true', { timeoutMs: 180_000 });
          if (/^(running|degraded)$/m.test(r.stdout)) return;
        } finally {
          await t.close();
        }
      } catch (e) {
        // sessions opened while the host boots may be cut: try again
        if (Date.now() > deadline) throw e;
      }
      if (Date.now() > deadline) throw new Error(`${h.name} did not finish booting in 180 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }));
  return lab;
}

// ------------------------------------------------------------------- phases

async function firstRuns(): Promise<LabProfile> {
  log(`first run on fresh hosts: ${PAIRS} pairs, a fresh lab for each run`);
  let ref: Record<string, string> | undefined;
  let lab!: LabProfile;
  // A void run (a host failed: seen once, systemd's 219/CGROUP starting a unit
  // in a container) is recorded and left out; up to two more pairs make up for it.
  let valid = 0;
  for (let i = 0; valid < PAIRS && i < PAIRS + 2; i++) {
    lab = await settled(await freshLab());
    await stopAgent();
    const p = await measured('first', i, 'play', () => play(PLAY_SITE), NAMES, 'changed');
    if (!p.void) {
      const state = await hostState();
      if (ref) sameState(ref, state, 'play first run');
      else ref = state;
    }
    lab = await settled(await freshLab());
    const a = ansibleSetup(join(tmp, `first-${i}`), lab, SEED_HOSTS);
    const r = await measured('first', i, 'ansible', () => ansible(a, 'site.yml', SEED_HOSTS.length), NAMES, 'changed');
    if (!r.void) {
      const state = await hostState();
      if (ref) sameState(ref, state, 'Ansible first run');
      else ref = state;
    }
    await closeMasters(a, SEED_HOSTS.map((h) => h.address));
    // The floor: the same end state as one shell script per host, all at once (bench/first-floor.ts).
    lab = await settled(await freshLab());
    const f = await runFloor(lab);
    const failed = Object.entries(f.runs).filter(([, t]) => t.code !== 0).map(([h, t]) => `${h}: exit ${t.code}: ${t.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    if (failed.length) {
      (results.firstFloor ??= [])[i] = null;
      (results.firstFloorServing ??= [])[i] = null;
      results.voids.push({ series: 'firstFloor', tool: 'shell', problem: failed.join('; '), tail: '' });
      log(`  first shell floor: VOID (${failed.join('; ')})`);
    } else {
      const state = await hostState();
      if (ref) sameState(ref, state, 'the shell floor');
      else ref = state;
      (results.firstFloor ??= [])[i] = f.ms;
      (results.firstFloorServing ??= [])[i] = f.servingMs;
      log(`  first shell floor: ${secs(f.ms)}, serving (the MASTER holds the VIP) ${secs(f.servingMs)}`);
    }
    if (!p.void && !r.void) valid++;
  }
  if (!ref) throw new Error('no first run of either tool succeeded');
  results.identical = Object.fromEntries(Object.entries(ref).map(([h, s]) => [h, s.split('\n').filter((l) => /^[0-9a-f]{64} /.test(l)).map((l) => `${l.split(/\s+/)[1]} ${l.slice(0, 12)}`)]));
  log('  both tools leave identical hosts (templates byte for byte, modes, sysctls, services, packages)');
  return lab;
}

async function convergedRuns(lab: LabProfile): Promise<void> {
  const a = ansibleSetup(join(tmp, 'converged'), lab, SEED_HOSTS);
  const addresses = SEED_HOSTS.map((h) => h.address);
  // Settle the lab (converged by the other tool, or never) and warm both tools' caches.
  for (const expect of ['changed', 'converged'] as const) {
    const p = await play(PLAY_SITE);
    const ar = await ansible(a, 'site.yml', SEED_HOSTS.length);
    if (expect === 'converged') {
      const pp = recapProblem(playRecap(p.stdout).recap, NAMES, 'converged');
      const ap = recapProblem(ansibleRecap(ar.stdout), NAMES, 'converged');
      if (pp || ap) results.notes.push(`warm-up on the converged lab: play ${pp ?? 'ok'}, Ansible ${ap ?? 'ok'}`);
    }
  }
  log(`idempotent re-run: ${PAIRS} × (play warm, Ansible warm, Ansible cold, play cold, play --persist 0)`);
  let playCommands: Record<string, number> | undefined;
  for (let i = 0; i < PAIRS; i++) {
    const p = await measured('idempotent', i, 'play', () => play(PLAY_SITE), NAMES, 'converged');
    if (!p.void) {
      playCommands ??= p.commands;
      (results.playRunMs ??= []).push(p.runMs!);
    }
    await measured('idempotent', i, 'ansible', () => ansible(a, 'site.yml', SEED_HOSTS.length), NAMES, 'converged');
    await closeMasters(a, addresses);
    await measured('idempotent-cold', i, 'ansible', () => ansible(a, 'site.yml', SEED_HOSTS.length), NAMES, 'converged');
    // Cold: no agent, so this run starts one and connects afresh, as after a pause of more than --persist.
    await stopAgent();
    const c = await measured('idempotent-cold', i, 'play', () => play(PLAY_SITE), NAMES, 'converged');
    if (!c.void) (results.playColdRunMs ??= []).push(c.runMs!);
    // The agent that run started connects to the hosts after it: not during the next measurement.
    await new Promise((res) => setTimeout(res, 1_500));
    // Without the agent at all (--persist 0), against the same cold Ansible run.
    await measured('idempotent-direct', i, 'play', () => play(PLAY_SITE, { env: { PLAY_PERSIST: '0' } }), NAMES, 'converged');
    series_('idempotent-direct').ansible[i] = series_('idempotent-cold').ansible[i] ?? null;
  }
  log(`check mode on the converged lab: ${PAIRS} pairs`);
  for (let i = 0; i < PAIRS; i++) {
    await measured('check', i, 'play', () => play([...PLAY_SITE, '--check']), NAMES, 'converged');
    await measured('check', i, 'ansible', () => ansible(a, 'site.yml', SEED_HOSTS.length, ['--check']), NAMES, 'converged');
  }

  log('round trips per host in an idempotent run');
  const v = await ansible(a, 'site.yml', SEED_HOSTS.length, ['-vvv']);
  const exec: Record<string, number> = {};
  for (const h of SEED_HOSTS) exec[h.name] = [...v.stdout.matchAll(new RegExp(`^<${h.address.replace(/\./g, '\\.')}> SSH: EXEC `, 'gm'))].length;
  results.roundTrips = { play: playCommands ?? {}, ansible: exec };
  log(`  play ${JSON.stringify(playCommands)}; Ansible ${JSON.stringify(exec)}`);
  await closeMasters(a, addresses);
}

/**
 * One config change rolled out on the converged seed cluster and back
 * (delayLoop 3 → 4, RS1's weight 1 → 2): both tools one host at a time,
 * BACKUP first, keepalived reloaded, a health wait after each host. play's
 * time in its health gates is recorded, to compare the rollout with a plain
 * run plus its waits.
 */
async function rolloutRuns(lab: LabProfile): Promise<void> {
  const a = ansibleSetup(join(tmp, 'rollout'), lab, SEED_HOSTS);
  const directors = SEED_HOSTS.filter((h) => h.groups.includes('directors')).map((h) => h.name);
  const playRollout = ['site', '-i', 'rollout-example', ...PLAY_SITE.slice(3)];
  const ansibleRollout = ['-e', 'bench_delay_loop=4', '-e', 'bench_rs1_weight=2'];
  log(`rollout of one config change and back, one director at a time: ${PAIRS} pairs`);
  for (let i = 0; i < PAIRS; i++) {
    const p = await measured('rollout', i, 'play', () => play(playRollout), directors, 'changed');
    if (!p.void) {
      const gates = p.stdout.split('\n').filter((l) => l.includes('"kind":"gate"')).map((l) => (JSON.parse(l) as { durationMs: number }).durationMs);
      (results.playGateMs ??= []).push(gates.reduce((x, y) => x + y, 0));
    }
    await measured('rollout-back', i, 'play', () => play(PLAY_SITE), directors, 'changed');
    await measured('rollout', i, 'ansible', () => ansible(a, 'site.yml', SEED_HOSTS.length, ansibleRollout), directors, 'changed');
    await measured('rollout-back', i, 'ansible', () => ansible(a, 'site.yml', SEED_HOSTS.length), directors, 'changed');
  }
  await closeMasters(a, SEED_HOSTS.map((h) => h.address));
}

async function floor(lab: LabProfile): Promise<void> {
  log('floor: bare connections running `true`');
  const hosts = SEED_HOSTS;
  const sshArgs = ['-i', lab.identityFile, '-o', `UserKnownHostsFile=${lab.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'];
  const wall = async (f: () => Promise<unknown>) => { const t0 = performance.now(); await f(); return Math.round(performance.now() - t0); };
  const f: NonNullable<Results['floor']> = { hosts: hosts.length, opensshCold: [], opensshMux: [], playProcess: [], playInProcess: [], playMux: [], nodeStart: [], playListHosts: [] };
  for (let i = 0; i < 7; i++) {
    f.opensshCold.push(await wall(() => Promise.all(hosts.map((h) => timed('ssh', [...sshArgs, '-o', 'ControlMaster=no', '-o', 'ControlPath=none', `root@${h.address}`, 'true'])))));
    f.playProcess.push(Math.round((await timed(process.execPath, [join(repo, 'bench/floor-ssh.js'), ...hosts.map((h) => h.address)], { cwd: repo })).ms));
    f.nodeStart.push(Math.round((await timed(process.execPath, ['-e', '0'])).ms));
    // play's start-up alone: load everything, validate, render the templates; contact nothing.
    f.playListHosts.push(Math.round((await play(['site', '-i', 'inventory', '--role', 'director', '--role', 'realserver', '--list-hosts'])).ms));
    f.playInProcess.push(await wall(async () => {
      const ts = await Promise.all(hosts.map(async (h) => {
        const t = await connectSsh({ host: h.name, address: h.address, identityFile: lab.identityFile, knownHostsFile: lab.knownHostsFile });
        await t.run('true');
        return t;
      }));
      await Promise.all(ts.map((t) => t.close()));
    }));
  }
  const sock = join(tmp, 'floor.sock');
  const h = hosts[0]!;
  await timed('ssh', [...sshArgs, '-M', '-S', sock, '-o', 'ControlPersist=60', '-fN', `root@${h.address}`]);
  const t = await connectSsh({ host: h.name, address: h.address, identityFile: lab.identityFile, knownHostsFile: lab.knownHostsFile });
  for (let i = 0; i < 15; i++) {
    f.opensshMux.push(Math.round((await timed('ssh', [...sshArgs, '-S', sock, `root@${h.address}`, 'true'])).ms * 10) / 10);
    f.playMux.push(await wall(() => t.run('true')));
  }
  await t.close();
  await timed('ssh', ['-S', sock, '-O', 'exit', `root@${h.address}`]);
  results.floor = f;
  log(`  ${hosts.length} parallel cold: OpenSSH ${median(f.opensshCold)} ms, play's stack in a new process ${median(f.playProcess)} ms (node alone ${median(f.nodeStart)} ms, play --list-hosts ${median(f.playListHosts)} ms), in-process ${median(f.playInProcess)} ms; one more command: OpenSSH ${median(f.opensshMux)} ms, play ${median(f.playMux)} ms`);
}

async function scale(n: number): Promise<void> {
  log(`scale: ${n} sshd-only hosts`);
  const hosts = scaleHosts(n);
  await labDown();
  const lab = await labUp({ hosts: hosts.map((h) => ({ ...h, iface: 'eth0', director: false })) });
  await assertRoutedToLab(lab);
  await settled(lab);
  const names = hosts.map((h) => h.name);
  const a = ansibleSetup(join(tmp, `scale-${n}`), lab, hosts);
  const args = ['bench/scale/playbook.ts', '-i', 'bench/scale/inventory.ts', '--json'];
  const env = { PLAY_BENCH_HOSTS: String(n) };
  const conv = await play(args, { env });
  const problem = recapProblem(playRecap(conv.stdout).recap, names, 'changed');
  if (problem) {
    const failures = conv.stdout.split('\n').filter((l) => l.includes('"status":"failed"')).map((l) => JSON.parse(l) as { host: string; task: string; error?: string });
    throw new Error(`scale ${n}: play's converging run: ${problem}\n${failures.map((f) => `${f.host} ${f.task}: ${f.error}`).join('\n')}${conv.stderr}`);
  }
  // Ansible must find play's result converged (same bytes); this also opens its masters.
  const ac = await ansible(a, 'scale.yml', n);
  const ap = recapProblem(ansibleRecap(ac.stdout), names, 'converged');
  if (ap) results.notes.push(`scale ${n}: Ansible's first run after play's: ${ap}`);
  const key = `scale-${n}`;
  for (let i = 0; i < 3; i++) {
    await stopAgent();
    await measured(`${key}-cold`, i, 'play', () => play(args, { env, sampleMs: 25 }), names, 'converged');
    await new Promise((res) => setTimeout(res, 1_500));
    await measured(key, i, 'play', () => play(args, { env, sampleMs: 25 }), names, 'converged');
    await measured(`${key}-forks5`, i, 'ansible', () => ansible(a, 'scale.yml', 5, [], 25), names, 'converged');
    await measured(key, i, 'ansible', () => ansible(a, 'scale.yml', n, [], 25), names, 'converged');
  }
  await closeMasters(a, hosts.map((h) => h.address));
  // The floor at this size: N parallel bare connections running `true`.
  const sshArgs = ['-i', lab.identityFile, '-o', `UserKnownHostsFile=${lab.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none'];
  const fl = { openssh: [] as number[], playProcess: [] as number[] };
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await Promise.all(hosts.map((h) => timed('ssh', [...sshArgs, `root@${h.address}`, 'true'])));
    fl.openssh.push(Math.round(performance.now() - t0));
    fl.playProcess.push(Math.round((await timed(process.execPath, [join(repo, 'bench/floor-ssh.js'), ...hosts.map((h) => h.address)], { cwd: repo })).ms));
  }
  (results.scaleFloor ??= {})[n] = fl;
  log(`  floor at ${n} hosts: OpenSSH ${median(fl.openssh)} ms, play's stack in a new process ${median(fl.playProcess)} ms`);
  await labDown();
}

// --------------------------------------------------------------------- main

const t0 = Date.now();
try {
  log(`bench: ${results.machine.ansible}, node ${process.version}, ${results.machine.cpus} cores; pairs ${PAIRS}, scale ${SCALE.join(', ') || 'none'}, fleet ${FLEET.join(', ') || 'none'}`);
  if (!opt['skip-seed'] && !FLEET_ONLY) {
    const lab = opt['skip-first'] ? await settled(await freshLab()) : await firstRuns();
    if (opt.only !== 'first') {
      await convergedRuns(lab);
      await rolloutRuns(lab);
      await floor(lab);
    }
  }
  for (const n of SCALE) await scale(n);
  if (FLEET.length) {
    results.fleet = await fleetBench(FLEET, { repo, samples: Number(opt['fleet-samples']), profileDir: opt['fleet-profile'], forks: opt['fleet-forks'] ? Number(opt['fleet-forks']) : undefined, log });
    results.fleetDate = new Date().toISOString();
  }
} catch (e) {
  results.error = (e as Error).stack ?? String(e);
  log(`bench failed: ${results.error}`);
  process.exitCode = 1;
} finally {
  if (!FLEET_ONLY) {
    await stopAgent().catch((e: Error) => log(`agent stop failed: ${e.message}`));
    await labDown().catch((e: Error) => log(`lab down failed: ${e.message}`));
  }
  rmSync(tmp, { recursive: true, force: true });
  results.durationS = Math.round((Date.now() - t0) / 1000);
  const dir = join(repo, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const merged = mergeResults(join(dir, `${opt.out}.json`), results);
  const md = markdown(merged);
  writeFileSync(join(dir, `${opt.out}.json`), `${JSON.stringify(merged, null, 2)}\n`);
  writeFileSync(join(dir, `${opt.out}.md`), md);
  if (!opt['no-readme'] && !results.error && opt.out === 'latest') updateReadme(md);
  log(`results in bench/results/${opt.out}.{json,md} after ${results.durationS} s`);
  process.stdout.write(`\n${md}`);
}

/**
 * This run's results over what `file` held: a fleet-only run replaces the
 * fleet sizes it measured and keeps every other series; a lab run replaces
 * the lab's series and keeps the fleet sizes it did not measure.
 */
function mergeResults(file: string, now: Results): Results {
  let before: Results | undefined;
  try {
    before = JSON.parse(readFileSync(file, 'utf8')) as Results;
  } catch {
    // no earlier results
  }
  const fleet = { ...before?.fleet, ...now.fleet };
  const fleetDate = now.fleet ? now.fleetDate : before?.fleetDate;
  if (!FLEET_ONLY || !before) return { ...now, ...(Object.keys(fleet).length ? { fleet, fleetDate } : {}) };
  const { error, fleetError: _stale, ...kept } = before;
  return { ...kept, ...(error ? { error } : {}), fleet, fleetDate, ...(now.error ? { fleetError: now.error } : {}) };
}

/** Replace the table between the bench markers of README.md. */
function updateReadme(md: string): void {
  const file = join(repo, 'README.md');
  const text = readFileSync(file, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return;
  const table = md.slice(md.indexOf('| measure'), md.indexOf('\n\n', md.indexOf('| measure')) + 1);
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${table}${text.slice(b)}`);
}
