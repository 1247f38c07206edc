/**
 * Secrets are plain strings at run time (templates and commands need the real
 * value) but every string that reaches output goes through {@link redact}, so
 * a value marked secret never appears on the console, in --diff, --json or -v.
 */

/** Each known secret with the forms it takes in output (see {@link forms}). */
const known = new Map<string, readonly string[]>();

/** A string marked as secret. The brand is only for readers of the types. */
export type Secret = string & { readonly __secret?: true };

/**
 * Mark a value as secret: it stays usable but is masked in every output.
 *
 * @example
 * ```ts
 * import { secret } from 'playbook-ts';
 * const auth = { type: 'PASS' as const, pass: secret('s3cret12') };
 * ```
 */
export function secret(value: string): Secret {
  if (value.length > 0 && !known.has(value)) known.set(value, forms(value));
  return value as Secret;
}

/**
 * A secret as it appears in output: as is, inside a shell single-quoted word
 * (`it's` → `it'\''s`, what -v shows of a quoted argument) and inside a JSON
 * string (`a"b` → `a\"b`, how messages show values).
 */
function forms(s: string): string[] {
  return [...new Set([s, s.replace(/'/g, `'\\''`), JSON.stringify(s).slice(1, -1)])];
}

const MASK = '********';

/**
 * Replace every known secret in `text` with a mask. Every occurrence of every
 * secret is found in the original text first and the union is masked, so
 * secrets that contain or overlap each other leave no character behind.
 */
export function redact(text: string): string {
  if (known.size === 0 || !text) return text;
  let covered: Uint8Array | undefined;
  for (const fs of known.values()) {
    for (const f of fs) {
      for (let i = text.indexOf(f); i >= 0; i = text.indexOf(f, i + 1)) (covered ??= new Uint8Array(text.length)).fill(1, i, i + f.length);
    }
  }
  if (!covered) return text;
  let out = '';
  for (let i = 0; i < text.length;) {
    const j = covered.indexOf(covered[i]! ? 0 : 1, i);
    const end = j < 0 ? text.length : j;
    out += covered[i] ? MASK : text.slice(i, end);
    i = end;
  }
  return out;
}

/**
 * The first `max` characters of `text` and `ellipsis` when it is longer, for
 * display. Redacts first: a cut through a secret would leave its start,
 * which redaction no longer recognises.
 */
export function clip(text: string, max: number, ellipsis = '...'): string {
  const safe = redact(text);
  return safe.length > max ? `${safe.slice(0, max)}${ellipsis}` : safe;
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
