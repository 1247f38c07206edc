import { parseArgs } from 'node:util';
import { joinNegativeNumbers, parseNumber, type NumberRule } from './number-options.ts';
import { UsageError } from '../core/errors.ts';
import { exitCodesText } from '../core/exit-codes.ts';
import { splitList } from '../engine/select-hosts.ts';
import { DEFAULT_PERSIST_S } from '../agent/protocol.ts';

/** Options of `play <playbook> -i <inventory>`. */
export interface RunArgs {
  playbook: string;
  inventory: string;
  check: boolean;
  diff: boolean;
  /** Each is undefined when not given; an empty list (`--limit=`) is kept so it is an error, never "all". */
  roles?: string[];
  limit?: string[];
  tags?: string[];
  skipTags?: string[];
  forks: number;
  json: boolean;
  verbose: boolean;
  listHosts: boolean;
  listTasks: boolean;
  acceptNewHostKeys: boolean;
  forceHandlers: boolean;
  connectTimeout: number;
  commandTimeout: number;
  /** Seconds the connection agent keeps connections after the run; 0: no agent. */
  persist: number;
  /** File holding the Ansible Vault password (`$ANSIBLE_VAULT_PASSWORD_FILE` when absent). */
  vaultPasswordFile?: string;
}

export type Parsed =
  | { kind: 'help' } | { kind: 'version' } | { kind: 'lab'; argv: string[] } | { kind: 'agent'; argv: string[] } | { kind: 'probe'; argv: string[] } | { kind: 'init'; argv: string[] } | { kind: 'run'; args: RunArgs };

/** Default forks: high enough that the seed's 4 hosts and a 50-host inventory run at once. */
export const DEFAULT_FORKS = 64;

export const USAGE = `play — playbooks, roles and inventories in TypeScript

Usage:
  play <playbook> -i <inventory> [options]
  play lab up [-i inventory] [--ipvs] [--release bookworm|trixie] | down | status | ssh HOST [command…]
  play lab reboot HOST… | cut HOST [--vrrp-only] [--from PEER] [--for S] | heal HOST…
  play agent status [--json] | stop
  play probe URL [--every MS] [--timeout MS] [--for S] [-- COMMAND…]
  play init [DIR]

A bare name resolves as given, else under playbooks/ (playbook) or inventory/
(inventory), with or without .ts: \`play site -i inventory\`.

Options:
  -i, --inventory FILE       inventory (TypeScript, default export), or Ansible's
                             hosts.ini / hosts.yml with group_vars/ and host_vars/
  -C, --check                plan and print, change nothing
  -D, --diff                 show file and value diffs
      --role NAME            run only this role (repeatable, or a,b)
  -l, --limit HOSTS          only these hosts or groups (a,b); empty is an error
  -t, --tags TAGS            only tasks with these tags (a,b); 'always' always runs
      --skip-tags TAGS       leave out tasks with any of these tags (a,b), as
                             Ansible: an 'always' task too if one of its tags is named
  -f, --forks N              hosts worked on at once, ≥ 1 (default ${DEFAULT_FORKS})
      --json                 one JSON event per line; the last line is the recap
                             and the exit code, whatever went wrong
  -v, --verbose              commands, exit codes, outputs, reasons for no-ops
      --list-hosts           print the hosts each play would run on, and exit
      --list-tasks           print the tasks each host would run, and exit
      --accept-new-host-keys trust and record unknown host keys (never changed ones)
      --force-handlers       run notified handlers even after a failure
      --connect-timeout S    seconds to wait for a host (default 10)
      --command-timeout S    seconds a single command may take (default 300)
      --persist S            keep SSH connections open S seconds after the run,
                             for the next run to reuse (default $PLAY_PERSIST,
                             else ${DEFAULT_PERSIST_S}; 0: connect afresh, keep nothing)
      --vault-password-file FILE  the Ansible Vault password, for !vault values of an
                             Ansible inventory (default $ANSIBLE_VAULT_PASSWORD_FILE)
  -h, --help                 this text
      --version              print the version

A --limit, --tags, --skip-tags or --role that is empty or selects nothing is
an error (exit 1) that lists what exists; nothing is contacted.

Exit codes (the same for play, play lab, play agent and play probe):
${exitCodesText()}`;

/** Options taking a number: the accepted range, said in the error when a value is outside it. */
const NUMBERS = {
  forks: { min: 1, integer: true, what: 'a whole number of hosts ≥ 1' },
  'connect-timeout': { min: 0.1, integer: false, what: 'a number of seconds ≥ 0.1' },
  'command-timeout': { min: 0.1, integer: false, what: 'a number of seconds ≥ 0.1' },
  persist: { min: 0, integer: false, what: 'a number of seconds ≥ 0 (0: keep nothing)' },
} as const satisfies Record<string, NumberRule>;
type NumberOption = keyof typeof NUMBERS;
const SHORT_NUMBERS: Readonly<Record<string, NumberOption>> = { '-f': 'forks' };

const numberOption = (name: NumberOption, raw: string, from = `--${name}`): number => parseNumber(NUMBERS[name], raw, from);

/** An option's comma list; [] when given empty, undefined when not given. */
const listOption = (values: readonly string[] | undefined): string[] | undefined => (values === undefined ? undefined : splitList(values) ?? []);

/** Parse argv (without node and the script). Throws UsageError with the reason. */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Parsed {
  if (argv[0] === 'lab') return { kind: 'lab', argv: argv.slice(1) };
  if (argv[0] === 'agent') return { kind: 'agent', argv: argv.slice(1) };
  if (argv[0] === 'probe') return { kind: 'probe', argv: argv.slice(1) };
  if (argv[0] === 'init') return { kind: 'init', argv: argv.slice(1) };
  let v;
  try {
    v = parseArgs({
      args: joinNegativeNumbers(argv, Object.keys(NUMBERS), SHORT_NUMBERS),
      allowPositionals: true,
      strict: true,
      options: {
        inventory: { type: 'string', short: 'i' },
        check: { type: 'boolean', short: 'C' },
        diff: { type: 'boolean', short: 'D' },
        role: { type: 'string', multiple: true },
        limit: { type: 'string', short: 'l', multiple: true },
        tags: { type: 'string', short: 't', multiple: true },
        'skip-tags': { type: 'string', multiple: true },
        forks: { type: 'string', short: 'f' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        'list-hosts': { type: 'boolean' },
        'list-tasks': { type: 'boolean' },
        'accept-new-host-keys': { type: 'boolean' },
        'force-handlers': { type: 'boolean' },
        'connect-timeout': { type: 'string' },
        'command-timeout': { type: 'string' },
        persist: { type: 'string' },
        'vault-password-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\nRun play --help for usage.`);
  }
  const o = v.values;
  if (o.help) return { kind: 'help' };
  if (o.version) return { kind: 'version' };
  if (v.positionals.length !== 1) {
    throw new UsageError(v.positionals.length === 0 ? 'missing playbook: play <playbook> -i <inventory>' : `expected one playbook, got: ${v.positionals.join(' ')}`);
  }
  if (!o.inventory) throw new UsageError('missing inventory: play <playbook> -i <inventory>');
  const num = (name: NumberOption, raw: string | undefined, dflt: number, from?: string) => (raw === undefined ? dflt : numberOption(name, raw, from));
  const envPersist = env.PLAY_PERSIST || undefined;
  return {
    kind: 'run',
    args: {
      playbook: v.positionals[0]!,
      inventory: o.inventory,
      check: !!o.check,
      diff: !!o.diff,
      roles: listOption(o.role),
      limit: listOption(o.limit),
      tags: listOption(o.tags),
      skipTags: listOption(o['skip-tags']),
      forks: num('forks', o.forks, DEFAULT_FORKS),
      json: !!o.json,
      verbose: !!o.verbose,
      listHosts: !!o['list-hosts'],
      listTasks: !!o['list-tasks'],
      acceptNewHostKeys: !!o['accept-new-host-keys'],
      forceHandlers: !!o['force-handlers'],
      connectTimeout: num('connect-timeout', o['connect-timeout'], 10),
      commandTimeout: num('command-timeout', o['command-timeout'], 300),
      persist: o.persist !== undefined ? num('persist', o.persist, DEFAULT_PERSIST_S) : num('persist', envPersist, DEFAULT_PERSIST_S, 'PLAY_PERSIST'),
      vaultPasswordFile: o['vault-password-file'] || env.ANSIBLE_VAULT_PASSWORD_FILE || undefined,
    },
  };
}
