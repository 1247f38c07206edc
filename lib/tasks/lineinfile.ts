import { defineTask } from '../core/define-task.ts';
import { describe } from '../core/rules.ts';
import { absolutePath, boolean, oneOf, type ParamProblem } from './checks.ts';
import { attributeProblems } from './file.ts';
import { absentLine, lineRegExp, presentLine, type Anchor } from './line-edit.ts';
import { show } from './show.ts';
import { planTextEdit, textEditFacts, type TextEdit, type TextPlacement } from './text-edit-plan.ts';

/** Parameters of {@link lineinfile}. */
export interface LineinfileParams extends TextEdit, TextPlacement {
  /** The line wanted (state `present`), without its newline. */
  line?: string;
  /**
   * Lines this matches are the ones managed: with `present` the last match is
   * replaced by `line`, with `absent` every match is removed. A string is a
   * JavaScript regular expression source.
   */
  regexp?: string | RegExp;
}

/** Problems of a regular expression parameter; a string must compile. */
export function regexpProblems(field: string, v: unknown, keywords: readonly string[] = []): ParamProblem[] {
  if (v === undefined || v instanceof RegExp || (typeof v === 'string' && keywords.includes(v))) return [];
  if (typeof v !== 'string' || v === '') return [{ field, message: `must be a regular expression or its source as a non-empty string${keywords.length ? ` (or ${keywords.map((k) => `'${k}'`).join(', ')})` : ''}, got ${describe(v)}` }];
  try {
    new RegExp(v);
    return [];
  } catch (e) {
    return [{ field, message: `is not a valid regular expression: ${(e as Error).message}` }];
  }
}

/** Where a new line or block goes, from `insertAfter` / `insertBefore`. */
export function anchorOf(p: { insertAfter?: string | RegExp; insertBefore?: string | RegExp }): Anchor | undefined {
  if (p.insertBefore !== undefined) return { before: p.insertBefore === 'BOF' ? 'BOF' : lineRegExp(p.insertBefore) };
  if (p.insertAfter !== undefined) return { after: p.insertAfter === 'EOF' ? 'EOF' : lineRegExp(p.insertAfter) };
  return undefined;
}

/** Shared by `lineinfile` and `blockinfile`: the anchors and the file's attributes. */
export function editProblems(p: { path?: unknown; insertAfter?: unknown; insertBefore?: unknown; create?: unknown; state?: unknown } & Parameters<typeof attributeProblems>[0]): ParamProblem[] {
  const out = [
    ...absolutePath('path', p.path),
    ...oneOf('state', p.state, ['present', 'absent']),
    ...regexpProblems('insertAfter', p.insertAfter, ['EOF']),
    ...regexpProblems('insertBefore', p.insertBefore, ['BOF']),
    ...boolean('create', p.create),
    ...attributeProblems(p),
  ];
  if (p.insertAfter !== undefined && p.insertBefore !== undefined) out.push({ field: 'insertBefore', message: 'give insertAfter or insertBefore, not both' });
  return out;
}

const oneLine = (field: string, v: unknown): ParamProblem[] =>
  v === undefined ? [] : typeof v !== 'string' ? [{ field, message: `must be a string, got ${describe(v)}` }]
    : /[\n\r\0]/.test(v) ? [{ field, message: `must be one line (no newline, carriage return or NUL), got ${JSON.stringify(v)}` }] : [];

/**
 * Keep one line of a text file as wanted, leaving the rest of the file as it
 * is (Ansible's `lineinfile`): replace the last line `regexp` matches, or add
 * the line after/before an anchor, or remove matching lines. The edit is
 * planned from the file's text read in the play's round trip, written by the
 * file planner (atomic, checksummed, `validate`, `backup`), and shown as a diff.
 *
 * @example
 * ```ts
 * import { lineinfile } from 'playbook-ts';
 * const ssh = lineinfile({ path: '/etc/ssh/sshd_config', regexp: /^#?PasswordAuthentication\b/, line: 'PasswordAuthentication no', validate: 'sshd -t -f %s', notify: 'reload ssh' });
 * const hosts = lineinfile({ path: '/etc/hosts', line: '192.168.56.103 rs1', insertAfter: /^127\.0\.1\.1/ });
 * const gone = lineinfile({ path: '/etc/fstab', regexp: '\\s/mnt/old\\s', state: 'absent' });
 * ```
 */
export const lineinfile = defineTask<LineinfileParams>({
  kind: 'lineinfile',
  keys: ['path', 'line', 'regexp', 'state', 'insertAfter', 'insertBefore', 'create', 'mode', 'owner', 'group', 'backup', 'validate'],
  required: ['path'],
  name: (p) => `lineinfile ${show(p.path)}${p.state === 'absent' ? ' absent' : ''}`,
  check: (p) => {
    const out = [...editProblems(p), ...oneLine('line', p.line), ...regexpProblems('regexp', p.regexp)];
    const state = p.state ?? 'present';
    if (state === 'present' && p.line === undefined) out.push({ field: 'line', message: `is required with state 'present'` });
    if (state === 'absent' && p.line === undefined && p.regexp === undefined) out.push({ field: 'regexp', message: `give regexp or line: which lines to remove` });
    if (state === 'absent') for (const k of ['insertAfter', 'insertBefore', 'create'] as const) if (p[k] !== undefined) out.push({ field: k, message: `does not apply to state 'absent'` });
    return out;
  },
  facts: (p) => textEditFacts(p.path),
  plan: (p, ctx) => {
    const task = `lineinfile ${show(p.path)}${p.state === 'absent' ? ' absent' : ''}`;
    const regexp = p.regexp === undefined ? undefined : lineRegExp(p.regexp);
    if (p.state === 'absent') {
      return planTextEdit(ctx, p, {
        task,
        absentOk: `${show(p.path)} does not exist: no line to remove`,
        edit: (text) => {
          const r = absentLine(text, { line: p.line, regexp });
          return { text: r.text, summary: `remove ${r.count} line${r.count === 1 ? '' : 's'}`, upToDate: `no line ${regexp ? `matching ${regexp}` : show(JSON.stringify(p.line))} in ${show(p.path)}` };
        },
      });
    }
    return planTextEdit(ctx, p, {
      task,
      edit: (text) => {
        const r = presentLine(text, p.line!, regexp, anchorOf(p));
        return { text: r.text, summary: `${r.what === 'replaced' ? 'replace' : 'add'} line ${show(JSON.stringify(p.line))}`, upToDate: `${show(p.path)} has the line ${show(JSON.stringify(p.line))}` };
      },
    });
  },
});
