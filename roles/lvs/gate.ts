import { noop } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { wholeNumber } from '../../lib/tasks/checks.ts';
import { TaskError } from '../../lib/core/errors.ts';
import { KEEPALIVED_CONF } from '../director/index.ts';
import { HANDOVER_FILE } from '../director/keepalived-commands.ts';
import { settle, table } from '../verify/checks.ts';
import type { Topology } from '../verify/checks.ts';
import { healthTargets, judgeHealth, parseReading, readingCommand } from './health.ts';

/** Parameters of {@link clusterHealthy}. */
export interface ClusterHealthyParams {
  topology: Topology;
  /** How long the cluster may take to settle, ms. @default 60000 */
  boundMs?: number;
  /** Poll period, ms. @default 500 */
  everyMs?: number;
}

/**
 * A health gate for rolling changes: waits (bounded) until the LVS cluster
 * serves as it should — each VIP on exactly one director, the one with the
 * highest priority after handover offsets, and every running director's
 * IPVS table listing, for each virtual service, every configured real
 * server its health check passes from there (the check probed as
 * keepalived probes it: TCP connect, HTTP status and digest, the
 * MISC_CHECK script as its user) — and
 * fails with the table when it does not settle, which stops the rollout
 * before the next batch. Read-only; in check mode, with changes planned but
 * not applied, a failing gate is skipped with the reason.
 *
 * @example
 * ```ts
 * import { clusterHealthy } from './gate.ts';
 * declare const topology: import('../verify/checks.ts').Topology;
 * const gate = clusterHealthy({ topology, boundMs: 30_000 });
 * ```
 */
export const clusterHealthy = defineTask<ClusterHealthyParams>({
  kind: 'gate',
  keys: ['topology', 'boundMs', 'everyMs'],
  required: ['topology'],
  name: () => 'cluster healthy',
  check: (p) => [...wholeNumber('boundMs', p.boundMs, 1, 2 ** 31, { unit: 'ms' }), ...wholeNumber('everyMs', p.everyMs, 1, 2 ** 31, { unit: 'ms' })],
  plan: async (p, ctx) => {
    const t = p.topology;
    const c = t.cluster;
    const targets = healthTargets(c, (name) => t.realServers.find((r) => r.name === name)?.address ?? name);
    const cmd = readingCommand(c, targets, HANDOVER_FILE, KEEPALIVED_CONF);
    const readers = await Promise.all(t.directors.map((d) => ctx.reader(d.name)));
    const poll = async () => judgeHealth(c, await Promise.all(readers.map(async (r) => parseReading(r.host.name, c, targets, (await r.run(cmd)).stdout))));
    // In check mode nothing will change while we wait: one look is the answer.
    const bound = ctx.pendingAnywhere > 0 ? 0 : p.boundMs ?? 60_000;
    const start = Date.now();
    const v = await settle(poll, (x) => x.healthy, bound, p.everyMs ?? 500);
    if (v.healthy) return { ...noop(`cluster healthy after ${((Date.now() - start) / 1000).toFixed(1)} s`), table: table(v.rows) };
    if (ctx.pendingAnywhere > 0) {
      return { changes: [], notes: [], table: table(v.rows), skip: `check mode: ${ctx.pendingAnywhere} change(s) planned were not applied, so the cluster's health after them cannot be seen` };
    }
    const why = v.rows.filter((r) => r.pass === 'no').map((r) => `${r.check} on ${r.host}: expected ${r.expected}, saw ${r.seen}`).join('; ');
    throw new TaskError(ctx.host.name, 'cluster healthy', `the cluster did not become healthy within ${bound / 1000} s (${why}); stopping the rollout here`, { table: table(v.rows) });
  },
});
