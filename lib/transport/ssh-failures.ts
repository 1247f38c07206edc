/** Why a connection failed, in one sentence: ssh2's errors as the user reads them. */
import { ConnectError } from '../core/errors.ts';
import type { HostKeyGuard } from './ssh-host-keys.ts';
import type { AuthSequence } from './ssh-login.ts';

/** What a failed connection attempt was: for the sentence that says why it failed. */
export interface FailureContext {
  host: string;
  where: string;
  address: string;
  user: string;
  connectTimeoutMs: number;
  guard: HostKeyGuard;
  auth: AuthSequence;
}

/** An error as ssh2 rejects with it: `level` says at which stage, `code` the socket's errno. */
export type Ssh2Error = Error & { level?: string; code?: string | number };

/**
 * Turn whatever ssh2 / ssh2-promise rejected with into one sentence: a
 * refused host key first (it is why the handshake stopped), else by ssh2's
 * stage and errno.
 *
 * @example
 * ```ts
 * import { connectFailure } from './ssh-failures.ts';
 * import { hostKeyGuard } from './ssh-host-keys.ts';
 * import { authSequence } from './ssh-login.ts';
 * const e = Object.assign(new Error('connect ECONNREFUSED'), { level: 'client-socket', code: 'ECONNREFUSED' });
 * connectFailure(e, {
 *   host: 'LB1', where: '10.0.0.11:22', address: '10.0.0.11', user: 'root', connectTimeoutMs: 10_000,
 *   guard: hostKeyGuard('LB1', '10.0.0.11', 22, ['/dev/null'], false), auth: authSequence('root', { usable: [], skipped: [] }),
 * }).message; // => 'LB1: cannot connect to 10.0.0.11:22: connection refused'
 * ```
 */
export function connectFailure(e: unknown, c: FailureContext): ConnectError {
  const refused = c.guard.refusal();
  if (refused) return refused;
  if (e === null || e === undefined) return new ConnectError(c.host, `${c.where} closed the connection before login completed`);
  if (!(e instanceof Error)) return new ConnectError(c.host, `cannot connect to ${c.where}: ${String(e)}`);
  const err = e as Ssh2Error;
  switch (err.level) {
    case 'client-authentication':
      return new ConnectError(c.host, err.message === 'All configured authentication methods failed'
        ? c.auth.failure()
        : `authentication failed for ${c.user}: ${err.message}`);
    case 'client-timeout':
      return new ConnectError(c.host, `timed out after ${c.connectTimeoutMs / 1000} s connecting to ${c.where}`);
    case 'client-dns':
      return new ConnectError(c.host, `cannot resolve ${c.address} (${err.code ?? err.message})`);
    case 'client-socket': {
      if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new ConnectError(c.host, `cannot resolve ${c.address} (${err.code})`);
      const why: Record<string, string> = {
        ECONNREFUSED: 'connection refused',
        EHOSTUNREACH: 'no route to host',
        ENETUNREACH: 'network unreachable',
        ETIMEDOUT: 'timed out',
        ECONNRESET: 'connection reset during the SSH handshake',
      };
      return new ConnectError(c.host, `cannot connect to ${c.where}: ${why[String(err.code)] ?? err.message}`);
    }
    default:
      return new ConnectError(c.host, `SSH connection to ${c.where} failed: ${err.message}`);
  }
}
