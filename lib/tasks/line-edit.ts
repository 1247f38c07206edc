/**
 * The text edits of `lineinfile` and `blockinfile`, as pure functions of
 * the old text: no host, no shell, so each rule of Ansible's modules they
 * follow is a small colocated test away.
 */

/** Where a line or block goes when nothing of ours is in the file yet. */
export type Anchor = { after: RegExp | 'EOF' } | { before: RegExp | 'BOF' };

/** The lines of a text, without the final newline's empty line. */
function linesOf(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Lines back to text: always ending in a newline, as an editor leaves a file. */
function textOf(lines: readonly string[]): string {
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** A regular expression used to test lines one at a time: `g`/`y` would make `test` stateful. */
export function lineRegExp(re: string | RegExp): RegExp {
  const r = typeof re === 'string' ? new RegExp(re) : re;
  return new RegExp(r.source, r.flags.replace(/[gy]/g, ''));
}

/** Index at which to insert, as Ansible does: after/before the LAST matching line, else at the end. */
function insertAt(lines: readonly string[], anchor: Anchor | undefined): number {
  if (!anchor || ('after' in anchor && anchor.after === 'EOF')) return lines.length;
  if ('before' in anchor && anchor.before === 'BOF') return 0;
  const re = 'after' in anchor ? (anchor.after as RegExp) : (anchor.before as RegExp);
  let last = -1;
  lines.forEach((l, i) => { if (re.test(l)) last = i; });
  if (last < 0) return lines.length;
  return 'after' in anchor ? last + 1 : last;
}

export interface LineEdit {
  text: string;
  /** What happened, for the change's summary: `replaced line 3`, `added line`, `removed 2 lines`. */
  what: 'replaced' | 'added' | 'removed' | 'none';
  count: number;
}

/**
 * Ensure `line` is present. With `regexp`, the last line it matches is
 * replaced by `line` (when it is not already `line`); when nothing matches
 * and `line` is not there verbatim, it is inserted at `anchor` (default:
 * the end). Without `regexp`, a verbatim line is enough.
 *
 * @example
 * ```ts
 * import { presentLine } from './line-edit.ts';
 * presentLine('a=1\nb=2\n', 'a=3', /^a=/).text; // 'a=3\nb=2\n'
 * ```
 */
export function presentLine(text: string, line: string, regexp?: RegExp, anchor?: Anchor): LineEdit {
  const lines = linesOf(text);
  if (regexp) {
    let last = -1;
    lines.forEach((l, i) => { if (regexp.test(l)) last = i; });
    if (last >= 0) {
      if (lines[last] === line) return { text, what: 'none', count: 0 };
      lines[last] = line;
      return { text: textOf(lines), what: 'replaced', count: 1 };
    }
  }
  if (lines.includes(line)) return { text, what: 'none', count: 0 };
  lines.splice(insertAt(lines, anchor), 0, line);
  return { text: textOf(lines), what: 'added', count: 1 };
}

/** Remove every line `regexp` matches, or every line equal to `line`. */
export function absentLine(text: string, match: { line?: string; regexp?: RegExp }): LineEdit {
  const lines = linesOf(text);
  const kept = lines.filter((l) => !(match.regexp ? match.regexp.test(l) : l === match.line));
  const count = lines.length - kept.length;
  return count === 0 ? { text, what: 'none', count: 0 } : { text: textOf(kept), what: 'removed', count };
}

/** The two marker lines of a block: `# BEGIN PLAY MANAGED BLOCK` by default. */
export function markers(marker: string, begin: string, end: string): { begin: string; end: string } {
  return { begin: marker.replace('{mark}', begin), end: marker.replace('{mark}', end) };
}

/**
 * Ensure the block between the markers is `block` (`undefined`: no block,
 * markers removed). An existing block is replaced where it is; a new one is
 * inserted at `anchor`. A begin marker without its end is an error, not a
 * guess: returned as `problem`.
 *
 * @example
 * ```ts
 * import { setBlock } from './line-edit.ts';
 * setBlock('x\n', 'a\nb\n', { begin: '# BEGIN', end: '# END' }).text; // 'x\n# BEGIN\na\nb\n# END\n'
 * ```
 */
export function setBlock(text: string, block: string | undefined, m: { begin: string; end: string }, anchor?: Anchor): LineEdit & { problem?: string } {
  const lines = linesOf(text);
  const b = lines.indexOf(m.begin);
  const e = b < 0 ? -1 : lines.indexOf(m.end, b + 1);
  if (b >= 0 && e < 0) return { text, what: 'none', count: 0, problem: `has the line "${m.begin}" but no "${m.end}" after it` };
  const body = block === undefined || block === '' ? undefined : linesOf(block.endsWith('\n') ? block : `${block}\n`);
  if (b < 0) {
    if (!body) return { text, what: 'none', count: 0 };
    lines.splice(insertAt(lines, anchor), 0, m.begin, ...body, m.end);
    return { text: textOf(lines), what: 'added', count: body.length };
  }
  const current = lines.slice(b + 1, e);
  if (body && current.length === body.length && current.every((l, i) => l === body[i])) return { text, what: 'none', count: 0 };
  lines.splice(b, e - b + 1, ...(body ? [m.begin, ...body, m.end] : []));
  return { text: textOf(lines), what: body ? 'replaced' : 'removed', count: body?.length ?? current.length };
}
