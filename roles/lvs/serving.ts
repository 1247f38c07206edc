import type { RollAnswer, RollDecision } from '../../lib/dsl/playbook.ts';
import { vipsOf, type LvsVars } from './cluster.ts';

/** What one director says: is keepalived running, which IPv4 addresses it holds. */
export const SERVING_COMMAND = "pgrep -x keepalived >/dev/null 2>&1 && echo 'keepalived running'; ip -o -4 addr show 2>/dev/null";

/** Parse {@link SERVING_COMMAND}'s output. */
export function parseServing(stdout: string): { keepalived: boolean; addresses: string[] } {
  const addresses = [...stdout.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
  return { keepalived: /^keepalived running$/m.test(stdout), addresses };
}

/** The answer, from what each director said: the cluster serves while a director holds a VIP or runs keepalived. */
export function servingAnswer(vips: readonly string[], seen: ReadonlyArray<{ name: string; keepalived: boolean; addresses: readonly string[] }>): RollAnswer {
  const holders = seen.flatMap((d) => d.addresses.filter((a) => vips.includes(a)).map((a) => `${d.name} holds ${a}`));
  const running = seen.filter((d) => d.keepalived).map((d) => d.name);
  const why = [...holders, ...(running.length ? [`keepalived runs on ${running.join(', ')}`] : [])];
  if (why.length) return { roll: true, why: `the cluster serves (${why.join('; ')})` };
  return { roll: false, why: `nothing serves yet: no director (${seen.map((d) => d.name).join(', ')}) holds a VIP or runs keepalived` };
}

/**
 * A play's `rollIf` for the LVS cluster's plays: roll while the cluster
 * serves — any director holds one of its VIPs or runs keepalived — and run
 * every host at once when nothing serves yet (a first deployment): no client
 * can lose a request then, and rolling would only cost time. Read-only: one
 * command on each director. A director that cannot be read makes the run
 * roll (the runner's rule for a decision that throws).
 *
 * @example
 * ```ts
 * import { definePlaybook } from 'playbook-ts';
 * import { realserver } from '../realserver/index.ts';
 * import { director, directorOrder } from '../director/index.ts';
 * import { rollWhileServing } from './serving.ts';
 * import type { LvsVars } from './cluster.ts';
 * export default definePlaybook<LvsVars>({
 *   name: 'lvs',
 *   plays: [
 *     { name: 'real servers', hosts: 'realservers', serial: 1, rollIf: rollWhileServing, roles: [realserver] },
 *     // A first deployment runs both plays at once; a live cluster rolls them one after the other.
 *     { name: 'directors', hosts: 'directors', serial: 1, order: directorOrder, rollIf: rollWhileServing, withPrevious: true, roles: [director] },
 *   ],
 * });
 * ```
 */
export const rollWhileServing: RollDecision<LvsVars> = async ({ hosts, inventoryHosts, reader }) => {
  const cluster = [...hosts, ...inventoryHosts].find((h) => h.vars.cluster)?.vars.cluster;
  if (!cluster) throw new Error('no host has a cluster variable');
  const names = Object.keys(cluster.directors);
  const seen = await Promise.all(names.map(async (name) => {
    const r = await (await reader(name)).run(SERVING_COMMAND);
    return { name, ...parseServing(r.stdout) };
  }));
  return servingAnswer(vipsOf(cluster), seen);
};
