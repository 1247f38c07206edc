/**
 * The command lines the SSH transport sends: a command bounded by a
 * deadline the host itself enforces, and a command run through sudo. Pure
 * text, so each is tested on its own.
 */
import { randomBytes } from 'node:crypto';
import { quote } from '../core/shell.ts';

/** How long after the TERM the host's `timeout` sends KILL. */
const KILL_AFTER_S = 2;
/** The controller's own timer waits this long past a deadline for the host's word on it. */
export const DEADLINE_GRACE_MS = (KILL_AFTER_S + 1) * 1000;

/**
 * `cmd` stopped on the host at its deadline: coreutils' `timeout` sends TERM
 * to the command's whole process group, then KILL 2 s later, and exits 124
 * (137 after KILL). Without it, a command the controller gave up on would go
 * on running on the host, holding one of sshd's sessions, since closing the
 * channel only closes the command's pipes.
 *
 * @example
 * ```ts
 * import { withDeadline } from './ssh-commands.ts';
 * withDeadline('sleep 30', 500); // => "exec timeout -k 2 0.5 sh -c 'sleep 30'"
 * ```
 */
export function withDeadline(cmd: string, timeoutMs: number): string {
  return `exec timeout -k ${KILL_AFTER_S} ${timeoutMs / 1000} sh -c ${quote(cmd)}`;
}

/** How a command runs with privilege escalation: see {@link becomeCommand}. */
export interface BecomeCommand {
  /** The command line to execute. */
  command: string;
  /**
   * With a password: the prompt sudo was told to print on stderr when it wants
   * the password, and the line the wrapped shell prints on stdout once sudo has
   * let it run. Both are random per command, so no output can fake them.
   */
  markers?: { prompt: string; success: string };
}

/**
 * The command line that runs `cmd` with privilege escalation. Root needs no
 * sudo. Without a password, `sudo -n` fails at once rather than prompting.
 * With one, it is done as Ansible does: `sudo -S` prints a random prompt on
 * stderr if (and only if) it wants the password, and the shell it starts
 * prints a random success line before running `cmd`, so the caller writes the
 * password only when asked and the command's input only once sudo is done
 * reading — a host whose sudo needs no password never gets it as input.
 *
 * @example
 * ```ts
 * import { becomeCommand } from './ssh-commands.ts';
 * becomeCommand('id -u', { user: 'deploy', become: true });
 * // => { command: "sudo -n -- sh -c 'id -u'" }
 * becomeCommand('id -u', { user: 'deploy', become: true, becomePassword: 'pw' }, { prompt: 'P', success: 'OK' });
 * // => { command: `sudo -S -p P -- sh -c 'echo OK; exec sh -c "$0"' 'id -u'`, markers: { prompt: 'P', success: 'OK' } }
 * ```
 */
export function becomeCommand(
  cmd: string,
  o: { user?: string; become?: boolean; becomePassword?: string },
  markers: { prompt: string; success: string } = becomeMarkers(),
): BecomeCommand {
  if (!o.become || (o.user ?? 'root') === 'root') return { command: cmd };
  if (o.becomePassword === undefined) return { command: `sudo -n -- sh -c ${quote(cmd)}` };
  // `$0` of the outer shell is `cmd`; the inner shell gets `sh` as its own $0, as without a password.
  const wrapper = `echo ${markers.success}; exec sh -c "$0"`;
  return { command: `sudo -S -p ${quote(markers.prompt)} -- sh -c ${quote(wrapper)} ${quote(cmd)}`, markers };
}

/** Fresh random markers. No `%` (sudo expands %u, %h… in prompts), nothing a shell would touch in `echo`. */
function becomeMarkers(): { prompt: string; success: string } {
  const key = randomBytes(16).toString('hex');
  return { prompt: `[sudo via play, key=${key}] password:`, success: `PLAY-BECOME-SUCCESS-${key}` };
}
