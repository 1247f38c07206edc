/**
 * Several VRRP instances (active/active): the model's types and their
 * validation. The resolved list every role reads is `instancesOf` in
 * cluster.ts, next to the other derived views of the cluster.
 */
import type { VarProblem } from '../../lib/dsl/role.ts';
import { ipv4 } from '../../lib/core/ipv4.ts';
import { describe, wholeNumber } from '../../lib/core/rules.ts';

/**
 * One VRRP instance of an active/active cluster: its own router id, the
 * VIPs it carries, and each director's priority in it, so each director can
 * be MASTER of one instance and BACKUP of the others.
 *
 * @example
 * ```ts
 * import type { LvsVrrpInstance } from './vrrp-instances.ts';
 * const second: LvsVrrpInstance = { name: 'VI_2', virtualRouterId: 63, vips: ['192.168.56.201'], priorities: { LB1: 100, LB2: 200 } };
 * ```
 */
export interface LvsVrrpInstance {
  /** keepalived's name for it (`vrrp_instance NAME`): a letter, then letters, digits, `_`, `-`. */
  name: string;
  /**
   * Its `virtual_router_id`, 1–255, different for every instance.
   * @default `cluster.virtualRouterId` for the instance carrying `cluster.vip`; required for the others
   */
  virtualRouterId?: number;
  /** The VIPs it carries: each VIP of the cluster (`cluster.vip`, the services' `vip`s) in exactly one instance. */
  vips: readonly string[];
  /**
   * Every director's priority in this instance (1–254, all different): the
   * highest is its MASTER. @default each director's `priority`
   */
  priorities?: Readonly<Record<string, number>>;
}

/**
 * Instances that must change state together (`vrrp_sync_group`): when one
 * fails over, keepalived moves the others with it — e.g. a client-side and
 * a server-side VIP that only work on the same director.
 *
 * @example
 * ```ts
 * import type { VrrpSyncGroup } from './vrrp-instances.ts';
 * const together: VrrpSyncGroup = { name: 'G1', instances: ['VI_1', 'VI_2'] };
 * ```
 */
export interface VrrpSyncGroup {
  /** `vrrp_sync_group NAME`: a letter, then letters, digits, `_`, `-`. */
  name: string;
  /** At least two instance names of `vrrp.instances`; an instance is in one group at most. */
  instances: readonly string[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What {@link instanceProblems} needs to know of the rest of the cluster. */
export interface InstanceContext {
  /** `cluster.vip`. */
  vip: unknown;
  /** `cluster.virtualRouterId`. */
  virtualRouterId: unknown;
  /** Every VIP of the cluster, `cluster.vip` first. */
  vips: readonly string[];
  /** The directors' names. */
  directors: readonly string[];
}

/**
 * The problems of `vrrp.instances` and `vrrp.syncGroups`, each under its
 * field (`cluster.vrrp.instances[1].vips[0]`).
 */
export function instanceProblems(vrrp: Record<string, unknown>, c: InstanceContext, out: VarProblem[]): void {
  const bad = (field: string, message: string | undefined) => { if (message !== undefined) out.push({ field: `cluster.vrrp.${field}`, message }); };
  const names = new Map<string, number>();
  if (vrrp.instances !== undefined) {
    if (!Array.isArray(vrrp.instances)) bad('instances', `must be a list of { name, virtualRouterId?, vips, priorities? }, got ${describe(vrrp.instances)}`);
    else if (vrrp.instances.length === 0) bad('instances', 'needs at least one instance (or leave it out for one instance carrying every VIP)');
    else {
      const carrier = new Map<string, number>();
      const vrids = new Map<number, number>();
      vrrp.instances.forEach((raw: unknown, i) => {
        const at = `instances[${i}]`;
        if (!isRecord(raw)) { bad(at, `must be { name, virtualRouterId?, vips, priorities? }, got ${describe(raw)}`); return; }
        if (typeof raw.name !== 'string' || !NAME.test(raw.name)) bad(`${at}.name`, `must be a letter, then letters, digits, _ or -, at most 32, got ${describe(raw.name)}`);
        else if (names.has(raw.name)) bad(`${at}.name`, `${raw.name} is also instances[${names.get(raw.name)}]'s name`);
        else names.set(raw.name, i);
        const vips: unknown[] = Array.isArray(raw.vips) ? raw.vips : [];
        if (!Array.isArray(raw.vips)) bad(`${at}.vips`, `must list the VIPs this instance carries, got ${describe(raw.vips)}`);
        else if (vips.length === 0) bad(`${at}.vips`, 'is empty: an instance carries at least one VIP (remove the instance instead)');
        vips.forEach((v, j) => {
          if (ipv4(v) === undefined) bad(`${at}.vips[${j}]`, `must be an IPv4 address, got ${describe(v)}`);
          else if (!c.vips.includes(v as string)) bad(`${at}.vips[${j}]`, `${v} is not a VIP of the cluster (cluster.vip or a service's vip: ${c.vips.join(', ')})`);
          else if (carrier.has(v as string)) bad(`${at}.vips[${j}]`, `${v} is also carried by instances[${carrier.get(v as string)}]; a VIP belongs to one instance`);
          else carrier.set(v as string, i);
        });
        const primary = vips.includes(c.vip);
        if (raw.virtualRouterId === undefined && !primary) bad(`${at}.virtualRouterId`, 'is required: only the instance carrying cluster.vip takes cluster.virtualRouterId');
        const vrid = raw.virtualRouterId ?? (primary ? c.virtualRouterId : undefined);
        if (raw.virtualRouterId !== undefined) bad(`${at}.virtualRouterId`, wholeNumber(raw.virtualRouterId, 1, 255));
        if (typeof vrid === 'number' && Number.isInteger(vrid)) {
          // Two instances with one router id on one interface are one router to VRRP: each takes the other's adverts for its own.
          if (vrids.has(vrid)) bad(`${at}.virtualRouterId`, `${vrid} is also instances[${vrids.get(vrid)}]'s; every instance needs its own virtual_router_id`);
          else vrids.set(vrid, i);
        }
        if (raw.priorities !== undefined) {
          if (!isRecord(raw.priorities)) { bad(`${at}.priorities`, `must be an object of director name: priority, got ${describe(raw.priorities)}`); return; }
          const seen = new Map<number, string>();
          for (const [name, p] of Object.entries(raw.priorities)) {
            if (!c.directors.includes(name)) { bad(`${at}.priorities.${name}`, `${name} is not in cluster.directors`); continue; }
            const wrong = wholeNumber(p, 1, 254, { note: '(255 is reserved for the address owner)' });
            if (wrong) bad(`${at}.priorities.${name}`, wrong);
            else if (seen.has(p as number)) bad(`${at}.priorities.${name}`, `${p} is also ${seen.get(p as number)}'s priority in this instance; priorities must differ so one director is its MASTER`);
            else seen.set(p as number, name);
          }
          const missing = c.directors.filter((d) => !Object.hasOwn(raw.priorities as object, d));
          if (missing.length) bad(`${at}.priorities`, `has no priority for ${missing.join(', ')}: give every director one (or leave priorities out for the directors' own)`);
        }
      });
      for (const v of c.vips) if (!carrier.has(v)) bad('instances', `no instance carries ${v}; every VIP of the cluster must be in one instance's vips`);
    }
  }
  if (vrrp.syncGroups === undefined) return;
  if (!Array.isArray(vrrp.syncGroups)) { bad('syncGroups', `must be a list of { name, instances }, got ${describe(vrrp.syncGroups)}`); return; }
  if (vrrp.instances === undefined) bad('syncGroups', 'needs vrrp.instances: with one instance there is nothing to keep together');
  const groupOf = new Map<string, number>();
  const groupNames = new Set<string>();
  vrrp.syncGroups.forEach((raw: unknown, i) => {
    const at = `syncGroups[${i}]`;
    if (!isRecord(raw)) { bad(at, `must be { name, instances }, got ${describe(raw)}`); return; }
    if (typeof raw.name !== 'string' || !NAME.test(raw.name)) bad(`${at}.name`, `must be a letter, then letters, digits, _ or -, at most 32, got ${describe(raw.name)}`);
    else if (groupNames.has(raw.name) || names.has(raw.name)) bad(`${at}.name`, `${raw.name} is already the name of ${groupNames.has(raw.name) ? 'another sync group' : 'an instance'}`);
    else groupNames.add(raw.name);
    const members: unknown[] = Array.isArray(raw.instances) ? raw.instances : [];
    if (!Array.isArray(raw.instances)) bad(`${at}.instances`, `must list instance names of vrrp.instances, got ${describe(raw.instances)}`);
    else if (members.length < 2) bad(`${at}.instances`, `names ${members.length} instance${members.length === 1 ? '' : 's'}: a sync group keeps at least two together`);
    members.forEach((m, j) => {
      if (typeof m !== 'string' || (vrrp.instances !== undefined && !names.has(m))) bad(`${at}.instances[${j}]`, `${describe(m)} is not an instance of vrrp.instances`);
      // keepalived refuses an instance in two groups ("is already a member of sync group").
      else if (groupOf.has(m)) bad(`${at}.instances[${j}]`, `${m} is also in syncGroups[${groupOf.get(m)}]; an instance is in one sync group at most`);
      else groupOf.set(m, i);
    });
  });
}
