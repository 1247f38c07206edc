import { changes, type Change } from '../core/change.ts';
import { TaskError } from '../core/errors.ts';
import { quote } from '../core/shell.ts';
import type { RunResult } from '../core/transport.ts';
import { boolean, oneOf, wholeNumber } from './checks.ts';
import { aptCacheAge, aptPolicy, dpkgStatus, UPDATE_STAMP, type Policy } from './dpkg-facts.ts';
import { defineTask } from '../core/define-task.ts';

/** Parameters of {@link apt}. */
export interface AptParams {
  /** One package or several, installed or removed in one apt-get run. */
  name: string | readonly string[];
  /**
   * `present`: installed, any version; `latest`: the candidate version;
   * `absent`: removed (configuration files stay).
   * @default 'present'
   */
  state?: 'present' | 'absent' | 'latest';
  /** Run `apt-get update` first when the package lists are older than `cacheValidTime`. @default false */
  updateCache?: boolean;
  /**
   * Age in seconds under which the package lists count as fresh. The age is
   * read from the host, and play stamps each update it makes, so a second
   * run within this time updates nothing.
   * @default 3600
   */
  cacheValidTime?: number;
  /**
   * Whether an install also brings the packages' Recommends (Ansible's
   * `install_recommends`): `false` installs only what they depend on, as
   * servers with a known job usually want — on Debian 12, keepalived's
   * Recommends pull shared-mime-info and xdg-user-dirs through glib.
   * Unset, the host's apt configuration decides (Debian's default: true).
   * Packages already installed are not touched either way.
   */
  installRecommends?: boolean;
}

/** Debian package names (policy manual 5.6.1). */
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const STATES = ['present', 'absent', 'latest'] as const;

/** apt-get without questions, waiting up to 2 minutes for another apt or dpkg to finish. */
const APT_GET = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120';
const KEEP_CONFIG = '-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';
/** apt-get's option for each `installRecommends` (none when unset: the host's apt configuration decides). */
const RECOMMENDS: Record<string, string> = { true: ' -o APT::Install-Recommends=true', false: ' --no-install-recommends' };

/**
 * Install, upgrade or remove Debian packages: one `dpkg-query` (in the play's
 * batched facts) decides, with `apt-cache policy` when a version must be
 * known (`latest`, or a package to install); one apt-get run acts. The summary names each package and the version it gets.
 *
 * @example
 * ```ts
 * import { apt } from 'playbook-ts';
 * const lb = apt({ name: ['keepalived', 'ipvsadm'], state: 'present' });
 * const web = apt({ name: 'nginx', state: 'latest', updateCache: true, cacheValidTime: 3600 });
 * const gone = apt({ name: 'apache2', state: 'absent' });
 * const lean = apt({ name: 'keepalived', installRecommends: false });
 * ```
 */
export const apt = defineTask<AptParams>({
  kind: 'apt',
  keys: ['name', 'state', 'updateCache', 'cacheValidTime', 'installRecommends'],
  required: ['name'],
  name: (p) => `apt ${namesOf(p).join(', ')}`,
  check: (p) => {
    const out = [...oneOf('state', p.state, STATES), ...boolean('updateCache', p.updateCache), ...boolean('installRecommends', p.installRecommends)];
    const names = namesOf(p);
    if (!Array.isArray(p.name) && typeof p.name !== 'string') out.push({ field: 'name', message: 'must be a package name or a list of them' });
    else if (names.length === 0) out.push({ field: 'name', message: 'must name at least one package' });
    for (const n of names) {
      if (typeof n !== 'string' || !PACKAGE.test(n)) out.push({ field: 'name', message: `${JSON.stringify(n)} is not a Debian package name (lowercase letters, digits, + - .)` });
    }
    out.push(...wholeNumber('cacheValidTime', p.cacheValidTime, 0, 2 ** 31, { unit: 'seconds' }));
    if (p.cacheValidTime !== undefined && !p.updateCache) out.push({ field: 'cacheValidTime', message: 'only applies with updateCache: true' });
    return out;
  },
  // apt-cache policy (~10 ms of CPU on the host: it loads the whole package
  // cache) is gathered up front only for `latest`; `present` asks for it in a
  // second round trip when a package is missing, when an install follows anyway.
  facts: (p) => [dpkgStatus(namesOf(p)), ...(p.state === 'latest' ? [aptPolicy(namesOf(p))] : []), ...(p.updateCache ? [aptCacheAge] : [])],
  plan: async (p, ctx) => {
    const names = namesOf(p);
    const state = p.state ?? 'present';
    const fail = (message: string): never => { throw new TaskError(ctx.host.name, `apt ${names.join(', ')}`, message); };
    const dpkg = await ctx.fact(dpkgStatus(names));
    const needsPolicy = state === 'latest' || (state === 'present' && names.some((n) => !dpkg.get(n)?.installed));
    const policy = needsPolicy ? await ctx.fact(aptPolicy(names)) : new Map<string, Policy>();
    const out: Change[] = [];
    const notes: string[] = [];

    let updating = false;
    if (p.updateCache) {
      const age = await ctx.fact(aptCacheAge);
      const valid = p.cacheValidTime ?? 3600;
      if (age === undefined || age >= valid) {
        updating = true;
        out.push({
          summary: `update the apt cache (${age === undefined ? 'never updated' : `last updated ${ago(age)} ago`})`,
          exec: `${APT_GET} update && mkdir -p ${quote(dirOf(UPDATE_STAMP))} && touch ${UPDATE_STAMP}`,
          failMessage: aptFailure,
        });
      } else notes.push(`the apt cache is fresh (updated ${ago(age)} ago)`);
    }

    const install: string[] = [];
    const said: string[] = [];
    const unsure: string[] = [];
    const remove: string[] = [];
    for (const n of names) {
      const have = dpkg.get(n);
      const installed = have?.installed ? have.version : undefined;
      const candidate = policy.get(n)?.candidate;
      if (state === 'absent') {
        if (installed) remove.push(n);
        else notes.push(`${n} is not installed`);
        continue;
      }
      if (installed && (state === 'present' || !candidate || candidate === installed)) {
        notes.push(state === 'latest' && candidate ? `${n} is the latest version (${installed})` : `${n} is installed (${installed})`);
        continue;
      }
      if (!candidate) {
        // Unknown now, but an update in this task or an earlier pending change may bring it.
        const why = !policy.has(n) ? `E: Unable to locate package ${n}` : `E: Package '${n}' has no installation candidate`;
        if (!updating && ctx.pending.length === 0) fail(why);
        if (ctx.pending.length > 0) unsure.push(`${n} (${why.replace(/^E: /, '')})`);
      }
      install.push(n);
      said.push(installed ? `${n} ${installed} → ${candidate}` : `${n} ${candidate ?? '(version known after the update)'}`);
    }

    if (install.length) {
      const upgrading = install.some((n) => dpkg.get(n)?.installed);
      const change: Change = {
        summary: `${upgrading && install.every((n) => dpkg.get(n)?.installed) ? 'upgrade' : 'install'} ${said.join(', ')}`,
        exec: `${APT_GET} ${KEEP_CONFIG}${RECOMMENDS[String(p.installRecommends)] ?? ''} install ${install.map((n) => quote(n)).join(' ')}`,
        diff: versionsDiff(install, dpkg, (n) => policy.get(n)?.candidate ?? '(candidate)'),
        failMessage: aptFailure,
      };
      if (unsure.length) change.predicted = `not known to apt yet: ${unsure.join(', ')}; expected from an earlier change`;
      out.push(change);
    }
    if (remove.length) {
      out.push({
        summary: `remove ${remove.map((n) => `${n} ${dpkg.get(n)!.version}`).join(', ')}`,
        exec: `${APT_GET} remove ${remove.map((n) => quote(n)).join(' ')}`,
        diff: versionsDiff(remove, dpkg, () => '(absent)'),
        failMessage: aptFailure,
      });
    }
    return changes(out, notes);
  },
});

function namesOf(p: AptParams): string[] {
  return typeof p.name === 'string' ? [p.name] : Array.isArray(p.name) ? [...p.name] : [];
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/** "name: version" lines before and after, for --diff. */
function versionsDiff(names: string[], dpkg: Map<string, { installed: boolean; version: string }>, after: (n: string) => string) {
  const line = (n: string, v: string) => `${n}: ${v}\n`;
  return {
    path: 'packages',
    before: names.map((n) => line(n, dpkg.get(n)?.installed ? dpkg.get(n)!.version : '(absent)')).join(''),
    after: names.map((n) => line(n, after(n))).join(''),
  };
}

/** apt's own error lines (E: …), else the end of its output. */
function aptFailure(r: RunResult): string {
  const text = `${r.stderr}\n${r.stdout}`;
  const errors = text.split('\n').filter((l) => /^E: /.test(l));
  return errors.length ? errors.join('\n') : `apt-get failed (exit ${r.code}):\n${text.trim().split('\n').slice(-10).join('\n')}`;
}

function ago(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
