/**
 * The controller as a real host for task specs: apply planned changes with
 * /bin/sh, then re-plan against facts read from this machine. Everything
 * happens inside a fresh directory under os.tmpdir().
 */
import { mkdtempSync, readdirSync, rmSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Change, Plan } from '../../lib/core/change.ts';
import type { RunResult } from '../../lib/core/transport.ts';
import type { Task } from '../../lib/core/task.ts';
import { FactCache } from '../../lib/engine/fact-cache.ts';
import { planContext } from '../../lib/engine/plan-context.ts';
import { localTransport } from '../../lib/transport/local.ts';
import { execOf, testHost } from '../support/plan-harness.ts';

export async function planLocally(task: Task<any>, o: { wantDiff?: boolean; pending?: Change[] } = {}): Promise<Plan> {
  const transport = localTransport('local');
  const host = testHost({ name: 'local', local: true });
  const problems = task.validate?.(host) ?? [];
  if (problems.length) throw new Error(`task did not validate: ${JSON.stringify(problems)}`);
  try {
    return await task.plan(planContext({
      host, cache: new FactCache(transport), pending: o.pending ?? [], run: { pending: o.pending?.length ?? 0 }, results: {}, wantDiff: o.wantDiff ?? false,
      reader: async () => { throw new Error('no other hosts'); },
    }));
  } finally {
    await transport.close();
  }
}

/** Run one change's command here, with its stdin (or the one given). A change that applies itself fails the spec. */
export async function applyLocally(change: Change, stdin: string | Uint8Array | undefined = change.stdin): Promise<RunResult> {
  const exec = execOf(change);
  const t = localTransport('local');
  try {
    return await t.run(exec, stdin === undefined ? {} : { stdin });
  } finally {
    await t.close();
  }
}

/** Apply every change, failing loudly on the first that fails. */
export async function applyAll(plan: Plan): Promise<void> {
  for (const c of plan.changes) {
    const r = await applyLocally(c);
    if (r.code !== 0) throw new Error(`"${c.summary}" failed (exit ${r.code}): ${r.stderr}`);
  }
}

export function scratch(prefix: string): { dir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), `play-${prefix}-`));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every path under `dir`, relative, sorted (directories end with '/'). */
export function tree(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base)).sort().flatMap((n) => {
    const rel = base ? `${base}/${n}` : n;
    return lstatSync(join(dir, rel)).isDirectory() ? [`${rel}/`, ...tree(dir, rel)] : [rel];
  });
}
