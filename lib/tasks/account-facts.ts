import { fact, type Fact } from '../core/fact.ts';
import { quote } from '../core/shell.ts';

/** A user as `getent passwd` and `id` show it; `exists: false` on a host without it. */
export interface UserState {
  exists: boolean;
  uid?: number;
  gid?: number;
  comment?: string;
  home?: string;
  shell?: string;
  /** Name of the primary group. */
  primary?: string;
  /** Supplementary groups, by name, as `id -Gn` lists them (the primary one left out). */
  groups: string[];
  /** The user's `~/.ssh/authorized_keys` lines, when asked for; `undefined` = no such file. */
  keys?: string[];
  /** Which of the groups asked about exist on the host. */
  knownGroups: string[];
}

/** A group as `getent group` shows it. */
export interface GroupState {
  exists: boolean;
  gid?: number;
  members: string[];
}

/**
 * One command for everything the `user` task reads: the passwd entry, the
 * primary and supplementary groups, the authorized_keys lines (each framed
 * as `key:…`, so no key text can pass for another field) and which of the
 * named groups exist. Cannot fail on a host without the user.
 */
export function userState(name: string, o: { keys?: boolean; groups?: readonly string[] } = {}): Fact<UserState> {
  const lines = [
    `n=${quote(name)}`,
    'if e=$(getent passwd "$n"); then',
    `  printf 'passwd=%s\\n' "$e"`,
    `  printf 'primary=%s\\n' "$(id -gn "$n" 2>/dev/null)"`,
    `  printf 'groups=%s\\n' "$(id -Gn "$n" 2>/dev/null)"`,
  ];
  if (o.keys) {
    lines.push(
      `  h=$(printf '%s\\n' "$e" | cut -d: -f6)`,
      '  if [ -f "$h/.ssh/authorized_keys" ]; then echo keys=file; sed \'s/^/key:/\' "$h/.ssh/authorized_keys"; fi',
    );
  }
  lines.push('else echo passwd=; fi');
  const groups = [...new Set(o.groups ?? [])].sort();
  if (groups.length) lines.push(`for g in ${groups.map((g) => quote(g)).join(' ')}; do if getent group "$g" >/dev/null; then printf 'known=%s\\n' "$g"; fi; done`);
  return fact(`user:${name}:${o.keys ? 'keys' : ''}:${groups.join(',')}`, lines.join('\n'), parseUserState);
}

export function parseUserState(out: string): UserState {
  const st: UserState = { exists: false, groups: [], knownGroups: [] };
  let keys: string[] | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('key:')) { (keys ??= []).push(line.slice(4)); continue; }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'passwd' && v) {
      const f = v.split(':');
      Object.assign(st, { exists: true, uid: Number(f[2]), gid: Number(f[3]), comment: f[4] ?? '', home: f[5] ?? '', shell: f[6] ?? '' });
    } else if (k === 'primary') st.primary = v;
    else if (k === 'groups') st.groups = v.split(' ').filter((g) => g && g !== st.primary);
    else if (k === 'keys') keys ??= [];
    else if (k === 'known') st.knownGroups.push(v);
  }
  if (keys) st.keys = keys;
  return st;
}

/** `getent group NAME`, framed: `group=` alone when there is none. */
export function groupState(name: string): Fact<GroupState> {
  return fact(`group:${name}`, `printf 'group=%s\\n' "$(getent group ${quote(name)})"`, (out) => {
    const v = /^group=(.*)$/m.exec(out)?.[1] ?? '';
    if (!v) return { exists: false, members: [] };
    const f = v.split(':');
    return { exists: true, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) };
  });
}
