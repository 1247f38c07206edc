import { defineTask } from '../core/define-task.ts';
import { describe } from '../core/rules.ts';
import { type ParamProblem } from './checks.ts';
import { anchorOf, editProblems } from './lineinfile.ts';
import { markers, setBlock } from './line-edit.ts';
import { show } from './show.ts';
import { planTextEdit, textEditFacts, type TextEdit, type TextPlacement } from './text-edit-plan.ts';
import { TaskError } from '../core/errors.ts';

/** Parameters of {@link blockinfile}. */
export interface BlockinfileParams extends TextEdit, TextPlacement {
  /** The lines between the markers; `''` with state `present` removes the block, as Ansible does. */
  block?: string;
  /**
   * The marker line; `{mark}` becomes `markerBegin` or `markerEnd`. Give each
   * block of a file its own marker.
   * @default '# {mark} PLAY MANAGED BLOCK'
   */
  marker?: string;
  /** @default 'BEGIN' */
  markerBegin?: string;
  /** @default 'END' */
  markerEnd?: string;
}

export const DEFAULT_MARKER = '# {mark} PLAY MANAGED BLOCK';

const oneLine = (field: string, v: unknown): ParamProblem[] =>
  v === undefined ? [] : typeof v !== 'string' || v === '' || /[\n\r\0]/.test(v) ? [{ field, message: `must be a non-empty string on one line, got ${describe(v)}` }] : [];

function markersOf(p: BlockinfileParams) {
  return markers(p.marker ?? DEFAULT_MARKER, p.markerBegin ?? 'BEGIN', p.markerEnd ?? 'END');
}

/**
 * Keep a block of lines between two marker lines (Ansible's `blockinfile`):
 * an existing block is replaced in place, a new one inserted after/before an
 * anchor, `state: 'absent'` removes it with its markers. The rest of the file
 * is untouched; the write is the file planner's, atomic and shown as a diff.
 *
 * @example
 * ```ts
 * import { blockinfile } from 'playbook-ts';
 * const hosts = blockinfile({ path: '/etc/hosts', block: '192.168.56.101 lb1\n192.168.56.102 lb2\n', marker: '# {mark} lvs directors' });
 * const gone = blockinfile({ path: '/etc/hosts', marker: '# {mark} old block', state: 'absent' });
 * ```
 */
export const blockinfile = defineTask<BlockinfileParams>({
  kind: 'blockinfile',
  keys: ['path', 'block', 'marker', 'markerBegin', 'markerEnd', 'state', 'insertAfter', 'insertBefore', 'create', 'mode', 'owner', 'group', 'backup', 'validate'],
  required: ['path'],
  name: (p) => `blockinfile ${show(p.path)}${p.state === 'absent' ? ' absent' : ''}`,
  check: (p) => {
    const out = [...editProblems(p), ...oneLine('marker', p.marker), ...oneLine('markerBegin', p.markerBegin), ...oneLine('markerEnd', p.markerEnd)];
    if (typeof p.marker === 'string' && !p.marker.includes('{mark}')) out.push({ field: 'marker', message: `must contain {mark} (so begin and end differ), got ${describe(p.marker)}` });
    if (p.markerBegin !== undefined && p.markerBegin === (p.markerEnd ?? 'END')) out.push({ field: 'markerEnd', message: 'must differ from markerBegin' });
    const state = p.state ?? 'present';
    if (p.block !== undefined && (typeof p.block !== 'string' || p.block.includes('\0'))) out.push({ field: 'block', message: `must be a string without NUL bytes, got ${describe(p.block)}` });
    if (state === 'present' && p.block === undefined) out.push({ field: 'block', message: `is required with state 'present' (use state 'absent' to remove the block)` });
    if (state === 'absent' && p.block !== undefined) out.push({ field: 'block', message: `does not apply to state 'absent'` });
    if (typeof p.block === 'string') {
      const m = typeof p.marker === 'string' || p.marker === undefined ? markersOf(p) : undefined;
      if (m && p.block.split('\n').some((l) => l === m.begin || l === m.end)) out.push({ field: 'block', message: 'must not contain its own marker lines' });
    }
    return out;
  },
  facts: (p) => textEditFacts(p.path),
  plan: (p, ctx) => {
    const task = `blockinfile ${show(p.path)}${p.state === 'absent' ? ' absent' : ''}`;
    const m = markersOf(p);
    const block = p.state === 'absent' ? undefined : p.block;
    return planTextEdit(ctx, p, {
      task,
      absentOk: block === undefined || block === '' ? `${show(p.path)} does not exist: no block to remove` : undefined,
      edit: (text) => {
        const r = setBlock(text, block, m, anchorOf(p));
        if (r.problem) throw new TaskError(ctx.host.name, task, `${p.path} ${r.problem}; fix the file by hand`);
        const summary = r.what === 'removed' ? `remove block ${show(m.begin)}` : `${r.what === 'replaced' ? 'update' : 'add'} block ${show(m.begin)} (${r.count} line${r.count === 1 ? '' : 's'})`;
        return { text: r.text, summary, upToDate: block === undefined || block === '' ? `no block ${show(m.begin)} in ${show(p.path)}` : `block ${show(m.begin)} in ${show(p.path)} is up to date` };
      },
    });
  },
});
