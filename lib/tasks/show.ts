/**
 * A value shown inside a one-line summary or note: as is when printable,
 * JSON-quoted when it holds control characters (a path with a newline must
 * not break the report's lines).
 */
export function show(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(value) ? JSON.stringify(value) : value;
}
