import type { HostView } from '../core/host.ts';
import type { HostOrder, Serial } from '../dsl/playbook.ts';

/** A batch size as written: a count of hosts, or a share of the play's hosts ('30%'). */
type Size = number | `${number}%`;

/** Why a `serial` value is unusable, or undefined when it is fine. */
export function serialProblem(serial: unknown): string | undefined {
  if (serial === undefined) return undefined;
  const list = Array.isArray(serial) ? serial : [serial];
  if (list.length === 0) return 'must not be an empty list';
  for (const s of list) {
    if (typeof s === 'number' && Number.isInteger(s) && s >= 1) continue;
    if (typeof s === 'string' && /^\d+(\.\d+)?%$/.test(s) && Number.parseFloat(s) > 0 && Number.parseFloat(s) <= 100) continue;
    return `must be a whole number ≥ 1, a percentage such as '30%' (0–100 %, not 0), or a list of those; got ${JSON.stringify(s)}`;
  }
  return undefined;
}

/** Why a `maxFailPercentage` value is unusable, or undefined when it is fine. */
export function maxFailProblem(v: unknown): string | undefined {
  if (v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100)) return undefined;
  return `must be a number 0–100, got ${JSON.stringify(v)}`;
}

const sizeOf = (s: Size, total: number): number =>
  // As Ansible: a percentage rounds down, but a batch always has a host.
  // Multiply before dividing: (29 / 100) * 100 is 28.999…, which floors to 28
  // (Ansible's pct_to_int has that slip); 29 * 100 / 100 is 29.
  typeof s === 'number' ? s : Math.max(1, Math.floor((Number.parseFloat(s) * total) / 100));

/**
 * Cut a play's hosts into rolling batches, as Ansible's `serial`: one size,
 * or a list of sizes whose last one repeats ([1, '50%'] = one host first,
 * then half of the hosts at a time). No serial: one batch of every host.
 */
export function splitBatches<T>(items: readonly T[], serial: Serial | undefined): T[][] {
  if (serial === undefined || items.length === 0) return items.length ? [[...items]] : [];
  const sizes = (Array.isArray(serial) ? serial : [serial]) as readonly Size[];
  const out: T[][] = [];
  let i = 0;
  for (let k = 0; i < items.length; k++) {
    const n = sizeOf(sizes[Math.min(k, sizes.length - 1)]!, items.length);
    out.push(items.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Put a play's hosts in the order its batches take them. */
export function orderHosts<V>(hosts: readonly HostView<V>[], order: HostOrder<V> | undefined): HostView<V>[] {
  if (order === undefined || order === 'inventory') return [...hosts];
  if (order === 'reverse_inventory') return [...hosts].reverse();
  // Code-point order, as Ansible's sorted(): the same on every machine, whatever its locale.
  const byName = (a: HostView<V>, b: HostView<V>) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (order === 'sorted') return [...hosts].sort(byName);
  if (order === 'reverse_sorted') return [...hosts].sort((a, b) => byName(b, a));
  const sorted = order(hosts);
  // An ordering function may sort, never add or drop hosts.
  const names = (l: readonly HostView<V>[]) => l.map((h) => h.name).sort().join(',');
  if (names(sorted) !== names(hosts)) throw new Error(`order returned hosts ${sorted.map((h) => h.name).join(', ') || 'none'}, not a reordering of ${hosts.map((h) => h.name).join(', ')}`);
  return [...sorted];
}

/**
 * Does this batch stop the play? More than `maxFailPercentage` of its hosts
 * failed or unreachable. With serial and no percentage given, any failure
 * does: a rolling change stops before it reaches the next batch.
 */
export function batchStops(failed: number, size: number, maxFailPercentage: number | undefined): boolean {
  if (failed === 0 || size === 0) return false;
  return (100 * failed) / size > (maxFailPercentage ?? 0);
}
