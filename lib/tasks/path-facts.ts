import { fact, type Fact } from '../core/fact.ts';
import { sh } from '../core/shell.ts';

/** Does anything exist at `path` (file, directory, link)? */
export function pathExists(path: string): Fact<boolean> {
  return fact(`exists:${path}`, sh`if test -e ${path}; then echo yes; else echo no; fi`, (out) => out.trim() === 'yes');
}
