import { changes, noop } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import { at, matching } from './checks.ts';
import { UNIT_NAME, serviceState, scriptName, unitName } from './service-facts.ts';

/** Parameters of {@link daemonReload}. */
export interface DaemonReloadParams {
  /** The units whose files (or drop-ins) a play writes, e.g. `['lvs-vip']`. */
  units: string[];
}

/**
 * `systemctl daemon-reload`, only when one of `units` needs it: systemd
 * says its file or a drop-in changed on disk since it read them
 * (NeedDaemonReload) — or, in check mode, a unit an earlier change would
 * write. The usual
 * "reload systemd" handler of a role that writes unit files with
 * `template` — Ansible's `systemd: daemon_reload: true` — without the
 * reload the run already did: on a first deployment the unit is loaded
 * when it is first started and `systemctl enable` reloads systemd itself,
 * and a `service` task reloads a stale unit before acting on it, so by
 * handler time there is often nothing left to reload (each reload costs a
 * second or more on a small VM). Without systemd there is nothing to do.
 *
 * @example
 * ```ts
 * import { daemonReload } from 'playbook-ts';
 * const handler = daemonReload({ title: 'reload systemd', units: ['lvs-vip'] });
 * ```
 */
export const daemonReload = defineTask<DaemonReloadParams>({
  kind: 'daemonReload',
  keys: ['units'],
  required: ['units'],
  name: (p) => `reload systemd for ${p.units.map(unitName).join(', ')}`,
  check: (p) => {
    if (!Array.isArray(p.units) || p.units.length === 0) return at('units', 'must be a non-empty list of unit names');
    return p.units.flatMap((u, i) => matching(`units[${i}]`, u, UNIT_NAME, 'a unit name such as lvs-vip or lvs-vip.service'));
  },
  facts: (p) => p.units.map((u) => serviceState(u, scriptName(u))),
  plan: async (p, ctx) => {
    const states = await Promise.all(p.units.map(async (u) => ({ unit: unitName(u), st: await ctx.fact(serviceState(u, scriptName(u))) })));
    const read = states.flatMap(({ unit, st }) => (st.init === 'systemd' ? [{ unit, st }] : []));
    if (read.length < states.length) return noop('PID 1 is not systemd: nothing to reload');
    const stale = read.filter(({ st }) => st.needReload);
    // `systemctl show` loads a unit from disk: not-found means no file, unless an earlier change will write it.
    const coming = ctx.pending.length > 0 ? read.filter(({ st }) => st.load === 'not-found') : [];
    if (stale.length + coming.length === 0) {
      const absent = read.filter(({ st }) => st.load === 'not-found').map((s) => s.unit);
      return noop(`systemd has read the current files of ${read.map((s) => s.unit).join(', ')}${absent.length ? ` (${absent.join(', ')}: no such unit)` : ''}`);
    }
    const why = [...stale.map((s) => `${s.unit} changed on disk`), ...coming.map((s) => `${s.unit} not written yet`)].join(', ');
    return changes([{
      summary: `reload systemd (${why})`, exec: 'systemctl daemon-reload',
      ...(coming.length ? { predicted: `systemd would be reloaded once ${coming.map((s) => s.unit).join(', ')} is written by an earlier change` } : {}),
    }]);
  },
});
