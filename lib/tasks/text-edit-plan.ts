import { noop, type Plan } from '../core/change.ts';
import { TaskError } from '../core/errors.ts';
import type { Fact } from '../core/fact.ts';
import type { PlanContext } from '../core/task.ts';
import { fileState, fileText, TEXT_LIMIT } from './file-facts.ts';
import { planFile, type FileWanted } from './file-plan.ts';
import { show } from './show.ts';

/** What `lineinfile` and `blockinfile` edit: a small text file, in place, with the file planner's attributes, backup and validation. */
export interface TextEdit {
  /** Absolute path of the file on the host. */
  path: string;
  /** Create the file when it is missing (mode 0644 unless `mode`); otherwise a missing file is an error. @default false */
  create?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  /** Keep the old file as `path.YYYYmmddHHMMSS~` before changing it. @default false */
  backup?: boolean;
  /** Check the edited file before it replaces `path`; `%s` is the temp file, e.g. `'visudo -cf %s'`. */
  validate?: string;
}

/** Where an edit goes and whether its subject is wanted: shared by `lineinfile` and `blockinfile`. */
export interface TextPlacement {
  /** @default 'present' */
  state?: 'present' | 'absent';
  /** New text goes after the last line matching this, or at the end (`'EOF'`). @default 'EOF' */
  insertAfter?: string | RegExp | 'EOF';
  /** New text goes before the last line matching this, or at the start (`'BOF'`). */
  insertBefore?: string | RegExp | 'BOF';
}

/**
 * Both facts an edit needs, so they arrive in the play's one round trip:
 * the file's state and its text. An edit always reads the old text (it is
 * what gets edited), so the diff costs nothing more.
 */
export function textEditFacts(path: string): Fact<unknown>[] {
  return [fileState(path), fileText(path)];
}

/**
 * Edit a text file through the file planner: `edit` maps the current text
 * (`''` for a missing file) to the wanted text and says what it did; an
 * unchanged text is a no-op with `upToDate` as its reason, anything else is
 * the file planner's atomic write with the before/after diff. Mode and owner
 * drift are planned as for `file`.
 */
export async function planTextEdit(
  ctx: PlanContext,
  e: TextEdit,
  o: { task: string; edit(text: string): { text: string; summary: string; upToDate: string }; absentOk?: string },
): Promise<Plan> {
  const st = await ctx.fact(fileState(e.path));
  const fail = (message: string): never => { throw new TaskError(ctx.host.name, o.task, message); };
  if (st.type === 'missing') {
    // Nothing to take away from a file that is not there.
    if (o.absentOk !== undefined) return noop(o.absentOk);
    if (!e.create) {
      if (ctx.pending.length === 0) fail(`${e.path} does not exist (set create: true to create it)`);
    }
  } else if (st.type !== 'file') {
    fail(`${e.path} exists and is not a regular file; play edits only regular files`);
  }
  if ((st.size ?? 0) > TEXT_LIMIT) fail(`${e.path} is larger than ${TEXT_LIMIT} bytes; play edits only small text files in place`);
  const text = st.type === 'file' ? await ctx.fact(fileText(e.path)) : '';
  const r = o.edit(text);
  const wanted: FileWanted = { path: e.path, state: 'file', mode: e.mode, owner: e.owner, group: e.group, backup: e.backup, validate: e.validate };
  if (r.text === text && st.type === 'file') {
    const attrs = await planFile(ctx, wanted, { task: o.task });
    return attrs.changes.length ? attrs : noop(r.upToDate);
  }
  const planned = await planFile(ctx, { ...wanted, content: r.text }, { task: o.task, before: text });
  const out = planned.changes.map((c) => (c.stdin === undefined ? c : { ...c, summary: `${r.summary} in ${show(e.path)}` }));
  if (st.type === 'missing' && !e.create) {
    // Check mode only (fail() above otherwise): the file comes from an earlier change not applied.
    for (const c of out) c.predicted ??= `${show(e.path)} does not exist yet, expected from an earlier change`;
  }
  return { changes: out, notes: planned.notes };
}
