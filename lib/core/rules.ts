/**
 * The one home of value rules: each takes a value and returns what is wrong
 * with it as the end of a sentence ("must be a whole number 1–255, got the
 * string \"62\""), or `undefined` when it is fine. Callers add the field.
 * Inventories are often untyped (tsx does not type-check), so a rule names
 * a wrong JS type as such: a user who wrote `'62'` must read "the string
 * \"62\"", not "62", or the message contradicts what they see.
 */

/**
 * How a value is shown in a message: `62` for a number, `the string "62"`,
 * `the boolean true`, `an array`, `null`, `undefined`, `a function`, `an object`.
 *
 * @example
 * ```ts
 * import { describe } from './rules.ts';
 * describe('62');   // 'the string "62"'
 * describe(62);     // '62'
 * describe(true);   // 'the boolean true'
 * ```
 */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'number': return String(v);
    case 'string': return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
    case 'boolean': return `the boolean ${v}`;
    case 'function': return 'a function';
    case 'bigint': return `the bigint ${v}`;
    case 'symbol': return 'a symbol';
    default: return v instanceof URL ? `the URL ${v.href}` : 'an object';
  }
}

/** Options of {@link wholeNumber}. */
export interface WholeNumberOptions {
  /** Unit named in the message, e.g. `seconds`: "a whole number of seconds 1–3600". */
  unit?: string;
  /** Said after the range, e.g. "(255 is reserved for the address owner)". */
  note?: string;
}

/**
 * An integer from `min` to `max`, of type number (a numeric string is refused).
 *
 * @example
 * ```ts
 * import { wholeNumber } from './rules.ts';
 * wholeNumber('62', 1, 255); // 'must be a whole number 1–255, got the string "62"'
 * wholeNumber(62, 1, 255);   // undefined
 * ```
 */
export function wholeNumber(v: unknown, min: number, max: number, o: WholeNumberOptions = {}): string | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return undefined;
  const range = max >= 2 ** 31 ? `${min} or more` : `${min}–${max}`;
  return `must be a whole number ${o.unit ? `of ${o.unit} ` : ''}${range}${o.note ? ` ${o.note}` : ''}, got ${describe(v)}`;
}

/**
 * A number (not necessarily whole) above `min`, of type number.
 *
 * @example
 * ```ts
 * import { positiveNumber } from './rules.ts';
 * positiveNumber(0.5, 'seconds'); // undefined
 * ```
 */
export function positiveNumber(v: unknown, unit?: string): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return undefined;
  return `must be a number ${unit ? `of ${unit} ` : ''}above 0, got ${describe(v)}`;
}

/**
 * One of the `allowed` strings.
 *
 * @example
 * ```ts
 * import { oneOf } from './rules.ts';
 * oneOf('tcp', ['TCP', 'UDP']); // 'must be one of TCP, UDP, got the string "tcp"'
 * ```
 */
export function oneOf(v: unknown, allowed: readonly string[], quote = ''): string | undefined {
  if (typeof v === 'string' && allowed.includes(v)) return undefined;
  return `must be one of ${allowed.map((a) => `${quote}${a}${quote}`).join(', ')}, got ${describe(v)}`;
}

/**
 * A string; with `nonEmpty`, one with something other than blanks.
 *
 * @example
 * ```ts
 * import { text } from './rules.ts';
 * text('', { nonEmpty: true }); // 'must be a non-empty string, got the string ""'
 * ```
 */
export function text(v: unknown, o: { nonEmpty?: boolean; what?: string } = {}): string | undefined {
  if (typeof v === 'string' && (!o.nonEmpty || v.trim() !== '')) return undefined;
  return `must be ${o.what ?? (o.nonEmpty ? 'a non-empty string' : 'a string')}, got ${describe(v)}`;
}

/**
 * A boolean: `'yes'`, `1` and `'false'` are refused (the last would be true).
 *
 * @example
 * ```ts
 * import { bool } from './rules.ts';
 * bool('false'); // 'must be true or false, got the string "false"'
 * ```
 */
export function bool(v: unknown): string | undefined {
  return typeof v === 'boolean' ? undefined : `must be true or false, got ${describe(v)}`;
}

/**
 * A function; `what` says what it takes and returns.
 *
 * @example
 * ```ts
 * import { func } from './rules.ts';
 * func(false, '(ctx) => boolean'); // 'must be a function (ctx) => boolean, got the boolean false'
 * ```
 */
export function func(v: unknown, what?: string): string | undefined {
  return typeof v === 'function' ? undefined : `must be a function${what ? ` ${what}` : ''}, got ${describe(v)}`;
}

/**
 * A string or a list of strings: the problem, or the list.
 *
 * @example
 * ```ts
 * import { stringList } from './rules.ts';
 * stringList('web'); // { list: ['web'] }
 * stringList(['web', 3]); // { problem: 'must be a string or a list of strings, got an array with 3 at [1]' }
 * ```
 */
export function stringList(v: unknown): { list: string[] } | { problem: string } {
  if (typeof v === 'string') return v.trim() === '' ? { problem: 'must not be empty or blank' } : { list: [v] };
  if (!Array.isArray(v)) return { problem: `must be a string or a list of strings, got ${describe(v)}` };
  const bad = v.findIndex((x) => typeof x !== 'string' || x.trim() === '');
  if (bad >= 0) return { problem: `must be a string or a list of strings, got an array with ${describe(v[bad])} at [${bad}]` };
  return { list: [...v] };
}
