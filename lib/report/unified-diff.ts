import { createTwoFilesPatch } from 'diff';
import type { Diff } from '../core/change.ts';

/** A Diff as unified diff text (the only importer of `diff`). */
export function unifiedDiff(d: Diff): string {
  const name = d.path ?? 'value';
  const patch = createTwoFilesPatch(`${name} (before)`, `${name} (after)`, ensureNl(d.before), ensureNl(d.after), undefined, undefined, { context: 3 });
  // Drop the "=====" banner line createTwoFilesPatch puts first.
  return patch.split('\n').filter((l, i) => !(i === 0 && l.startsWith('==='))).join('\n').trimEnd();
}

const ensureNl = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);
