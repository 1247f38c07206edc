/**
 * A fact is a command, a parser and a typed result. The command must not fail
 * on a fresh host (end it with `|| true` where needed): a missing file or
 * package is a fact too. The runner batches the facts of many tasks into one
 * round trip, so `command` must be self-contained shell.
 */
export interface Fact<T> {
  /** Cache key: two facts with the same key are the same question. */
  readonly key: string;
  readonly command: string;
  parse(stdout: string): T;
}

/**
 * Declare a fact.
 *
 * @example
 * ```ts
 * import { fact } from './fact.ts';
 * const kernel = fact('kernel', 'uname -r', (out) => out.trim());
 * ```
 */
export function fact<T>(key: string, command: string, parse: (stdout: string) => T): Fact<T> {
  return { key, command, parse };
}

/**
 * Facts a task reads by name, for its `when` (and for {@link withFacts}'s
 * builder): `{ os: hostFacts.osRelease }`. The names are the user's; the
 * values the facts' own types.
 */
export type FactRecord = Readonly<Record<string, Fact<unknown>>>;

/** The values of a {@link FactRecord}: `{ os: OsRelease }` for `{ os: hostFacts.osRelease }`. */
export type FactValues<F extends FactRecord> = { readonly [K in keyof F]: F[K] extends Fact<infer T> ? T : never };
