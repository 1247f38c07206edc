import { changes, noop, type Change } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import { TaskError } from '../core/errors.ts';
import { describe } from '../core/rules.ts';
import { absolutePath, boolean, matching, oneOf, wholeNumber, type ParamProblem } from './checks.ts';
import { accountCommand, authorizedKeysCommand } from './account-commands.ts';
import { userState, type UserState } from './account-facts.ts';

/** Parameters of {@link user}. */
export interface UserParams {
  /** Login name, as useradd accepts it (`alice`, `svc-backup`). */
  name: string;
  /** @default 'present' */
  state?: 'present' | 'absent';
  /** @default the next free uid (a system uid with `system`) */
  uid?: number;
  /** Primary group, by name or gid; it must exist. @default a group named after the user */
  group?: string;
  /** Supplementary groups; they must exist. @default left as they are */
  groups?: readonly string[];
  /** Add `groups` to the user's others instead of making them the exact list. @default false */
  append?: boolean;
  /** Login shell. @default useradd's (Debian: /bin/sh) */
  shell?: string;
  /** Home directory. Changing it on an existing user does not move the old one. @default /home/NAME */
  home?: string;
  /** The GECOS field (full name). */
  comment?: string;
  /** A system account (uid below 1000, no aging); only at creation. @default false */
  system?: boolean;
  /** Create the home directory when creating the user. @default true */
  createHome?: boolean;
  /** With `state: 'absent'`: also remove the home directory and mail spool. @default false */
  remove?: boolean;
  /** SSH public keys that must be in `~/.ssh/authorized_keys`, one per entry. */
  authorizedKeys?: readonly string[];
  /** `authorizedKeys` is the whole file: other keys are removed. @default false */
  exclusiveKeys?: boolean;
}

/** Names useradd accepts on Debian (NAME_REGEX), at most 32 characters. */
const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;
const GROUP_OR_ID = /^(?:[0-9]+|[a-z_][a-z0-9_.-]{0,31}\$?)$/i;

function listProblems(field: string, v: unknown, check: (x: unknown, at: string) => ParamProblem[]): ParamProblem[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return [{ field, message: `must be a list, got ${describe(v)}` }];
  return v.flatMap((x, i) => check(x, `${field}[${i}]`));
}

const keyLine = (x: unknown, at: string): ParamProblem[] =>
  typeof x !== 'string' || x.trim() === '' || /[\n\r\0]/.test(x) ? [{ field: at, message: `must be one public key on one line, got ${describe(x)}` }] : [];

/**
 * Keep a local user account as described (Ansible's `user` plus
 * `authorized_key`): created with `useradd`, corrected with one `usermod`
 * naming every drift (uid, primary group, supplementary groups, shell, home,
 * comment), or removed with `userdel`. Missing groups are found while
 * planning (in check mode after an earlier change, a predicted change).
 * Authorized keys are written atomically, `.ssh` 0700 and the file 0600.
 *
 * @example
 * ```ts
 * import { user } from 'playbook-ts';
 * const deploy = user({ name: 'deploy', shell: '/bin/bash', groups: ['sudo'], append: true, authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx deploy@ci'] });
 * const svc = user({ name: 'lvs-exporter', system: true, shell: '/usr/sbin/nologin', createHome: false, home: '/nonexistent' });
 * const gone = user({ name: 'olduser', state: 'absent', remove: true });
 * ```
 */
export const user = defineTask<UserParams>({
  kind: 'user',
  keys: ['name', 'state', 'uid', 'group', 'groups', 'append', 'shell', 'home', 'comment', 'system', 'createHome', 'remove', 'authorizedKeys', 'exclusiveKeys'],
  required: ['name'],
  name: (p) => `user ${p.name}${p.state === 'absent' ? ' absent' : ''}`,
  check: (p) => {
    const out = [
      ...matching('name', p.name, USER_NAME, 'a user name (letters, digits, _ . -, not starting with a digit or -, at most 32)'),
      ...oneOf('state', p.state, ['present', 'absent']),
      ...wholeNumber('uid', p.uid, 0, 4294967294),
      ...matching('group', p.group, GROUP_OR_ID, 'a group name or gid'),
      ...listProblems('groups', p.groups, (g, at) => matching(at, g, GROUP_OR_ID, 'a group name or gid')),
      ...absolutePath('shell', p.shell), ...absolutePath('home', p.home),
      ...['append', 'system', 'createHome', 'remove', 'exclusiveKeys'].flatMap((k) => boolean(k, (p as unknown as Record<string, unknown>)[k])),
      ...listProblems('authorizedKeys', p.authorizedKeys, keyLine),
    ];
    if (p.comment !== undefined && (typeof p.comment !== 'string' || /[:\n\r\0]/.test(p.comment))) out.push({ field: 'comment', message: `must be a string without ':' or newlines (it is a passwd field), got ${describe(p.comment)}` });
    if (p.state === 'absent') {
      for (const k of ['uid', 'group', 'groups', 'append', 'shell', 'home', 'comment', 'system', 'createHome', 'authorizedKeys', 'exclusiveKeys'] as const) {
        if (p[k] !== undefined) out.push({ field: k, message: `does not apply to state 'absent'` });
      }
    } else if (p.remove !== undefined) out.push({ field: 'remove', message: `only applies to state 'absent'` });
    if (p.append !== undefined && p.groups === undefined) out.push({ field: 'append', message: 'needs groups' });
    if (p.exclusiveKeys !== undefined && p.authorizedKeys === undefined) out.push({ field: 'exclusiveKeys', message: 'needs authorizedKeys' });
    return out;
  },
  facts: (p) => [stateFact(p)],
  plan: async (p, ctx) => {
    const task = `user ${p.name}${p.state === 'absent' ? ' absent' : ''}`;
    const st = await ctx.fact(stateFact(p));
    if (p.state === 'absent') {
      if (!st.exists) return noop(`user ${p.name} is absent`);
      return changes([{ summary: `remove user ${p.name}${p.remove ? ' and its home' : ''}`, exec: accountCommand('userdel', p.remove ? [['-r', undefined]] : [], p.name) }]);
    }
    // Groups must exist before useradd/usermod names them.
    const needed = [...(p.group !== undefined && !/^\d+$/.test(p.group) ? [p.group] : []), ...(p.groups ?? []).filter((g) => !/^\d+$/.test(g))];
    const missing = needed.filter((g) => !st.knownGroups.includes(g));
    let predicted: string | undefined;
    if (missing.length) {
      const what = `group${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
      if (ctx.pending.length === 0) throw new TaskError(ctx.host.name, task, `${what} ${missing.length > 1 ? 'do' : 'does'} not exist on this host (create ${missing.length > 1 ? 'them' : 'it'} first, e.g. with the group task)`);
      predicted = `${what} ${missing.length > 1 ? 'do' : 'does'} not exist yet, expected from an earlier change`;
    }
    const out: Change[] = [];
    const notes: string[] = [];
    const account = st.exists ? modify(p, st) : create(p);
    if (account) out.push({ ...account, predicted });
    else notes.push(`user ${p.name} is up to date`);
    if (p.authorizedKeys) {
      const keys = planKeys(p, st);
      if (keys) out.push(keys);
      else notes.push(`${p.name}'s authorized_keys ${p.exclusiveKeys ? 'holds exactly' : 'has'} the ${p.authorizedKeys.length} key${p.authorizedKeys.length === 1 ? '' : 's'}`);
    }
    return changes(out, notes);
  },
});

function stateFact(p: UserParams) {
  return userState(p.name, { keys: p.authorizedKeys !== undefined, groups: [...(p.group !== undefined ? [p.group] : []), ...(p.groups ?? [])].filter((g) => !/^\d+$/.test(g)) });
}

function create(p: UserParams): Change {
  const flags: Array<readonly [string, string | undefined]> = [];
  const said: string[] = [];
  if (p.system) { flags.push(['-r', undefined]); said.push('system'); }
  if (p.uid !== undefined) { flags.push(['-u', String(p.uid)]); said.push(`uid ${p.uid}`); }
  if (p.group !== undefined) { flags.push(['-g', p.group]); said.push(`group ${p.group}`); } else flags.push(['-U', undefined]);
  if (p.groups?.length) { flags.push(['-G', p.groups.join(',')]); said.push(`groups ${p.groups.join(',')}`); }
  if (p.shell !== undefined) { flags.push(['-s', p.shell]); said.push(`shell ${p.shell}`); }
  flags.push(['-d', homeOf(p)]);
  flags.push(p.createHome === false ? ['-M', undefined] : ['-m', undefined]);
  if (p.comment !== undefined) flags.push(['-c', p.comment]);
  return { summary: `create user ${p.name}${said.length ? ` (${said.join(', ')})` : ''}`, exec: accountCommand('useradd', flags, p.name) };
}

function modify(p: UserParams, st: UserState): Change | undefined {
  const flags: Array<readonly [string, string | undefined]> = [];
  const drift: string[] = [];
  if (p.uid !== undefined && p.uid !== st.uid) { flags.push(['-u', String(p.uid)]); drift.push(`uid ${st.uid} → ${p.uid}`); }
  if (p.group !== undefined && p.group !== st.primary && p.group !== String(st.gid)) { flags.push(['-g', p.group]); drift.push(`group ${st.primary} → ${p.group}`); }
  if (p.groups !== undefined) {
    const have = new Set(st.groups);
    const want = new Set(p.groups);
    const add = [...want].filter((g) => !have.has(g));
    const drop = p.append ? [] : st.groups.filter((g) => !want.has(g));
    if (add.length || drop.length) {
      flags.push(p.append ? ['-aG', add.join(',')] : ['-G', [...want].join(',')]);
      drift.push(`groups ${[...add.map((g) => `+${g}`), ...drop.map((g) => `-${g}`)].join(' ')}`);
    }
  }
  if (p.shell !== undefined && p.shell !== st.shell) { flags.push(['-s', p.shell]); drift.push(`shell ${st.shell} → ${p.shell}`); }
  if (p.home !== undefined && p.home !== st.home) { flags.push(['-d', p.home]); drift.push(`home ${st.home} → ${p.home} (not moved)`); }
  if (p.comment !== undefined && p.comment !== st.comment) { flags.push(['-c', p.comment]); drift.push(`comment ${JSON.stringify(st.comment)} → ${JSON.stringify(p.comment)}`); }
  if (!flags.length) return undefined;
  return { summary: `change user ${p.name}: ${drift.join(', ')}`, exec: accountCommand('usermod', flags, p.name) };
}

function homeOf(p: UserParams, st?: UserState): string {
  return p.home ?? (st?.exists ? st.home! : `/home/${p.name}`);
}

/** The authorized_keys write, or undefined when the file already says what is wanted. */
function planKeys(p: UserParams, st: UserState): Change | undefined {
  const current = st.keys ?? [];
  const wanted = p.authorizedKeys!.map((k) => k.trim());
  const have = new Set(current.map((l) => l.trim()));
  const lines = p.exclusiveKeys ? [...new Set(wanted)] : [...current, ...[...new Set(wanted)].filter((k) => !have.has(k))];
  const before = current.length ? `${current.join('\n')}\n` : '';
  const after = lines.length ? `${lines.join('\n')}\n` : '';
  if (st.keys !== undefined && after === before) return undefined;
  const home = homeOf(p, st);
  const added = wanted.filter((k) => !have.has(k)).length;
  const removed = p.exclusiveKeys ? current.filter((l) => !wanted.includes(l.trim())).length : 0;
  const path = `${home === '/' ? '' : home}/.ssh/authorized_keys`;
  const parts = [added && `add ${added} key${added === 1 ? '' : 's'}`, removed && `remove ${removed}`].filter(Boolean);
  return {
    summary: `${parts.length ? parts.join(', ') : 'write'} in ${path}`,
    exec: authorizedKeysCommand(p.name, home, after),
    stdin: after,
    diff: { path, before, after },
    failMessage: (r) => `could not write ${path}: ${r.stderr.trim() || `exit ${r.code}`}`,
  };
}
