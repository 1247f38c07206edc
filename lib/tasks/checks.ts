/**
 * Parameter checks shared by the task kinds. Each returns the problems it
 * found as `field: message` pairs, so `validate()` can list them all at once.
 * Names are restricted here AND quoted when they reach a shell: the regex
 * gives a clear message up front, quoting is what keeps a shell safe.
 */

import * as rules from '../core/rules.ts';

export interface ParamProblem {
  field: string;
  message: string;
}

const shown = rules.describe;

/** A rule's message, if any, as this field's problem. */
export function at(field: string, message: string | undefined): ParamProblem[] {
  return message === undefined ? [] : [{ field, message }];
}

/** `value` must be one of `allowed` (when present). */
export function oneOf(field: string, value: unknown, allowed: readonly string[]): ParamProblem[] {
  return value === undefined ? [] : at(field, rules.oneOf(value, allowed, "'"));
}

/** A whole number from `min` to `max` (when present); a numeric string is refused. */
export function wholeNumber(field: string, value: unknown, min: number, max: number, o?: rules.WholeNumberOptions): ParamProblem[] {
  return value === undefined ? [] : at(field, rules.wholeNumber(value, min, max, o));
}

/** A function (when present): `changedWhen: false` would otherwise be ignored. */
export function func(field: string, value: unknown, what?: string): ParamProblem[] {
  return value === undefined ? [] : at(field, rules.func(value, what));
}

/** An octal mode written as a string, e.g. '0644' (a number like 0o644 is easy to get wrong). */
export function octalMode(field: string, value: unknown): ParamProblem[] {
  if (value === undefined) return [];
  if (typeof value === 'number') return [{ field, message: `must be an octal string such as '0644', got the number ${value}` }];
  if (typeof value !== 'string' || !/^[0-7]{3,4}$/.test(value)) return [{ field, message: `must be an octal string such as '0644', got ${shown(value)}` }];
  return [];
}

/** `value` must be a string matching `re`; `what` says what was expected. */
export function matching(field: string, value: unknown, re: RegExp, what: string): ParamProblem[] {
  if (value === undefined) return [];
  if (typeof value !== 'string' || !re.test(value)) return [{ field, message: `must be ${what}, got ${shown(value)}` }];
  return [];
}

/** An absolute path, without NUL and not the root itself. */
export function absolutePath(field: string, value: unknown): ParamProblem[] {
  if (value === undefined) return [];
  if (typeof value !== 'string' || !value.startsWith('/')) return [{ field, message: `must be an absolute path, got ${shown(value)}` }];
  if (value.includes('\0')) return [{ field, message: 'must not contain a NUL byte' }];
  if (value === '/' || value.endsWith('/')) return [{ field, message: `must name a file or directory, not end with '/', got ${shown(value)}` }];
  if (value.split('/').some((seg) => seg === '.' || seg === '..')) return [{ field, message: `must not contain '.' or '..' segments, got ${shown(value)}` }];
  return [];
}

/** A boolean when present. */
export function boolean(field: string, value: unknown): ParamProblem[] {
  return value === undefined ? [] : at(field, rules.bool(value));
}

/** A user or group: a name as useradd accepts it, or a numeric id. */
export const ACCOUNT = /^(?:[0-9]+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/;

/** A validate command must say where the file goes. */
export function validateCommand(field: string, value: unknown): ParamProblem[] {
  if (value === undefined) return [];
  if (typeof value !== 'string' || !value.includes('%s')) return [{ field, message: `must be a command containing %s (the file to check), got ${shown(value)}` }];
  return [];
}
