import type { HostView } from '../core/host.ts';
import { emptyRecap, type HostRecap, type TaskResult } from '../core/result.ts';
import type { HostAccess } from '../core/task.ts';
import type { RollAnswer } from '../dsl/playbook.ts';
import type { Reporter, RunRecap } from '../report/reporter.ts';
import { stopsAfter, type CompiledPlay } from './compile.ts';
import { Connections, type Connector } from './connections.ts';
import { FactCache, type FactRun } from './fact-cache.ts';
import { RunStartFacts } from './run-start-facts.ts';
import { Barrier } from './barrier.ts';
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
 * Run compiled plays: plays in order (each a barrier, unless plays of one
 * group run side by side), hosts in parallel up to `forks`, tasks in order
 * per host. Returns the recap; never throws for a host's failure.
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
  const start = new RunStartFacts();
  const factRun: FactRun = { epoch: 0, start };
  const runOne = async (play: CompiledPlay, w: CompiledPlay['work'][number], once: Map<string, Promise<TaskResult>>, beforePost?: () => Promise<void>) => {
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
      state = { host, cache: new FactCache(transport, factRun), pending: [], run: runPending, results: {}, wantDiff: o.diff, reader, reconnect: () => connections.reconnect(host), log: { step: 0, started: new Map() } };
      states.set(w.host.name, state);
    }
    const end = await runHost(w, state, transport, { check: o.check, play: play.name, forceHandlers: o.forceHandlers, report: record, stopped, retry: o.reporter.retry?.bind(o.reporter), once, beforePost });
    if (end === 'unreachable' || end === 'failed') out.add(w.host.name);
    recap[w.host.name]!.durationMs += Date.now() - hostStart;
    return end;
  };

  /** Does this play roll? Asked at its turn; a decision that fails rolls. */
  const decide = async (play: CompiledPlay): Promise<RollAnswer & { asked: boolean }> => {
    if (play.batches.length <= 1 && !play.rollIf) return { roll: false, why: '', asked: false };
    if (!play.rollIf) return { roll: true, why: '', asked: false };
    const hosts = play.work.map((w) => w.host);
    try {
      const a = await play.rollIf({ hosts, inventoryHosts: o.allHosts, reader });
      return { roll: a.roll === true, why: String(a.why ?? ''), asked: true };
    } catch (e) {
      return { roll: true, why: `could not tell (${e instanceof Error ? e.message : String(e)}), so rolling`, asked: true };
    }
  };
  const noteOf = (a: RollAnswer & { asked: boolean }) => (a.asked ? `${a.roll ? 'rolling' : 'all at once'}: ${a.why}` : undefined);

  const stopCheck = (play: CompiledPlay, failed: number, size: number, rolling?: { index: number; count: number }) => {
    if (!stopsAfter(play, failed, size)) return;
    const which = rolling ? `batch ${rolling.index}/${rolling.count}` : 'its hosts';
    halted = `play "${play.name}" stopped after ${which}: ${failed} of ${size} host(s) failed${play.maxFailPercentage ? ` (more than ${play.maxFailPercentage} %)` : ''}`;
  };

  const runPlay = async (play: CompiledPlay, answer: RollAnswer & { asked: boolean }, aside?: string) => {
    const batches = answer.roll ? play.batches : play.work.length ? [play.work] : [];
    const note = [aside, noteOf(answer)].filter(Boolean).join('; ') || undefined;
    for (const [i, batch] of batches.entries()) {
      if (stopped()) break;
      const work = batch.filter((w) => !out.has(w.host.name));
      if (work.length === 0) continue;
      if (halted) {
        for (const w of work) notReached.push({ host: w.host.name, play: play.name, reason: halted });
        continue;
      }
      const rolling = batches.length > 1 ? { index: i + 1, count: batches.length } : undefined;
      o.reporter.playStart({ play: play.name, hosts: work.map((w) => w.host.name), batch: rolling, ...(i === 0 && note ? { note } : {}) });
      let failed = 0;
      // runOnce is per batch, as Ansible's run_once with serial.
      const once = new Map<string, Promise<TaskResult>>();
      await mapLimit(work, o.forks, async (w) => {
        if (stopped()) return;
        const end = await runOne(play, w, once);
        if (end === 'unreachable' || end === 'failed') failed++;
      });
      stopCheck(play, failed, work.length, rolling);
    }
  };

  /** Plays that run at once, none rolling: every host's tasks, then every host's post tasks. */
  const sideBySide = async (group: readonly CompiledPlay[], answers: ReadonlyArray<RollAnswer & { asked: boolean }>) => {
    const works = group.map((play) => play.work.filter((w) => !out.has(w.host.name)));
    const barrier = new Barrier(works.reduce((n, w) => n + w.length, 0));
    await Promise.all(group.map(async (play, k) => {
      const work = works[k]!;
      if (work.length === 0) return;
      const beside = `side by side with ${group.filter((p) => p !== play).map((p) => `"${p.name}"`).join(', ')}`;
      o.reporter.playStart({ play: play.name, hosts: work.map((w) => w.host.name), note: [beside, noteOf(answers[k]!)].filter(Boolean).join('; ') });
      let failed = 0;
      const once = new Map<string, Promise<TaskResult>>();
      await Promise.all(work.map(async (w) => {
        const arrival = barrier.arrival();
        try {
          if (stopped()) return;
          const end = await runOne(play, w, once, arrival.wait);
          if (end === 'unreachable' || end === 'failed') failed++;
        } finally {
          arrival.leave();
        }
      }));
      stopCheck(play, failed, work.length);
    }));
  };

  o.reporter.runStart({ playbook: o.playbook, check: o.check, hosts: allNames });
  try {
    // Connect to every host of every play at once: connection setup dominates
    // short runs, and a later play's hosts then connect while earlier plays run.
    // Each host's facts for all its plays come with the connection: later plays
    // and rolling batches start without a round trip until something changes.
    const byHost = new Map<string, CompiledPlay['work']>();
    for (const play of plays) for (const w of play.work) byHost.set(w.host.name, [...(byHost.get(w.host.name) ?? []), w]);
    for (const [name, ws] of byHost) void connections.get(ws[0]!.host).then((t) => start.begin(name, t, ws, o.diff), () => undefined);
    for (const group of groupsOf(plays)) {
      if (stopped()) break;
      if (halted) {
        for (const play of group) for (const w of play.work) if (!out.has(w.host.name)) notReached.push({ host: w.host.name, play: play.name, reason: halted });
        continue;
      }
      if (group.length > 1) {
        const answers = await Promise.all(group.map(decide));
        const hosts = group.reduce((n, p) => n + p.work.filter((w) => !out.has(w.host.name)).length, 0);
        const rolls = group.filter((_, k) => answers[k]!.roll).map((p) => `"${p.name}"`);
        if (rolls.length === 0 && hosts <= o.forks) {
          await sideBySide(group, answers);
          continue;
        }
        // One after the other. A play that would not roll is asked again at
        // its turn: the plays before it may have made the cluster serve.
        const aside = rolls.length ? undefined : `not side by side with the plays beside it: ${hosts} hosts, more than --forks ${o.forks}`;
        for (const [k, play] of group.entries()) {
          if (stopped()) break;
          const answer = k === 0 || answers[k]!.roll || halted ? answers[k]! : await decide(play);
          await runPlay(play, answer, aside);
        }
        continue;
      }
      await runPlay(group[0]!, await decide(group[0]!));
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

/** Consecutive plays of one `withPrevious` group. */
function groupsOf(plays: readonly CompiledPlay[]): CompiledPlay[][] {
  const groups: CompiledPlay[][] = [];
  for (const p of plays) {
    const last = groups.at(-1);
    if (last && last[0]!.group === p.group) last.push(p);
    else groups.push([p]);
  }
  return groups;
}
