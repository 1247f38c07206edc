/**
 * The exit codes of every `play` command — runs, `play lab`, `play agent`,
 * `play probe` — in one table, so a script reading `$?` never has to know
 * which subcommand it ran: no number means two things. The USAGE text and
 * README's "Exit codes" section are generated from (and checked against)
 * this table.
 *
 * Two commands hand back another program's code on purpose, and say so:
 * `play lab ssh HOST COMMAND` (the remote command's) and
 * `play probe URL -- COMMAND` (the command's).
 */

/** Every exit code, by name. */
export const EXIT = {
  ok: 0,
  /** Nothing was contacted: the mistake is in the input. */
  usage: 1,
  taskFailed: 2,
  internal: 3,
  unreachable: 4,
  labFailed: 5,
  labPrerequisite: 6,
  noLab: 7,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each code means, in the words USAGE and README use. */
export const EXIT_CODES: ReadonlyArray<{ code: ExitCode; meaning: string }> = [
  { code: EXIT.ok, meaning: 'all good' },
  { code: EXIT.usage, meaning: 'usage, playbook, inventory or selection error: nothing was contacted' },
  { code: EXIT.taskFailed, meaning: 'a task failed on some host' },
  { code: EXIT.internal, meaning: 'internal error (a bug in play)' },
  { code: EXIT.unreachable, meaning: 'a host was unreachable, and no task failed on a reached host other than the controller (whose checks, like verify, fail because of it)' },
  { code: EXIT.labFailed, meaning: '`play lab`: a lab step failed' },
  { code: EXIT.labPrerequisite, meaning: '`play lab`: a prerequisite is missing (root, a package apt-get cannot install)' },
  { code: EXIT.noLab, meaning: '`play lab status`/`ssh`: no lab is up' },
  { code: EXIT.interrupted, meaning: 'interrupted (Ctrl-C)' },
];

const PASS_THROUGH = '`play lab ssh HOST COMMAND` and `play probe URL -- COMMAND` exit with the command\'s own code.';

/**
 * The table as plain text for USAGE, one code a line.
 *
 * @example
 * ```ts
 * import { exitCodesText } from './exit-codes.ts';
 * console.log(exitCodesText());
 * ```
 */
export function exitCodesText(): string {
  return [...EXIT_CODES.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning.replace(/`/g, '')}`), `  ${PASS_THROUGH.replace(/`/g, '')}`].join('\n');
}

/**
 * The table as Markdown, exactly as README's "Exit codes" section holds it
 * (a spec checks the README against this).
 *
 * @example
 * ```ts
 * import { exitCodesMarkdown } from './exit-codes.ts';
 * console.log(exitCodesMarkdown());
 * ```
 */
export function exitCodesMarkdown(): string {
  return ['| code | meaning |', '| --- | --- |', ...EXIT_CODES.map((e) => `| **${e.code}** | ${e.meaning} |`), '', PASS_THROUGH].join('\n');
}
