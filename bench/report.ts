/**
 * The benchmark's results as data (bench/results/latest.json) and as the
 * markdown tables of bench/results/latest.md and README.md.
 */
import { median } from './measure.ts';
import type { FleetResult } from './fleet/bench.ts';

/** Wall times in ms by pair index (null: that run was void). */
export interface Series {
  play: Array<number | null>;
  ansible: Array<number | null>;
  rssMiB?: { play: Array<number | null>; ansible: Array<number | null> };
}

export interface Results {
  date: string;
  machine: { cpus: number; memGiB: number; kernel: string; node: string; ansible: string };
  pairs: number;
  /** first, idempotent, idempotent-cold, check, scale-N, scale-N-forks5 */
  series: Record<string, Series>;
  /** play's own run time (connect to recap, without start-up) in each idempotent run. */
  playRunMs?: number[];
  /** The same, in each cold idempotent run (no agent yet). */
  playColdRunMs?: number[];
  /** Per rollout run: play's time in its health gates, ms. */
  playGateMs?: number[];
  voids: Array<{ series: string; tool: string; problem: string; tail: string }>;
  identical?: Record<string, string[]>;
  roundTrips?: { play: Record<string, number>; ansible: Record<string, number> };
  floor?: {
    hosts: number;
    opensshCold: number[];
    opensshMux: number[];
    playProcess: number[];
    playInProcess: number[];
    playMux: number[];
    nodeStart: number[];
    /** `play site --list-hosts`: start-up, loading, validation and rendering, no host contacted. */
    playListHosts: number[];
  };
  /** The first run's floor by pair (bench/first-floor.ts): one shell script per host, all at once, ms; null: void. */
  firstFloor?: Array<number | null>;
  /** The same runs until every script ended, the MASTER holding its VIPs (keepalived's first election), ms; null: void. */
  firstFloorServing?: Array<number | null>;
  /** N parallel bare connections running `true` on the scale labs, ms. */
  scaleFloor?: Record<string, { openssh: number[]; playProcess: number[] }>;
  notes: string[];
  durationS?: number;
  error?: string;
  /** Simulated fleets by size (bench/fleet/): play's controller alone, warm and cold. */
  fleet?: Record<string, FleetResult>;
  /** When the fleet was last measured (a fleet-only run leaves the lab's series as they were). */
  fleetDate?: string;
  /** Why the last fleet-only run failed (its sizes kept their earlier figures). */
  fleetError?: string;
}

const ok = (xs: ReadonlyArray<number | null | undefined>): number[] => xs.filter((x): x is number => typeof x === 'number');
const s = (ms: number) => (Number.isNaN(ms) ? '–' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const x = (r: number) => (Number.isNaN(r) ? '–' : `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`);

/** Ansible ÷ play for each pair where both runs counted. */
export function ratios(se: Series | undefined): number[] {
  if (!se) return [];
  return se.play.flatMap((p, i) => {
    const a = se.ansible[i];
    return typeof p === 'number' && typeof a === 'number' ? [a / p] : [];
  });
}

function row(label: string, se: Series | undefined, target: string): string {
  const r = ratios(se);
  const spread = r.length > 1 ? ` (${x(Math.min(...r))}–${x(Math.max(...r))})` : '';
  return `| ${label} | ${s(median(ok(se?.play ?? [])))} | ${s(median(ok(se?.ansible ?? [])))} | ${x(median(r))}${spread} | ${target} |`;
}

export function markdown(r: Results): string {
  const out: string[] = [];
  const f = r.floor;
  const floorMs = f ? median(f.opensshCold) : NaN;
  const idem = median(ok(r.series.idempotent?.play ?? []));
  const check = median(ok(r.series.check?.play ?? []));
  out.push(`# Benchmark: play vs Ansible`, '');
  out.push(`${r.date.slice(0, 16).replace('T', ' ')} UTC · ${r.machine.cpus} cores, ${r.machine.memGiB} GiB · ${r.machine.ansible}, Debian's ansible · node ${r.machine.node} · medians of ${r.pairs} interleaved pairs; ratio = Ansible ÷ play per pair, median (min–max).`, '');
  out.push('| measure | play | Ansible | ratio | target |', '| --- | --- | --- | --- | --- |');
  out.push(row('first run, fresh hosts', r.series.first, 'play no slower'));
  // Per pair, play's first run ÷ a floor's, both on fresh labs of the same pair.
  const againstFloor = (floor: Array<number | null>) => {
    const per = (r.series.first?.play ?? []).flatMap((p, i) => (typeof p === 'number' && typeof floor[i] === 'number' ? [p / floor[i]!] : []));
    return `${x(median(per))}${per.length > 1 ? ` (${x(Math.min(...per))}–${x(Math.max(...per))})` : ''}`;
  };
  if (r.firstFloor?.some((v) => typeof v === 'number')) {
    out.push(`| first run's floor: the same end state as one shell script per host, one ssh each, all at once | ${s(median(ok(r.firstFloor)))} | | | |`);
    out.push(`| play's first run ÷ that floor | ${againstFloor(r.firstFloor)} | | | ≤ 1.25× |`);
  }
  if (r.firstFloorServing?.some((v) => typeof v === 'number')) {
    out.push(`| …the same floor until the cluster serves (the MASTER's script also waits for its VIP: keepalived's first election) | ${s(median(ok(r.firstFloorServing)))} | | | |`);
    out.push(`| play's first run ÷ the serving floor | ${againstFloor(r.firstFloorServing)} | | | |`);
  }
  // A first-runs-only file (`--only first`) has no converged rows to show.
  if (r.series.idempotent) {
    out.push(row('idempotent re-run, warm (play\'s agent; Ansible\'s ControlPersist masters)', r.series.idempotent, '≥ 20×'));
    out.push(row('idempotent re-run, cold (no agent; no masters)', r.series['idempotent-cold'], '≥ 20×'));
    out.push(row('idempotent re-run, play `--persist 0` (no agent at all); Ansible cold', r.series['idempotent-direct'], ''));
    out.push(row('`--check`, converged, warm', r.series.check, '≥ 20×'));
  }
  // A results file from a run without the rollout (bench/results/latest.json has its own rollout.json) shows no empty rows for it.
  if (r.series.rollout) {
    out.push(row('config rollout (delayLoop, a weight), one host at a time, health wait after each; serial: 1 in Ansible', r.series.rollout, 'play no slower'));
    out.push(row('…and back to the seed\'s config', r.series['rollout-back'], ''));
  }
  if (f) {
    out.push(`| floor: ${f.hosts} parallel cold \`ssh HOST true\` (OpenSSH) | ${s(floorMs)} | | | |`);
    out.push(`| play ÷ floor: idempotent, check | ${x(idem / floorMs)}, ${x(check / floorMs)} | | | ≤ 3× |`);
    const cold = median(ok(r.series['idempotent-cold']?.play ?? []));
    if (!Number.isNaN(cold)) out.push(`| play ÷ floor: cold idempotent re-run | ${(cold / floorMs).toFixed(2)}× | | | ≤ 1.0× |`);
  }
  for (const n of scaleSizes(r)) {
    const se = r.series[`scale-${n}`];
    const f5 = r.series[`scale-${n}-forks5`];
    const rss = (xs?: Array<number | null>) => (xs && ok(xs).length ? `${Math.max(...ok(xs))} MiB` : '–');
    const cold = r.series[`scale-${n}-cold`];
    out.push(`| scale ${n} hosts: play warm, cold; Ansible forks ${n} warm; forks 5 warm (peak RSS) | ${s(median(ok(se?.play ?? [])))} (${rss(se?.rssMiB?.play)}), ${s(median(ok(cold?.play ?? [])))} (${rss(cold?.rssMiB?.play)}) | ${s(median(ok(se?.ansible ?? [])))} (${rss(se?.rssMiB?.ansible)}); ${s(median(ok(f5?.ansible ?? [])))} (${rss(f5?.rssMiB?.ansible)}) | ${x(median(ratios(se)))} | ${n === 50 ? '≤ 150 MiB' : ''} |`);
  }
  const sizes = scaleSizes(r);
  if (sizes.includes(4) && sizes.includes(50)) {
    const p4 = median(ok(r.series['scale-4']?.play ?? []));
    const p50 = median(ok(r.series['scale-50']?.play ?? []));
    const c4 = median(ok(r.series['scale-4-cold']?.play ?? []));
    const c50 = median(ok(r.series['scale-50-cold']?.play ?? []));
    out.push(`| play at 50 hosts ÷ play at 4 hosts: warm, cold | ${x(p50 / p4)}, ${x(c50 / c4)} | | | ≤ 2× |`);
  }
  out.push(...fleetRows(r));
  out.push('');

  out.push('## Details', '');
  if (r.playRunMs?.length) {
    const cold = median(ok(r.series['idempotent-cold']?.play ?? []));
    out.push(`- play's idempotent run: warm ${s(idem)} wall, of which ${s(median(r.playRunMs))} from reaching the agent to the recap; cold ${s(cold)}, of which ${s(median(r.playColdRunMs ?? []))} from connecting (through a new agent) to the recap; the rest is start-up: \`play site --list-hosts\` (load play and the playbook, validate, render the templates, contact nothing) takes ${f ? s(median(f.playListHosts)) : '–'}, \`node -e 0\` alone ${f ? s(median(f.nodeStart)) : '–'}.`);
  }
  if (r.playGateMs?.length) {
    const roll = median(ok(r.series.rollout?.play ?? []));
    const gates = median(r.playGateMs);
    out.push(`- play's rollout: ${s(roll)}, of which ${s(gates)} in its health gates (one before the rollout, one after each host that changed); without them ${s(roll - gates)}, against an idempotent run of ${s(idem)} plus two director configs written, reloaded and confirmed live.`);
  }
  if (f) {
    out.push(`- Floor, ${f.hosts} hosts in parallel, connect + \`true\` + close: OpenSSH ${s(floorMs)}; play's SSH stack in a fresh Node process ${s(median(f.playProcess))}, inside a running one ${s(median(f.playInProcess))}. One more command on an open connection: OpenSSH (ControlMaster) ${median(f.opensshMux).toFixed(0)} ms, play ${median(f.playMux).toFixed(0)} ms.`);
  }
  if (r.scaleFloor) {
    out.push(`- Floor on the scale labs (N parallel cold \`ssh HOST true\`; play's SSH stack in a fresh process): ${Object.entries(r.scaleFloor).map(([n, fl]) => `${n} hosts ${s(median(fl.openssh))}; ${s(median(fl.playProcess))}`).join(' · ')}. The lab's hosts share the controller's ${r.machine.cpus} cores, so the floor itself grows with the host count.`);
  }
  if (r.roundTrips) {
    const rt = (m: Record<string, number>) => Object.entries(m).map(([h, n]) => `${h} ${n}`).join(', ');
    out.push(`- Round trips per host, idempotent run: play ${rt(r.roundTrips.play)} (commands, each on its own channel of one connection); Ansible ${rt(r.roundTrips.ansible)} (\`SSH: EXEC\` at -vvv: one ssh invocation each, multiplexed over ControlPersist).`);
  }
  if (r.identical) {
    out.push(`- Same result on the hosts after each tool's first run (templates byte for byte, modes, owners, sysctls, services, packages): ${Object.entries(r.identical).map(([h, fs]) => `${h} ${fs.join(', ')}`).join('; ')}.`);
  }
  for (const [name, se] of Object.entries(r.series)) {
    out.push(`- \`${name}\` samples (ms): play ${JSON.stringify(se.play)}, Ansible ${JSON.stringify(se.ansible)}`);
  }
  if (r.firstFloor) out.push(`- \`firstFloor\` samples (ms; the shell scripts' hosts end as play's do, checked): ${JSON.stringify(r.firstFloor)}`);
  if (r.firstFloorServing) out.push(`- \`firstFloorServing\` samples (ms; the same runs until the MASTER held its VIP): ${JSON.stringify(r.firstFloorServing)}`);
  out.push(...fleetDetails(r));
  if (r.voids.length) out.push(`- Void runs (recap not as expected, left out): ${r.voids.map((v) => `${v.series} ${v.tool}: ${v.problem}`).join('; ')}`);
  for (const n of r.notes) out.push(`- ${n}`);
  if (r.error) out.push('', '**The run failed:**', '', '```', r.error, '```');
  if (r.fleetError) out.push('', '**The last fleet run failed** (the fleet figures above are older):', '', '```', r.fleetError, '```');
  out.push('');
  return out.join('\n');
}

function scaleSizes(r: Results): number[] {
  return Object.keys(r.series).flatMap((k) => /^scale-(\d+)$/.exec(k)?.[1] ?? []).map(Number).sort((a, b) => a - b);
}

const FLEET_TARGET_WALL_MS = 5_000;
const FLEET_TARGET_RSS_MIB = 300;
const mib = (xs: readonly number[]) => (xs.length ? `${Math.max(...xs)} MiB` : '–');
const fleetSizes = (r: Results) => Object.keys(r.fleet ?? {}).map(Number).sort((a, b) => a - b);

/** The fleet's rows of the main table: medians per size, then cost per host at the largest size against the smallest. */
function fleetRows(r: Results): string[] {
  const sizes = fleetSizes(r);
  if (!r.fleet || sizes.length === 0) return [];
  const out = sizes.map((n) => {
    const f = r.fleet![String(n)]!;
    const cell = (se: { wallMs: number[]; cpuMs: number[]; rssMiB: number[] }) => `${s(median(se.wallMs))} (CPU ${s(median(se.cpuMs))}, ${mib(se.rssMiB)})`;
    const target = n === 1000 ? `warm ≤ ${s(FLEET_TARGET_WALL_MS)}, ≤ ${FLEET_TARGET_RSS_MIB} MiB` : '';
    return `| fleet, ${n} simulated hosts (loopback SSH simulator, controller only): play warm; cold — wall (controller CPU, peak RSS) | ${cell(f)}; ${cell(f.cold)} | | | ${target} |`;
  });
  const lo = sizes[0]!;
  const hi = sizes.at(-1)!;
  if (hi > lo) {
    const a = r.fleet[String(lo)]!;
    const b = r.fleet[String(hi)]!;
    const per = (se: { wallMs: number[]; cpuMs: number[] }, n: number, k: 'wallMs' | 'cpuMs') => median(se[k]) / n;
    const ratio = (k: 'wallMs' | 'cpuMs', cold: boolean) => x(per(cold ? b.cold : b, hi, k) / per(cold ? a.cold : a, lo, k));
    out.push(`| fleet, cost per host at ${hi} ÷ at ${lo} hosts: wall, CPU — warm; cold | ${ratio('wallMs', false)}, ${ratio('cpuMs', false)}; ${ratio('wallMs', true)}, ${ratio('cpuMs', true)} | | | flat (1×) |`);
  }
  return out;
}

function fleetDetails(r: Results): string[] {
  const sizes = fleetSizes(r);
  if (!r.fleet || sizes.length === 0) return [];
  const out = [`- Fleet (${r.fleetDate?.slice(0, 16).replace('T', ' ') ?? '?'} UTC): a simulation, for play's controller cost only — SSH servers on ports of 127.0.0.1 (bench/fleet/server.ts) answer the play's fact commands as converged Debian hosts would, from a table built with play's own fact builders; nothing runs on them, and no host-side figure comes from it. The simulator's processes share the controller's ${r.machine.cpus} cores, so wall times include their handshakes and answers; CPU is the play CLI's and its agent's alone (the agent counted while the CLI runs). Warm: the agent holds every connection; cold: no agent, the run connects by itself (and starts an agent as it ends).`];
  for (const n of sizes) {
    const f = r.fleet[String(n)]!;
    const hand = [
      f.handedOver === undefined ? '' : `; after a cold run the new agent held ${f.handedOver} of ${n} connections`,
      f.afterCold ? `; the run after it ${JSON.stringify(f.afterCold.wallMs)} ms wall (run ${JSON.stringify(f.afterCold.runMs)}), CPU ${JSON.stringify(f.afterCold.cpuMs)} ms` : '',
      f.load ? `; load average ${f.load[0]} → ${f.load[1]}` : '',
      f.simulatorCpuMs ? `; simulator CPU warm ${JSON.stringify(f.simulatorCpuMs.warm)}, cold ${JSON.stringify(f.simulatorCpuMs.cold)} ms` : '',
    ].join('');
    out.push(`- \`fleet-${n}\` samples (${f.servers} simulator process(es)${hand}): warm wall ${JSON.stringify(f.wallMs)} ms (run ${JSON.stringify(f.runMs)}), CPU ${JSON.stringify(f.cpuMs)} ms, RSS ${JSON.stringify(f.rssMiB)} MiB; cold wall ${JSON.stringify(f.cold.wallMs)} ms (run ${JSON.stringify(f.coldRunMs)}), CPU ${JSON.stringify(f.cold.cpuMs)} ms, RSS ${JSON.stringify(f.cold.rssMiB)} MiB`);
  }
  const steps = sizes.slice(1).map((b, i) => {
    const a = sizes[i]!;
    const fa = r.fleet![String(a)]!;
    const fb = r.fleet![String(b)]!;
    const ms = (k: (f: FleetResult) => number[]) => `${((median(k(fb)) - median(k(fa))) / (b - a)).toFixed(1)} ms`;
    return `${a} → ${b}: warm ${ms((f) => f.wallMs)} wall, ${ms((f) => f.cpuMs)} CPU; cold ${ms((f) => f.cold.wallMs)} wall, ${ms((f) => f.cold.cpuMs)} CPU`;
  });
  if (steps.length) out.push(`- Fleet, what each further host costs (difference of medians ÷ difference of sizes): ${steps.join(' · ')}.`);
  return out;
}
