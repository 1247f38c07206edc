import { createHash } from 'node:crypto';
import { changes, noop, type Change, type Diff, type Plan } from '../core/change.ts';
import { TaskError } from '../core/errors.ts';
import type { Fact } from '../core/fact.ts';
import type { PlanContext } from '../core/task.ts';
import { atomicWriteCommand, attributesCommand, mkdirCommand, removeCommand } from './file-commands.ts';
import { dirOf, fileState, fileText, TEXT_LIMIT, type FileState } from './file-facts.ts';
import { show } from './show.ts';

/** The desired state of one path: what `file`, `template` and `sysctl` plan with. */
export interface FileWanted {
  path: string;
  state: 'file' | 'directory' | 'absent';
  /** Content of a regular file; absent = leave the content (an empty file when missing). */
  content?: string | Uint8Array;
  mode?: string;
  owner?: string;
  group?: string;
  backup?: boolean;
  validate?: string;
}

export interface FilePlanOptions {
  /** Task name for errors. */
  task: string;
  /** The current content, when the caller already read it (no second fetch for the diff). */
  before?: string;
}

/** Facts the file planner reads for `path` (the content only with --diff, see {@link planFile}). */
export function fileFacts(path: string): Fact<unknown>[] {
  return [fileState(path)];
}

export const NOT_FETCHED = '(content not fetched; use --diff)\n';
const NEW_FILE_MODE = '0644';
const NEW_DIR_MODE = '0755';

/**
 * Plan `want` from the host's facts. Compares content by checksum, so the old
 * content crosses the wire only when the user asked for a diff.
 */
export async function planFile(ctx: PlanContext, wanted: FileWanted, o: FilePlanOptions): Promise<Plan> {
  const want = { ...wanted, mode: wanted.mode?.padStart(4, '0') };
  const st = await ctx.fact(fileState(want.path));
  const fail = (message: string): never => { throw new TaskError(ctx.host.name, o.task, message); };
  const out: Change[] = [];
  if (st.stale.length) {
    out.push({
      summary: `remove stale temp file${st.stale.length > 1 ? 's' : ''} ${st.stale.map(show).join(', ')}`,
      exec: removeCommand(st.stale),
    });
  }
  const planned = want.state === 'absent' ? planAbsent(want, st)
    : want.state === 'directory' ? planDirectory(want, st, fail)
    : await planRegular(ctx, want, st, o, fail);
  out.push(...planned.changes);
  return changes(out, planned.notes);
}

function planAbsent(want: FileWanted, st: FileState): Plan {
  if (st.type === 'missing') return noop(`${show(want.path)} is absent`);
  const dir = st.type === 'directory';
  return changes([{ summary: `remove ${dir ? 'directory ' : ''}${show(want.path)}`, exec: removeCommand([want.path], dir) }]);
}

function planDirectory(want: FileWanted, st: FileState, fail: (m: string) => never): Plan {
  if (st.type === 'missing') {
    const mode = want.mode ?? NEW_DIR_MODE;
    return changes([{
      summary: `create directory ${show(want.path)} (${describe(mode, want)})`,
      exec: mkdirCommand(want.path, { mode, chown: chownSpec(want.owner, want.group) }),
    }]);
  }
  if (st.type !== 'directory') fail(`${want.path} exists and is not a directory (it is ${article(st.type)})`);
  return attributes(want, st, 'directory');
}

async function planRegular(ctx: PlanContext, want: FileWanted, st: FileState, o: FilePlanOptions, fail: (m: string) => never): Promise<Plan> {
  if (st.type !== 'file' && st.type !== 'missing') {
    fail(`${want.path} exists and is not a regular file (it is ${article(st.type)}); play does not replace it`);
  }
  const content = want.content ?? (st.type === 'missing' ? '' : undefined);
  const sha = content === undefined ? undefined : sha256(content);
  if (st.type === 'file' && (sha === undefined || sha === st.sha256)) return attributes(want, st, 'file');

  const mode = want.mode ?? st.mode ?? NEW_FILE_MODE;
  // An existing file keeps its owner unless told otherwise; numeric ids so 'UNKNOWN' names survive.
  const chown = chownSpec(want.owner ?? (st.uid === undefined ? undefined : String(st.uid)), want.group ?? (st.gid === undefined ? undefined : String(st.gid)));
  const write: Change = {
    summary: `write ${show(want.path)} (${describe(mode, want)})`,
    exec: atomicWriteCommand({ path: want.path, sha256: sha!, mode, chown, validate: want.validate, backup: want.backup && st.type === 'file' }),
    stdin: content!,
    failMessage: (r) => `could not write ${want.path}: ${r.stderr.trim() || `exit ${r.code}`}`,
  };
  write.diff = await contentDiff(ctx, want.path, st, content!, o.before);
  if (st.type === 'missing' && !st.parent) {
    if (ctx.pending.length === 0) fail(`directory ${dirOf(want.path)} does not exist (needed for ${want.path})`);
    write.predicted = `directory ${show(dirOf(want.path))} does not exist yet, expected from an earlier change`;
  }
  return changes([write]);
}

/** Mode/owner/group drift alone: one chmod/chown change, or a no-op that says so. */
function attributes(want: FileWanted, st: FileState, kind: 'file' | 'directory'): Plan {
  const drift: string[] = [];
  const modeDrift = want.mode !== undefined && want.mode !== st.mode;
  if (modeDrift) drift.push(`mode ${st.mode} → ${want.mode}`);
  const ownerDrift = want.owner !== undefined && !sameAccount(want.owner, st.owner, st.uid);
  if (ownerDrift) drift.push(`owner ${st.owner} → ${want.owner}`);
  const groupDrift = want.group !== undefined && !sameAccount(want.group, st.group, st.gid);
  if (groupDrift) drift.push(`group ${st.group} → ${want.group}`);
  const what = kind === 'directory' ? `directory ${show(want.path)}` : show(want.path);
  if (drift.length === 0) return noop(`${what} is up to date`);
  return changes([{
    summary: `set ${drift.join(', ')} on ${what}`,
    exec: attributesCommand(want.path, {
      chown: chownSpec(ownerDrift ? want.owner : undefined, groupDrift ? want.group : undefined),
      mode: modeDrift ? want.mode : undefined,
    }),
  }]);
}

async function contentDiff(ctx: PlanContext, path: string, st: FileState, content: string | Uint8Array, known?: string): Promise<Diff> {
  const after = displayable(content);
  if (st.type === 'missing') return { path, before: '', after };
  if ((st.size ?? 0) > TEXT_LIMIT) return { path, before: `(${st.size} bytes, not shown)\n`, after };
  if (known === undefined && !ctx.wantDiff) return { path, before: NOT_FETCHED, after };
  const before = known ?? (await ctx.fact(fileText(path)));
  return { path, before: displayable(before), after };
}

/** Text as is; binary or large content as a one-line summary. */
function displayable(content: string | Uint8Array): string {
  const bytes = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  const text = typeof content === 'string' ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8');
  if (text.includes('\0') || text.includes('\uFFFD')) return `(binary content, ${bytes} bytes, sha256 ${sha256(content).slice(0, 12)}…)\n`;
  if (bytes > TEXT_LIMIT) return `(${bytes} bytes, not shown)\n`;
  return text;
}

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

function sameAccount(want: string, name: string | undefined, id: number | undefined): boolean {
  return want === name || want === String(id);
}

function chownSpec(owner?: string, group?: string): string | undefined {
  if (owner === undefined && group === undefined) return undefined;
  return `${owner ?? ''}${group === undefined ? '' : `:${group}`}`;
}

function describe(mode: string, want: FileWanted): string {
  const parts = [`mode ${mode}`];
  if (want.owner !== undefined || want.group !== undefined) parts.push(`owner ${want.owner ?? ''}${want.group === undefined ? '' : `:${want.group}`}`);
  return parts.join(', ');
}

function article(t: string): string {
  return t === 'link' ? 'a symbolic link' : t === 'other' ? 'a special file' : `a ${t}`;
}
