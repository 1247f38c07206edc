import type { FieldProblem } from '../core/errors.ts';
import { changes, noop, type Verdict } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import { describe } from '../core/rules.ts';
import { clip } from '../core/secret.ts';
import { quote, sh } from '../core/shell.ts';
import type { RunResult } from '../core/transport.ts';
import { absolutePath, func, oneOf } from './checks.ts';
import { pathExists } from './path-facts.ts';
import { show } from './show.ts';

/** Parameters of {@link command}. */
export interface CommandParams {
  /**
   * The command. A string is run by `sh -c` as written (pipes, redirections);
   * an array is an argv whose every word is quoted, so values stay literal.
   */
  cmd: string | readonly string[];
  /** Skip when this path exists (the command creates it). */
  creates?: string;
  /** Skip when this path does not exist (the command removes it). */
  removes?: string;
  /** Working directory. */
  chdir?: string;
  /** Text given on standard input. */
  stdin?: string;
  /** Extra environment variables. */
  env?: Readonly<Record<string, string>>;
  /** Decide "changed" from the result. @default every successful run is a change */
  changedWhen?: (r: RunResult) => boolean;
  /** Decide "failed" from the result. @default a non-zero exit code */
  failedWhen?: (r: RunResult) => boolean;
  /**
   * What check mode does with it: `'skip'` reports that it would run;
   * `'run'` runs it anyway, for commands that only read. @default 'skip'
   */
  check?: 'skip' | 'run';
}

function render(p: CommandParams): string {
  const body = typeof p.cmd === 'string' ? p.cmd : p.cmd.map((w) => quote(w)).join(' ');
  const env = Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
  const withEnv = env ? `env ${env} ${typeof p.cmd === 'string' ? `sh -c ${quote(body)}` : body}` : body;
  return p.chdir ? `${sh`cd ${p.chdir}`} && ${withEnv}` : withEnv;
}

/**
 * Run a command: the escape hatch when no typed task fits. Guard it with
 * `creates`/`removes` so a second run does nothing, or say with
 * `changedWhen` when it really changed something.
 *
 * @example
 * ```ts
 * import { command } from 'playbook-ts';
 * const enable = command({ cmd: ['ip', 'link', 'set', 'lo', 'up'], changedWhen: () => false });
 * const once = command({ cmd: 'tar xf /tmp/site.tar -C /srv', creates: '/srv/site' });
 * const probe = command({ cmd: 'ipvsadm -Ln', check: 'run', register: 'ipvs', changedWhen: () => false });
 * ```
 */
export const command = defineTask<CommandParams>({
  kind: 'command',
  keys: ['cmd', 'creates', 'removes', 'chdir', 'stdin', 'env', 'changedWhen', 'failedWhen', 'check'],
  required: ['cmd'],
  name: (p) => clip(`command ${show(typeof p.cmd === 'string' ? p.cmd : p.cmd.join(' '))}`, 80, ''),
  check: (p) => {
    const out: FieldProblem[] = [];
    if (typeof p.cmd === 'string' ? p.cmd.trim() === '' : !Array.isArray(p.cmd) || p.cmd.length === 0) {
      out.push({ field: 'cmd', message: `must be a non-empty string or argv array, got ${describe(p.cmd)}` });
    } else if (typeof p.cmd === 'string') {
      if (p.cmd.includes('\0')) out.push({ field: 'cmd', message: 'must not contain a NUL byte' });
    } else {
      p.cmd.forEach((w, i) => {
        if (typeof w !== 'string') out.push({ field: `cmd[${i}]`, message: `must be a string, got ${describe(w)}` });
        else if (w.includes('\0')) out.push({ field: `cmd[${i}]`, message: 'must not contain a NUL byte (no program can receive one)' });
      });
      // Quoting keeps every word literal for the shell, but `env` (see `env`) reads
      // a first word with '=' as a variable and one with a leading '-' as its option.
      const prog = p.cmd[0];
      if (typeof prog === 'string' && (prog.startsWith('-') || prog.includes('=') || prog.trim() === '')) {
        out.push({ field: 'cmd[0]', message: `must name the program to run, not an option, an assignment or blanks, got ${JSON.stringify(prog)}` });
      }
    }
    out.push(...absolutePath('chdir', p.chdir), ...absolutePath('creates', p.creates), ...absolutePath('removes', p.removes));
    out.push(...oneOf('check', p.check, ['skip', 'run']));
    // A boolean here (`changedWhen: false`) would crash the judge after the command ran.
    out.push(...func('changedWhen', p.changedWhen, '(result) => boolean'), ...func('failedWhen', p.failedWhen, '(result) => boolean'));
    if (p.stdin !== undefined && typeof p.stdin !== 'string') out.push({ field: 'stdin', message: `must be a string, got ${describe(p.stdin)}` });
    if (p.env !== undefined && (typeof p.env !== 'object' || p.env === null || Array.isArray(p.env))) out.push({ field: 'env', message: `must be an object of NAME: value, got ${describe(p.env)}` });
    for (const [k, v] of Object.entries(typeof p.env === 'object' && p.env ? p.env : {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) out.push({ field: `env.${k}`, message: 'is not a valid environment variable name' });
      else if (typeof v !== 'string' || v.includes('\0')) out.push({ field: `env.${k}`, message: 'must be a string without NUL bytes' });
    }
    return out;
  },
  facts: (p) => [p.creates, p.removes].filter((x): x is string => !!x).map(pathExists),
  plan: async (p, ctx) => {
    if (p.creates && (await ctx.fact(pathExists(p.creates)))) return noop(`${p.creates} exists`);
    if (p.removes && !(await ctx.fact(pathExists(p.removes)))) return noop(`${p.removes} does not exist`);
    const exec = render(p);
    const judge = (r: RunResult): Verdict => {
      const failed = p.failedWhen ? p.failedWhen(r) : r.code !== 0;
      return { failed, changed: !failed && (p.changedWhen ? p.changedWhen(r) : true) };
    };
    return changes([{ summary: `run ${clip(show(exec), 97)}`, exec, stdin: p.stdin, readOnly: p.check === 'run', judge }]);
  },
});
