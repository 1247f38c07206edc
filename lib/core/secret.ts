/**
 * Secrets are plain strings at run time (templates and commands need the real
 * value) but every string that reaches output goes through {@link redact}, so
 * a value marked secret never appears on the console, in --diff, --json or -v.
 */

const known = new Set<string>();

/** A string marked as secret. The brand is only for readers of the types. */
export type Secret = string & { readonly __secret?: true };

/**
 * Mark a value as secret: it stays usable but is masked in every output.
 *
 * @example
 * ```ts
 * import { secret } from 'play';
 * const auth = { type: 'PASS' as const, pass: secret('s3cret12') };
 * ```
 */
export function secret(value: string): Secret {
  if (value.length > 0) known.add(value);
  return value as Secret;
}

const MASK = '********';

/** Replace every known secret in `text` with a mask. Longest first, so overlaps mask whole. */
export function redact(text: string): string {
  if (known.size === 0 || !text) return text;
  let out = text;
  for (const s of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(MASK);
  }
  return out;
}

/** Redact every string inside a JSON-able value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
