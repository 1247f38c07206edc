/**
 * The fleet benchmark: play's controller cost on 100, 300, 1,000 simulated
 * hosts (server.ts: SSH on ports of 127.0.0.1 answering as converged Debian
 * hosts). A simulation: it measures the controller (the play CLI and its
 * connection agent), never the hosts, and no host-side claim may rest on it.
 *
 * For each size: one unmeasured run (builds the bundle cache, checks the
 * simulator answers everything), then `samples` cold runs (no agent: the
 * run connects by itself, as after more than --persist of quiet; the first
 * is followed by one run through the agent it started), then an
 * agent started and filled by one unmeasured run, then `samples` warm runs
 * (the agent holds every connection). Each run must exit 0 with every host
 * ok and 0 changed and no command refused by the simulator, else the
 * benchmark aborts.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { playRecap, recapProblem, timed, type Timed } from '../measure.ts';
import { fleetHosts, FLEET_BASE_PORT } from './fleet.ts';
import type { ServerConfig, ServerStats } from './server.ts';

/** One size's samples, in run order. */
export interface FleetSeries {
  /** Spawn to exit of the play CLI. */
  wallMs: number[];
  /** User + system CPU of the CLI and of play's agent while the CLI ran. */
  cpuMs: number[];
  /** Peak summed RSS of the CLI's process tree and the agent, sampled every 25 ms. */
  rssMiB: number[];
}

/** `fleet[N]`: warm samples at the top (the agent holds every connection), cold ones under `cold`. */
export interface FleetResult extends FleetSeries {
  cold: FleetSeries;
  /** play's own run time (connect to recap, from its summary event), warm and cold. */
  runMs: number[];
  coldRunMs: number[];
  /** Simulator processes serving the hosts. */
  servers: number;
  /** Connections the agent held 3 s after the cold run that started it: whether a cold run leaves a warm agent behind. */
  handedOver?: number;
  /**
   * The run right after that reading (one per size): warm if the cold run
   * handed its hosts over, cold again if not.
   */
  afterCold?: FleetSeries & { runMs: number[] };
  /** The simulator's CPU in each warm and cold run, ms (the hosts' side, on the same cores). */
  simulatorCpuMs?: { warm: number[]; cold: number[] };
  /** The machine's 1-minute load average as this size started and ended (the cores are shared). */
  load?: [number, number];
}

export interface FleetOptions {
  repo: string;
  samples: number;
  /** Hosts one simulator process serves at most. @default 500 */
  hostsPerServer?: number;
  /** play's --forks for the runs. @default play's own default */
  forks?: number;
  /** Write V8 CPU profiles (`node --cpu-prof`) of every play CLI run and of the agent here. */
  profileDir?: string;
  log(s: string): void;
}

const TICK_MS = 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** Measure each fleet size; throws (after cleaning up) when any run is not a clean converged run. */
export async function fleetBench(sizes: readonly number[], o: FleetOptions): Promise<Record<string, FleetResult>> {
  const dir = mkdtempSync('/tmp/play-fleet-');
  const servers = new Set<ChildProcess>();
  const agentDir = join(dir, 'agent');
  const agentCmdline = `${join(o.repo, 'bin/play.js')}\0agent\0serve`;
  const env = { ...process.env, NO_COLOR: '1', PLAY_LAB: '0', PLAY_PERSIST: '900', PLAY_AGENT_DIR: agentDir, PLAY_FLEET_DIR: dir, PLAY_FLEET_PORT: String(FLEET_BASE_PORT) };
  const killAll = () => {
    for (const s of servers) s.kill('SIGKILL');
    for (const pid of agentPids(agentCmdline, agentDir)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  };
  const onSignal = (sig: NodeJS.Signals) => { killAll(); rmSync(dir, { recursive: true, force: true }); process.exit(sig === 'SIGINT' ? 130 : 143); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const prof = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  const play = (args: readonly string[], extra: NodeJS.ProcessEnv = {}): Promise<Timed> =>
    timed(process.execPath, [...(args[0] === 'agent' ? [] : prof), join(o.repo, 'bin/play.js'), ...args], { cwd: o.repo, env: { ...env, ...extra }, sampleMs: 25, rssAlso: agentCmdline });
  const agentStatus = async (): Promise<{ running: boolean; pid?: number; connections?: Array<{ open: boolean }> }> =>
    JSON.parse((await play(['agent', 'status', '--json'])).stdout) as { running: boolean };
  const stopAgent = async () => {
    const pids = agentPids(agentCmdline, agentDir);
    await play(['agent', 'stop']);
    for (let i = 0; i < 250 && pids.some(alive); i++) await sleep(20);
    for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
  };

  try {
    ssh(['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-host', '-f', join(dir, 'host_ed25519')]);
    ssh(['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-client', '-f', join(dir, 'id_ed25519')]);
    const hostPub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const out: Record<string, FleetResult> = {};
    for (const n of sizes) {
      const hosts = fleetHosts(n);
      const names = hosts.map((h) => h.name);
      // One line per host, as a fleet's known_hosts has: reading it is part of the controller's cost.
      writeFileSync(join(dir, 'known_hosts'), hosts.map((h) => `[127.0.0.1]:${h.port} ${hostPub}\n`).join(''));
      const per = o.hostsPerServer ?? 500;
      const count = Math.ceil(n / per);
      o.log(`fleet: ${n} simulated hosts on 127.0.0.1:${hosts[0]!.port}–${hosts.at(-1)!.port}, ${count} simulator process(es)`);
      const mine = await Promise.all(Array.from({ length: count }, (_, i) => startServer({ dir, basePort: FLEET_BASE_PORT, first: i * per, count: Math.min(per, n - i * per), total: n })));
      mine.forEach((s) => servers.add(s));
      const args = ['bench/fleet/playbook.ts', '-i', 'bench/fleet/inventory.ts', '--json', ...(o.forks ? ['--forks', String(o.forks)] : [])];
      const runEnv = { PLAY_FLEET_HOSTS: String(n) };
      const r: FleetResult = { wallMs: [], cpuMs: [], rssMiB: [], cold: { wallMs: [], cpuMs: [], rssMiB: [] }, runMs: [], coldRunMs: [], servers: count, simulatorCpuMs: { warm: [], cold: [] } };
      const loadStart = loadavg()[0]!;

      /** One run, checked: every host converged, nothing refused; then its figures. */
      const measured = async (label: string, into?: FleetSeries, runMs?: number[], simCpu?: number[]) => {
        const agentsBefore = new Map(agentPids(agentCmdline, agentDir).map((p) => [p, cpuTicks(p)]));
        const selfBefore = childTicks();
        const t = await play(args, runEnv);
        const cli = childTicks() - selfBefore;
        let agent = 0;
        for (const p of agentPids(agentCmdline, agentDir)) agent += cpuTicks(p) - (agentsBefore.get(p) ?? 0);
        const stats = await Promise.all(mine.map(serverStats));
        const refused = stats.reduce((a, s) => a + s.refused, 0);
        let problem: string | undefined;
        let summary: ReturnType<typeof playRecap> | undefined;
        try {
          summary = playRecap(t.stdout);
          problem = recapProblem(summary.recap, names, 'converged');
        } catch (e) {
          problem = `unreadable recap: ${(e as Error).message}`;
        }
        if (refused) problem = `the simulator refused ${refused} command(s): ${stats.flatMap((s) => s.refusedSamples).join('; ')}`;
        if (!problem && t.code !== 0) problem = `exit ${t.code}`;
        if (problem) throw new Error(`fleet ${n} ${label}: ${problem}\n${[...failures(t.stdout), ...t.stderr.trim().split('\n').slice(-5)].join('\n')}`);
        const cpuMs = (cli + agent) * TICK_MS;
        const sim = stats.reduce((a, s) => a + s.cpuMs, 0);
        const cmds = Object.values(summary!.commands);
        o.log(`  ${label}: ${(t.ms / 1000).toFixed(2)} s wall (run ${(summary!.runMs / 1000).toFixed(2)} s), CPU ${(cpuMs / 1000).toFixed(2)} s (CLI ${(cli * TICK_MS / 1000).toFixed(2)}, agent ${(agent * TICK_MS / 1000).toFixed(2)}; simulator ${(sim / 1000).toFixed(2)}), peak RSS ${t.peakRssMiB} MiB; ${Math.min(...cmds)}–${Math.max(...cmds)} command(s) per host`);
        if (into) {
          into.wallMs.push(Math.round(t.ms));
          into.cpuMs.push(cpuMs);
          into.rssMiB.push(t.peakRssMiB!);
          runMs!.push(summary!.runMs);
          simCpu!.push(sim);
        }
      };

      await stopAgent();
      // Builds the bundle cache for these files, and proves the simulator answers the play.
      await measured('first run (not counted)', undefined, undefined);
      for (let i = 0; i < o.samples; i++) {
        await stopAgent();
        await measured(`cold ${i + 1}`, r.cold, r.coldRunMs, r.simulatorCpuMs!.cold);
        if (i === 0) {
          // A run that found no agent starts one as it ends and hands it the hosts it connected to.
          await sleep(3_000);
          const s = await agentStatus();
          r.handedOver = s.running ? (s.connections ?? []).filter((c) => c.open).length : 0;
          o.log(`  the agent that cold run started holds ${r.handedOver} of ${n} connections 3 s later`);
          r.afterCold = { wallMs: [], cpuMs: [], rssMiB: [], runMs: [] };
          await measured('the run after that cold run', r.afterCold, r.afterCold.runMs, []);
        }
      }
      await stopAgent();
      await startAgent(o.repo, agentDir, env, prof);
      await measured('warm-up through a new agent (not counted)', undefined, undefined);
      const s = await agentStatus();
      const open = (s.connections ?? []).filter((c) => c.open).length;
      if (open !== n) throw new Error(`fleet ${n}: the agent holds ${open} open connections, not ${n}`);
      for (let i = 0; i < o.samples; i++) await measured(`warm ${i + 1}`, r, r.runMs, r.simulatorCpuMs!.warm);
      r.load = [round2(loadStart), round2(loadavg()[0]!)];
      await stopAgent();
      for (const srv of mine) {
        srv.kill('SIGTERM');
        servers.delete(srv);
      }
      out[String(n)] = r;
    }
    return out;
  } finally {
    await stopAgent().catch(() => undefined);
    killAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }

  function startServer(cfg: ServerConfig): Promise<ChildProcess> {
    const child = fork(join(o.repo, 'bench/fleet/server.ts'), [JSON.stringify(cfg)], {
      cwd: o.repo, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    servers.add(child);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => { err += b.toString(); if (err.length > 20_000) err = err.slice(-10_000); });
    return new Promise((resolve, reject) => {
      child.once('exit', (code, sig) => reject(new Error(`fleet simulator ${cfg.first}+${cfg.count} exited (${sig ?? code}): ${err.trim()}`)));
      child.once('message', (m: { listening?: number }) => (m.listening === cfg.count ? resolve(child) : reject(new Error(`fleet simulator: unexpected ${JSON.stringify(m)}`))));
    });
  }
}

/** The first few hosts' errors, from the run's JSON events. */
function failures(stdout: string): string[] {
  const bad = stdout.split('\n').filter((l) => /"status":"(failed|unreachable)"/.test(l)).map((l) => JSON.parse(l) as { host: string; task: string; error?: string });
  return [...bad.slice(0, 5).map((f) => `${f.host} ${f.task}: ${f.error}`), ...(bad.length > 5 ? [`(and ${bad.length - 5} more)`] : [])];
}

function serverStats(s: ChildProcess): Promise<ServerStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fleet simulator did not answer for its stats')), 10_000);
    s.once('message', (m: { stats?: ServerStats }) => { clearTimeout(timer); if (m.stats) resolve(m.stats); else reject(new Error(`fleet simulator: unexpected ${JSON.stringify(m)}`)); });
    s.send('stats');
  });
}

/**
 * Start `play agent serve` as a run would (detached, in /), with nothing
 * handed over, and wait until it listens: the next run fills it.
 */
async function startAgent(repo: string, dir: string, env: NodeJS.ProcessEnv, nodeArgs: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, [...nodeArgs, join(repo, 'bin/play.js'), 'agent', 'serve', '--persist', '900'], { detached: true, stdio: 'ignore', cwd: '/', env: { ...env, PLAY_AGENT_DIR: dir } });
  child.unref();
  for (let i = 0; i < 250; i++) {
    if (readdirSafe(dir).some((f) => f.endsWith('.sock'))) return;
    await sleep(20);
  }
  throw new Error('play agent serve did not listen within 5 s');
}

function readdirSafe(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

function ssh(args: string[]): void {
  execFileSync('ssh-keygen', args, { stdio: 'ignore' });
}

/** PIDs of the benchmark's own connection agents: this checkout's `play agent serve`, serving the benchmark's agent directory. */
function agentPids(cmdline: string, dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cmdline)
        && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PLAY_AGENT_DIR=${dir}`);
    } catch {
      return false;
    }
  });
}

/** utime + stime of a process, in clock ticks (0 when it is gone). */
function cpuTicks(pid: number): number {
  try {
    const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** CPU of this process's reaped children (cutime + cstime), in clock ticks: the CLI's once it has exited. */
function childTicks(): number {
  const f = statFields(readFileSync('/proc/self/stat', 'utf8'));
  return Number(f[13]) + Number(f[14]);
}

/** /proc/PID/stat's fields after the command name (which may hold spaces): f[k] is field k + 3. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
