import { noop } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { TaskError } from '../../lib/core/errors.ts';
import { fact, type Fact } from '../../lib/core/fact.ts';
import { describe } from '../../lib/core/rules.ts';
import { sh } from '../../lib/core/shell.ts';
import type { LvsCluster } from '../lvs/cluster.ts';
import { servicesOf } from '../lvs/cluster.ts';

/** One script keepalived will run: where the cluster declares it, the program, the user it runs as. */
export interface DirectorScript {
  /** The cluster field that declares it, e.g. `cluster.vrrp.trackScripts[0].script`. */
  field: string;
  /** The program: the script line's first word, an absolute path. */
  path: string;
  /** The user it runs as. */
  user: string;
}

/** Parameters of {@link scriptsPresent}. */
export interface ScriptsPresentParams {
  /** The scripts to look for, in the order their problems are told. */
  scripts: readonly DirectorScript[];
  /** Also require each script's user to exist (the director role creates them first, and says false). @default true */
  checkUsers?: boolean;
}

/**
 * The scripts a cluster makes keepalived run on a director: MISC_CHECKs,
 * `vrrp.trackScripts` of kind script, `vrrp.notify`. Read after validation.
 *
 * @example
 * ```ts
 * import { directorScripts } from './scripts-present.ts';
 * import { cluster } from '../../spec/fixtures/inventory/tracking.ts';
 * const scripts = directorScripts(cluster); // chk_nginx's, chk_disk's, the notify scripts
 * ```
 */
export function directorScripts(c: LvsCluster): DirectorScript[] {
  const first = (line: string) => line.split(' ')[0]!;
  const at = c.services ? (i: number) => `cluster.services[${i}].check.script` : () => 'cluster.healthCheck.script';
  const n = c.vrrp?.notify;
  return [
    ...servicesOf(c).flatMap((s, i) => (s.check.kind === 'MISC_CHECK' ? [{ field: at(i), path: first(s.check.script), user: s.check.user }] : [])),
    ...(c.vrrp?.trackScripts ?? []).flatMap((t, i) => (t.kind === 'file' ? [] : [{ field: `cluster.vrrp.trackScripts[${i}].script`, path: first(t.script), user: t.user }])),
    ...(n ? (['master', 'backup', 'fault', 'stop', 'any'] as const).flatMap((k) => (n[k] === undefined ? [] : [{ field: `cluster.vrrp.notify.${k}`, path: first(n[k]!), user: n.user }])) : []),
  ];
}

/** For each path, `x` (an executable file) or `-`; then for each user, `u` (exists) or `-`: one line each, in order. */
function presence(paths: readonly string[], users: readonly string[]): Fact<string[]> {
  const cmd = [
    ...paths.map((p) => sh`if test -f ${p} && test -x ${p}; then echo x; else echo -; fi`),
    ...users.map((u) => sh`if id -u ${u} >/dev/null 2>&1; then echo u; else echo -; fi`),
  ].join('; ');
  return fact(`scripts:${paths.join(',')}|${users.join(',')}`, cmd, (out) => out.split('\n').map((l) => l.trim()).filter(Boolean));
}

const unique = (xs: readonly string[]) => [...new Set(xs)];

/**
 * Assert, read-only, that every script keepalived will run is on the
 * director, executable, and that its user exists. play does not install
 * these scripts (they are yours: a role of your own, run before the
 * director's); keepalived would start without them and quietly disable
 * each one it cannot run — a health check or tracker that never fires.
 * Nothing is changed, in check mode or not.
 *
 * @example
 * ```ts
 * import { scriptsPresent } from './scripts-present.ts';
 * const t = scriptsPresent({ scripts: [{ field: 'cluster.vrrp.trackScripts[0].script', path: '/usr/local/bin/check-nginx', user: 'keepalived_script' }] });
 * ```
 */
export const scriptsPresent = defineTask<ScriptsPresentParams>({
  kind: 'scripts',
  keys: ['scripts', 'checkUsers'],
  required: ['scripts'],
  name: (p) => `keepalived's scripts${p.checkUsers === false ? '' : ' and their users'} exist (${p.scripts.length})`,
  check: (p) => {
    if (!Array.isArray(p.scripts)) return [{ field: 'scripts', message: `must be a list of { field, path, user }, got ${describe(p.scripts)}` }];
    return p.scripts.flatMap((s, i) => (typeof s?.path === 'string' && s.path.startsWith('/') && typeof s.user === 'string' ? [] : [{ field: `scripts[${i}]`, message: `must be { field, path (absolute), user }, got ${describe(s)}` }]));
  },
  facts: (p) => [presence(unique(p.scripts.map((s) => s.path)), p.checkUsers === false ? [] : unique(p.scripts.map((s) => s.user)))],
  plan: async (p, ctx) => {
    const paths = unique(p.scripts.map((s) => s.path)), users = p.checkUsers === false ? [] : unique(p.scripts.map((s) => s.user));
    const seen = await ctx.fact(presence(paths, users));
    const missing = p.scripts.flatMap((s) => [
      ...(seen[paths.indexOf(s.path)] === 'x' ? [] : [`${s.field}: ${s.path} is not an executable file`]),
      ...(p.checkUsers === false || seen[paths.length + users.indexOf(s.user)] === 'u' ? [] : [`${s.field}: user ${s.user} does not exist`]),
    ]);
    const title = `keepalived's scripts and their users exist (${p.scripts.length})`;
    if (missing.length) {
      throw new TaskError(ctx.host.name, title, `on ${ctx.host.name}, keepalived would disable these scripts (play does not install them; install them before the director role):\n${unique(missing).join('\n')}`);
    }
    return noop(`${paths.length === 1 ? `${paths[0]} is` : `${paths.join(', ')} are`} executable, run as ${users.join(', ')}`);
  },
});
