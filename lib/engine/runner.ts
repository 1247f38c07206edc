import type { HostView } from '../core/host.ts';
import { emptyRecap, type HostRecap, type TaskResult } from '../core/result.ts';
import type { HostAccess } from '../core/task.ts';
import type { Reporter, RunRecap } from '../report/reporter.ts';
import { stopsAfter, type CompiledPlay } from './compile.ts';
import { Connections, type Connector } from './connections.ts';
import { FactCache } from './fact-cache.ts';
import { mapLimit } from './limit.ts';
import { observed } from './observed.ts';
import type { HostState } from './plan-context.ts';
import { runHost } from './run-host.ts';

export interface RunnerOptions {
  playbook: string;
  check: boolean;
  diff: boolean;
  /** Hosts worked on at once. */
  forks: number;
  forceHandlers: boolean;
  connect: Connector;
  reporter: Reporter;
  /** Aborted on Ctrl-C: running commands finish, no new task starts. */
  signal?: AbortSignal;
  /** Every host the inventory knows, so cross-host readers can reach them. */
  allHosts: readonly HostView[];
}

/**
 * Run compiled plays: plays in order (each a barrier), hosts in parallel up
 * to `forks`, tasks in order per host. Returns the recap; never throws for
 * a host's failure.
 */
export async function runPlays(plays: readonly CompiledPlay[], o: RunnerOptions): Promise<RunRecap> {
  const started = Date.now();
  const connections = new Connections(async (h) => observed(await o.connect(h), o.reporter.command?.bind(o.reporter)));
  const recap: Record<string, HostRecap> = {};
  // Like Ansible: a host that failed or was unreachable sits out the later plays.
  const out = new Set<string>();
  const states = new Map<string, HostState>();
  const runPending = { pending: 0 };
  const notReached: Array<{ host: string; play: string; reason: string }> = [];
  let halted: string | undefined;
  const stopped = () => o.signal?.aborted ?? false;

  const record = (r: TaskResult) => {
    const rc = (recap[r.host] ??= emptyRecap());
    rc[r.status]++;
    if (r.status === 'changed') rc.changes.push(...r.changes.map((c) => `${r.task}: ${c.summary}${c.planned ? ' (planned)' : ''}`));
    o.reporter.taskResult(r);
  };

  const reader = async (name: string): Promise<HostAccess> => {
    const host = o.allHosts.find((h) => h.name === name);
    if (!host) throw new Error(`no host named "${name}" in the inventory`);
    const t = await connections.get(host);
    return { host, run: (cmd, ro) => t.run(cmd, ro) };
  };

  const allNames = [...new Set(plays.flatMap((p) => p.work.map((w) => w.host.name)))];
  const runOne = async (play: CompiledPlay, w: CompiledPlay['work'][number], once: Map<string, Promise<TaskResult>>) => {
    const hostStart = Date.now();
    recap[w.host.name] ??= emptyRecap();
    let transport;
    try {
      transport = await connections.get(w.host);
    } catch (e) {
      out.add(w.host.name);
      record({
        host: w.host.name, play: play.name, task: 'connect', kind: 'connect', status: 'unreachable', changes: [], notes: [],
        error: e instanceof Error ? e.message : String(e), durationMs: Date.now() - hostStart, commands: 0,
      });
      return 'unreachable' as const;
    }
    let state = states.get(w.host.name);
    if (!state) {
      const host = w.host;
      state = { host, cache: new FactCache(transport), pending: [], run: runPending, results: {}, wantDiff: o.diff, reader, reconnect: () => connections.reconnect(host), log: { step: 0, started: new Map() } };
      states.set(w.host.name, state);
    }
    const end = await runHost(w, state, transport, { check: o.check, play: play.name, forceHandlers: o.forceHandlers, report: record, stopped, retry: o.reporter.retry?.bind(o.reporter), once });
    if (end === 'unreachable' || end === 'failed') out.add(w.host.name);
    recap[w.host.name]!.durationMs += Date.now() - hostStart;
    return end;
  };

  o.reporter.runStart({ playbook: o.playbook, check: o.check, hosts: allNames });
  try {
    // Connect to every host of every play at once: connection setup dominates
    // short runs, and a later play's hosts then connect while earlier plays run.
    for (const play of plays) play.work.forEach((w) => void connections.get(w.host).catch(() => undefined));
    for (const play of plays) {
      if (stopped()) break;
      if (halted) {
        for (const w of play.work) if (!out.has(w.host.name)) notReached.push({ host: w.host.name, play: play.name, reason: halted });
        continue;
      }
      for (const [i, batch] of play.batches.entries()) {
        if (stopped()) break;
        const work = batch.filter((w) => !out.has(w.host.name));
        if (work.length === 0) continue;
        if (halted) {
          for (const w of work) notReached.push({ host: w.host.name, play: play.name, reason: halted });
          continue;
        }
        const rolling = play.batches.length > 1 ? { index: i + 1, count: play.batches.length } : undefined;
        o.reporter.playStart({ play: play.name, hosts: work.map((w) => w.host.name), batch: rolling });
        let failed = 0;
        // runOnce is per batch, as Ansible's run_once with serial.
        const once = new Map<string, Promise<TaskResult>>();
        await mapLimit(work, o.forks, async (w) => {
          if (stopped()) return;
          const end = await runOne(play, w, once);
          if (end === 'unreachable' || end === 'failed') failed++;
        });
        if (stopsAfter(play, failed, work.length)) {
          const which = rolling ? `batch ${rolling.index}/${rolling.count}` : 'its hosts';
          halted = `play "${play.name}" stopped after ${which}: ${failed} of ${work.length} host(s) failed${play.maxFailPercentage ? ` (more than ${play.maxFailPercentage} %)` : ''}`;
        }
      }
    }
  } finally {
    const counts = await connections.counts();
    // A host connected ahead of a play that never ran (interrupted, stopped) is not in the recap.
    for (const [h, n] of Object.entries(counts)) if (recap[h] || n > 0) (recap[h] ??= emptyRecap()).commands = n;
    await connections.closeAll();
  }
  const local = [...new Set(plays.flatMap((p) => p.work.filter((w) => w.host.local).map((w) => w.host.name)))];
  const result: RunRecap = { hosts: recap, local, durationMs: Date.now() - started, check: o.check, interrupted: stopped(), notReached };
  o.reporter.recap(result);
  return result;
}
