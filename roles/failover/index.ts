import { changes } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { defineRole, type InventoryRule } from '../../lib/dsl/role.ts';
import { wholeNumber } from '../../lib/tasks/checks.ts';
import { clusterRule, instancesOf, servicesOf, type LvsCluster, type LvsVars } from '../lvs/cluster.ts';
import { topologyOf } from '../verify/index.ts';
import type { Topology } from '../verify/checks.ts';
import { runDrill, type DrillMove } from './drill.ts';

/** Parameters of {@link failoverDrill}. */
export interface FailoverDrillParams {
  topology: Topology;
  /** Longest acceptable failover and failback, ms (the failback waits up to 8 s for the connections to sync: CATCH_UP_MS). @default 20000 */
  limitMs?: number;
  /** How often to look for the VIP while it moves, ms. @default 50 */
  pollMs?: number;
}

/**
 * The failover drill as a task: a change (it stops and starts keepalived),
 * so check mode only says what it would do.
 *
 * @example
 * ```ts
 * import { failoverDrill } from './index.ts';
 * declare const topology: import('../verify/checks.ts').Topology;
 * const drill = failoverDrill({ topology, limitMs: 10_000 });
 * ```
 */
export const failoverDrill = defineTask<FailoverDrillParams>({
  kind: 'failover',
  keys: ['topology', 'limitMs', 'pollMs'],
  required: ['topology'],
  name: () => 'failover drill',
  check: (p) => [...wholeNumber('limitMs', p.limitMs, 1, 2 ** 31, { unit: 'ms' }), ...wholeNumber('pollMs', p.pollMs, 1, 60_000, { unit: 'ms' })],
  plan: async (p) => {
    const moves = drillMoves(p.topology.cluster);
    const o = { limitMs: p.limitMs ?? 20_000, pollMs: p.pollMs ?? 50 };
    return changes([{
      summary: moves.map((m) => `${m.label}stop keepalived on ${m.master} (MASTER), time the VIP to ${m.backup}, start it again below ${m.backup}, hand the VIP back once the connections are synced to it, time that`).join('; then '),
      what: moves.map((m) => `failover drill ${m.master} → ${m.backup} → ${m.master} (${m.vip}), with HTTP requests to ${m.vip}:${m.port} from the controller`).join('\n'),
      // One after the other, one table: a failed move stops the drill, so the next never starts on a cluster that did not recover.
      apply: async (io) => {
        const rows: string[][] = [];
        const outs: string[] = [];
        let last: Awaited<ReturnType<typeof runDrill>> | undefined;
        for (const m of moves) {
          last = await runDrill(p.topology, m, io, o);
          rows.push(...last.table.rows);
          outs.push(last.stdout);
          if (last.code !== 0) break;
        }
        return { ...last!, stdout: outs.join('\n'), table: { head: last!.table.head, rows } };
      },
      failMessage: (r) => `failover drill failed: ${r.stderr}`,
    }]);
  },
});

/**
 * The failovers the drill runs: one per director that is MASTER of an
 * instance (active/active: each), its VIP going to the next priority of
 * that instance; requests go to the first TCP service on that VIP.
 */
export function drillMoves(c: LvsCluster): DrillMove[] {
  const all = instancesOf(c);
  const masters = [...new Set(all.map((i) => i.master))];
  return masters.map((master) => {
    const i = all.find((x) => x.master === master)!;
    const backup = Object.entries(i.priorities).filter(([n]) => n !== master).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    const vip = i.vips[0]!;
    const svc = servicesOf(c).find((s) => s.vip === vip && s.protocol === 'TCP') ?? servicesOf(c)[0]!;
    return { master, backup, vip, port: svc.port, label: masters.length > 1 ? `${all.filter((x) => x.master === master).map((x) => x.name).join('+')}: ` : '' };
  });
}

/** One director has nowhere to fail over to. Checked once, like the cluster itself. */
const twoDirectors: InventoryRule<LvsVars> = (_inv, hosts) => {
  const short = [...new Set(hosts.map((h) => h.vars.cluster))].filter((c) => {
    const ds: unknown = c?.directors;
    return typeof ds === 'object' && ds !== null && Object.keys(ds).length === 1;
  });
  const out = short.length ? [{ field: 'cluster.directors', message: 'the failover drill needs at least two directors' }] : [];
  // The drill times the failback too: without preemption the VIP never returns, and the drill would fail every time.
  if ([...new Set(hosts.map((h) => h.vars.cluster))].some((c) => c?.vrrp?.nopreempt === true)) {
    out.push({ field: 'cluster.vrrp.nopreempt', message: 'the failover drill measures the VIP failing over and back to the MASTER; with nopreempt it stays on the BACKUP, so the drill cannot run' });
  }
  return out;
};

/**
 * The failover drill (never part of a site run): VIP to the BACKUP when the
 * MASTER's keepalived stops, and back when it starts — for each director
 * that is MASTER of an instance, one after the other (active/active);
 * times and the share of HTTP requests served meanwhile, as a table.
 *
 * @example
 * ```ts
 * import { definePlaybook } from 'playbook-ts';
 * import { failover } from './index.ts';
 * import type { LvsVars } from '../lvs/cluster.ts';
 * export default definePlaybook<LvsVars>({ name: 'drill', plays: [{ name: 'drill', hosts: 'controller', roles: [failover] }] });
 * ```
 */
export const failover = defineRole<LvsVars>({
  name: 'failover',
  description: 'stop the MASTER, time the VIP to the BACKUP and back',
  inventoryRules: [clusterRule, twoDirectors],
  tasks: ({ vars, inventory }) => [failoverDrill({ topology: topologyOf(vars, inventory.hosts) })],
});

