import { quote } from '../core/shell.ts';
import { atomicWriteCommand } from './file-commands.ts';
import { sha256 } from './file-plan.ts';

/** One `useradd`/`usermod`/`groupadd`/`groupmod` line: a program, its flags, the name last. */
export function accountCommand(program: string, flags: ReadonlyArray<readonly [string, string | undefined]>, name: string): string {
  const words = [program];
  for (const [flag, value] of flags) words.push(value === undefined ? flag : `${flag} ${quote(value)}`);
  // The name is validated to never start with '-'; `--` keeps it a name anyway.
  return `${words.join(' ')} -- ${quote(name)}`;
}

/**
 * Write `~/.ssh/authorized_keys` for `user`: `.ssh` created 0700 and owned
 * by the user (sshd's StrictModes refuses anything laxer), the file 0600,
 * through the atomic write (checksummed, renamed into place).
 */
export function authorizedKeysCommand(user: string, home: string, text: string): string {
  const dir = `${home === '/' ? '' : home}/.ssh`;
  const owner = `${user}:`;
  return [
    `mkdir -p -- ${quote(dir)} && chown ${quote(owner)} -- ${quote(dir)} && chmod 0700 -- ${quote(dir)} || exit 1`,
    atomicWriteCommand({ path: `${dir}/authorized_keys`, sha256: sha256(text), mode: '0600', chown: owner }),
  ].join('\n');
}
