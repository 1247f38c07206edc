import { fact, type Fact } from '../core/fact.ts';
import { quote } from '../core/shell.ts';

/** Temp files written by the atomic write are named `.<basename>.play-tmp.XXXXXX`. */
export const TEMP_MARK = '.play-tmp.';

/** Old content is fetched for diffs up to this size; larger files get a summary. */
export const TEXT_LIMIT = 256 * 1024;

export type PathType = 'file' | 'directory' | 'link' | 'other' | 'missing';

/** What is at a path, in one command (see {@link fileState}). */
export interface FileState {
  type: PathType;
  /** Four octal digits, e.g. '0644'. */
  mode?: string;
  uid?: number;
  gid?: number;
  /** Names as `stat` shows them ('UNKNOWN' for an id without a name). */
  owner?: string;
  group?: string;
  size?: number;
  /** Only for a readable regular file. */
  sha256?: string;
  /** Does the parent directory exist? */
  parent: boolean;
  /** Temp files an interrupted earlier write left next to the path, as full paths. */
  stale: string[];
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Prefix of the temp files for `path`: the atomic write's mktemp template minus the Xs. */
export function tempPrefix(path: string): string {
  const dir = dirOf(path);
  return `${dir === '/' ? '' : dir}/.${baseOf(path)}${TEMP_MARK}`;
}

/**
 * Type, mode, owner, size and sha256 of a path, whether its parent exists,
 * and stale temp files beside it: one command that cannot fail on a missing
 * path. Output lines: `type=…`, `stat=MODE UID GID SIZE OWNER GROUP`,
 * `sha256=HASH  -`, `parent=yes|no`, `stale=SUFFIX` (the mktemp suffix only:
 * the prefix is ours, so a hostile basename cannot garble the listing).
 */
export function fileState(path: string): Fact<FileState> {
  const prefix = tempPrefix(path);
  const command = [
    `p=${quote(path)}`,
    'if [ -L "$p" ]; then t=link; elif [ -d "$p" ]; then t=directory; elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=other; else t=missing; fi',
    'echo "type=$t"',
    `if [ "$t" != missing ]; then stat -c 'stat=%a %u %g %s %U %G' -- "$p"; fi`,
    `if [ "$t" = file ] && [ -r "$p" ]; then printf 'sha256=%s\\n' "$(sha256sum < "$p")"; fi`,
    `if [ -d ${quote(dirOf(path))} ]; then echo parent=yes; else echo parent=no; fi`,
    `s=${quote(prefix)}`,
    `for f in "$s"*; do if [ -e "$f" ] || [ -L "$f" ]; then printf 'stale=%s\\n' "\${f#"$s"}"; fi; done`,
  ].join('\n');
  return fact(`file:${path}`, command, (out) => parseFileState(out, prefix));
}

export function parseFileState(out: string, prefix: string): FileState {
  const st: FileState = { type: 'missing', parent: false, stale: [] };
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'type') st.type = value as PathType;
    else if (key === 'parent') st.parent = value === 'yes';
    else if (key === 'stale' && value) st.stale.push(prefix + value);
    else if (key === 'sha256') st.sha256 = value.split(' ')[0] || undefined;
    else if (key === 'stat') {
      const [mode, uid, gid, size, owner, group] = value.split(' ');
      st.mode = (mode ?? '').padStart(4, '0');
      st.uid = Number(uid);
      st.gid = Number(gid);
      st.size = Number(size);
      st.owner = owner;
      st.group = group;
    }
  }
  return st;
}

/**
 * The first {@link TEXT_LIMIT}+1 bytes of a file ('' when missing): enough to
 * show a diff, or to edit a small file such as a sysctl.d fragment. A result
 * longer than the limit means the file is larger than that.
 */
export function fileText(path: string): Fact<string> {
  return fact(`file-text:${path}`, `head -c ${TEXT_LIMIT + 1} -- ${quote(path)} 2>/dev/null || true`, (out) => out);
}
