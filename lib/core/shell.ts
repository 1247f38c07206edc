/**
 * Every value that reaches a remote shell goes through {@link quote}: tasks
 * build commands with the {@link sh} tag so interpolation can never run code.
 */

/** POSIX single-quote a value: the result is always one literal word. */
export function quote(value: string | number): string {
  const s = String(value);
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) && !s.startsWith('-')) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Tagged template: interpolated values are quoted, arrays become several words.
 *
 * @example
 * ```ts
 * import { sh } from './shell.ts';
 * const path = "/tmp/it's $(here)";
 * sh`test -e ${path}`; // => test -e '/tmp/it'\''s $(here)'
 * ```
 */
export function sh(strings: TemplateStringsArray, ...values: Array<string | number | readonly (string | number)[]>): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += Array.isArray(v) ? v.map((x) => quote(x)).join(' ') : quote(v as string | number);
    out += strings[i + 1] ?? '';
  });
  return out;
}
