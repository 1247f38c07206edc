import type { Change, Plan } from '../../lib/core/change.ts';
import type { HostView } from '../../lib/core/host.ts';
import type { Task } from '../../lib/core/task.ts';
import { FactCache } from '../../lib/engine/fact-cache.ts';
import { planContext } from '../../lib/engine/plan-context.ts';
import { FakeTransport, type Scripted } from './fake-transport.ts';

/** A host for specs: root on 192.0.2.10 (TEST-NET, never contacted). */
export function testHost(over: Partial<HostView> = {}): HostView {
  return { name: 'h1', address: '192.0.2.10', port: 22, user: 'root', become: false, groups: [], vars: {}, ...over };
}

export interface PlanCase {
  /** Recorded answers to the commands the planner is expected to send. */
  facts: Scripted[];
  pending?: Change[];
  wantDiff?: boolean;
  host?: Partial<HostView>;
}

/** Plan `task` against recorded facts; returns the plan and the fake host. */
export async function planAgainst(task: Task<any>, c: PlanCase): Promise<{ plan: Plan; host: FakeTransport }> {
  const transport = new FakeTransport('h1', [...c.facts]);
  const host = testHost(c.host);
  const problems = task.validate?.(host) ?? [];
  if (problems.length) throw new Error(`task did not validate: ${JSON.stringify(problems)}`);
  const cache = new FactCache(transport);
  const plan = await task.plan(planContext({
    host, cache, pending: c.pending ?? [], run: { pending: c.pending?.length ?? 0 }, results: {}, wantDiff: c.wantDiff ?? false,
    reader: async () => { throw new Error('no other hosts in a plan spec'); },
  }));
  return { plan, host: transport };
}

/** The command of a change made by one command; a change that applies itself fails the spec. */
export function execOf(c: Change | undefined): string {
  if (!c) throw new Error('no such change');
  if (c.apply) throw new Error(`"${c.summary}" applies itself, it has no command: ${c.what}`);
  return c.exec;
}

/** What a change that applies itself does (its `what`); a command change fails the spec. */
export function whatOf(c: Change | undefined): string {
  if (!c) throw new Error('no such change');
  if (!c.apply) throw new Error(`"${c.summary}" is a command, it does not apply itself: ${c.exec}`);
  return c.what;
}
