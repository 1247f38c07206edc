/**
 * Fixture tables for task specs: facts in (recorded outputs of exactly the
 * commands the planner sends), changes and no-op notes out. A command nobody
 * recorded fails the case (FakeTransport), and so does a recorded fact the
 * planner never asked for: the table must stay an exact picture.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Change, Plan } from '../../lib/core/change.ts';
import { TaskError } from '../../lib/core/errors.ts';
import type { Task } from '../../lib/core/task.ts';
import { parseBatchScript } from '../../lib/engine/fact-batch.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { planAgainst, testHost } from '../support/plan-harness.ts';

export interface PlanRow {
  name: string;
  task: Task<any>;
  facts: Scripted[];
  pending?: Change[];
  wantDiff?: boolean;
  /** Expected change summaries, in order ([] = no change). */
  changes?: string[];
  notes?: string[];
  /** Expected `predicted` of each change (undefined = certain); a RegExp is matched. */
  predicted?: Array<string | RegExp | undefined>;
  /** The planner must refuse with a TaskError matching this. */
  error?: RegExp;
  /** Round trips the plan may cost. @default 1 (the batched facts) */
  roundTrips?: number;
  then?: (plan: Plan) => void;
}

/** A pending change as check mode leaves it behind. */
export const PENDING: Change[] = [{ summary: 'install nginx 1.22.1-9', exec: 'apt-get install nginx' }];

export function planTable(test: Test, rows: PlanRow[]): void {
  for (const row of rows) {
    test(row.name, async () => {
      const script = row.facts.map((f) => ({ ...f }));
      let result: Awaited<ReturnType<typeof planAgainst>> | undefined;
      try {
        result = await planAgainst(row.task, { facts: script, pending: row.pending, wantDiff: row.wantDiff });
      } catch (e) {
        if (!row.error) throw e;
        assert.ok(e instanceof TaskError, `expected a TaskError, got ${e}`);
        const err = e as TaskError;
        assert.match(err.message, row.error);
        assert.is(err.host, 'h1');
        assert.is(err.task, row.task.name);
        return;
      }
      if (row.error) assert.unreachable(`expected an error matching ${row.error}, planned ${JSON.stringify(result.plan.changes.map((c) => c.summary))}`);
      const { plan, host } = result;
      if (row.changes) assert.equal(plan.changes.map((c) => c.summary), row.changes);
      if (row.notes) assert.equal(plan.notes, row.notes);
      if (row.predicted) {
        assert.is(plan.changes.length, row.predicted.length);
        row.predicted.forEach((want, i) => {
          const got = plan.changes[i]!.predicted;
          if (want instanceof RegExp) assert.match(got ?? '', want);
          else assert.is(got, want);
        });
      } else {
        for (const c of plan.changes) assert.is(c.predicted, undefined, `unexpected prediction: ${c.predicted}`);
      }
      assert.is(host.commandCount, row.roundTrips ?? 1, 'round trips');
      const asked = new Set(host.calls.flatMap((c) => parseBatchScript(c.cmd)?.commands ?? [c.cmd]));
      for (const f of row.facts) {
        if (typeof f.cmd === 'string') assert.ok(asked.has(f.cmd), `recorded fact never asked:\n${f.cmd}`);
      }
      row.then?.(plan);
    });
  }
}

export interface ProblemRow {
  name: string;
  task: Task<any>;
  /** Expected problems as [field, message pattern]. */
  problems: Array<[string, RegExp]>;
}

export function problemTable(test: Test, rows: ProblemRow[]): void {
  for (const row of rows) {
    test(row.name, () => {
      const got = row.task.validate?.(testHost()) ?? [];
      assert.is(got.length, row.problems.length, `problems: ${JSON.stringify(got)}`);
      row.problems.forEach(([field, message], i) => {
        assert.is(got[i]!.field, field, JSON.stringify(got[i]));
        assert.match(got[i]!.message, message);
        assert.is(got[i]!.host, 'h1');
        assert.is(got[i]!.task, row.task.name);
      });
    });
  }
}
