import { defineTask } from '../../lib/core/define-task.ts';
import { wholeNumber } from '../../lib/tasks/checks.ts';
import { TaskError } from '../../lib/core/errors.ts';
import { CONTROLLER } from '../../lib/dsl/inventory.ts';
import { defineRole } from '../../lib/dsl/role.ts';
import { clusterRule, masterOf, type LvsVars } from '../lvs/cluster.ts';
import { balancingChecks, directorChecks, realServerChecks, table, type Topology } from './checks.ts';

/** Parameters of {@link lvsChecks}. */
export interface LvsChecksParams {
  topology: Topology;
  /** Requests sent to the VIP to judge the spread. @default 10 */
  requests?: number;
  /** How long to wait for VRRP and health checks to settle, ms. @default 20000 */
  settleMs?: number;
}

/**
 * Read-only checks of a running LVS cluster, from the controller. Fails
 * (with the whole table) when any check fails; checks that need IPVS are
 * skipped, with the reason, on kernels without it.
 *
 * @example
 * ```ts
 * import { lvsChecks } from './index.ts';
 * declare const topology: import('./checks.ts').Topology;
 * const t = lvsChecks({ topology, requests: 10 });
 * ```
 */
export const lvsChecks = defineTask<LvsChecksParams>({
  kind: 'verify',
  keys: ['topology', 'requests', 'settleMs'],
  required: ['topology'],
  name: () => 'verify LVS cluster',
  check: (p) => [...wholeNumber('requests', p.requests, 1, 10_000), ...wholeNumber('settleMs', p.settleMs, 0, 2 ** 31, { unit: 'ms' })],
  plan: async (p, ctx) => {
    const settleMs = p.settleMs ?? 20_000;
    const self = await ctx.reader(ctx.host.name);
    const [d, r] = await Promise.all([directorChecks(p.topology, ctx.reader, settleMs), realServerChecks(p.topology, ctx.reader)]);
    const b = await balancingChecks(p.topology, ctx.reader, self, p.requests ?? 10, settleMs);
    const rows = [...d, ...r, ...b];
    const failed = rows.filter((x) => x.pass === 'no');
    const skipped = rows.filter((x) => x.pass === 'skipped');
    if (failed.length && ctx.pendingAnywhere > 0) {
      return { changes: [], notes: [], table: table(rows), skip: `check mode: ${ctx.pendingAnywhere} change(s) planned on the hosts were not applied, so the cluster cannot be verified yet (${failed.length} check(s) fail against today's state)` };
    }
    if (failed.length) {
      const why = failed.map((f) => `${f.check} on ${f.host} (expected ${f.expected}, saw ${f.seen})`).join('; ');
      throw new TaskError(ctx.host.name, 'verify LVS cluster', `${failed.length} of ${rows.length} checks failed: ${why}`, { table: table(rows) });
    }
    return { changes: [], notes: [`${rows.length - skipped.length} checks passed${skipped.length ? `, ${skipped.length} skipped` : ''}`], table: table(rows) };
  },
});

/** The cluster's shape as verify needs it. */
export function topologyOf(vars: LvsVars, hosts: ReadonlyArray<{ name: string; address: string }>): Topology {
  const c = vars.cluster;
  // A play's own tasks (site.ts's gates) build this whatever the cluster
  // holds: a broken one gives an odd topology, never a throw, and
  // clusterRule reports what is wrong with it, once.
  const of = (v: unknown): Record<string, any> => (typeof v === 'object' && v !== null ? v as Record<string, any> : {});
  return {
    cluster: c,
    master: masterOf(c),
    directors: Object.keys(of(c?.directors)).map((name) => ({ name })),
    realServers: Object.entries(of(c?.realServers)).map(([name, rs]) => ({ name, address: hosts.find((h) => h.name === name)?.address ?? name, label: of(rs).label ?? name })),
  };
}

/**
 * Verify a converged LVS cluster (read-only, run on the controller):
 * keepalived active on every director, the VIP on the MASTER only, each real
 * server's VIP on lo, ARP sysctls and page, the IPVS table and the request
 * spread where the directors' kernel has IPVS.
 *
 * @example
 * ```ts
 * import { definePlaybook } from 'playbook-ts';
 * import { verify } from './index.ts';
 * import type { LvsVars } from '../lvs/cluster.ts';
 * export default definePlaybook<LvsVars>({ name: 'check', plays: [{ name: 'verify', hosts: 'controller', roles: [verify] }] });
 * ```
 */
export const verify = defineRole<LvsVars>({
  name: 'verify',
  description: 'read-only checks of the running cluster, as a table',
  inventoryRules: [clusterRule],
  validate: ({ host }) => (host.name === CONTROLLER ? [] : [{ field: 'hosts', message: `verify runs on the controller (hosts: 'controller'), not on ${host.name}` }]),
  tasks: ({ vars, inventory }) => [lvsChecks({ topology: topologyOf(vars, inventory.hosts) })],
});
