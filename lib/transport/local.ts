/**
 * The controller as a host: commands run under `/bin/sh -c` here, with the
 * same contract as the SSH transport (exit status, never a rejection for a
 * failing command, TransportError on timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { TransportError } from '../core/errors.ts';
import type { RunOptions, RunResult, Transport } from '../core/transport.ts';

/** Options of {@link localTransport}. */
export interface LocalOptions {
  /** Per-command timeout when RunOptions.timeoutMs is absent. @default 300_000 */
  readonly commandTimeoutMs?: number;
}

/**
 * A transport running commands on the controller with `/bin/sh -c`.
 *
 * @example
 * ```ts
 * import { localTransport } from './local.ts';
 * const t = localTransport();
 * const { code, stdout } = await t.run('uname -s'); // => 0, 'Linux\n'
 * await t.close();
 * ```
 */
export function localTransport(host = 'controller', o: LocalOptions = {}): Transport {
  const defaultTimeout = o.commandTimeoutMs ?? 300_000;
  const running = new Set<(reason: string) => void>();
  let closed = false;
  let count = 0;

  function run(cmd: string, ro: RunOptions = {}): Promise<RunResult> {
    count++;
    if (closed) return Promise.reject(new TransportError(host, cmd, 'transport is closed'));
    const timeoutMs = ro.timeoutMs ?? defaultTimeout;
    return new Promise((resolve, reject) => {
      // Its own process group, so a timeout kills the whole pipeline and not
      // just the shell (a `sleep` child would otherwise hold stdout open).
      const child = spawn('/bin/sh', ['-c', cmd], { stdio: 'pipe', detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let done = false;
      const finish = (e: TransportError | undefined, r?: RunResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        running.delete(abort);
        if (e) reject(e);
        else resolve(r!);
      };
      const abort = (reason: string) => {
        killGroup(child);
        finish(new TransportError(host, cmd, reason));
      };
      const timer = setTimeout(() => abort(`command timed out after ${timeoutMs / 1000} s`), timeoutMs);
      running.add(abort);

      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      // A command that does not read its input closes the pipe early: not an error.
      child.stdin.on('error', () => {});
      child.on('error', (e) => finish(new TransportError(host, cmd, `cannot start /bin/sh: ${e.message}`)));
      child.on('close', (code, signal) => {
        finish(undefined, exitResult(code, signal, Buffer.concat(out).toString('utf8'), Buffer.concat(err).toString('utf8')));
      });
      child.stdin.end(ro.stdin ?? '');
    });
  }

  return {
    host,
    run,
    get commandCount() {
      return count;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const abort of [...running]) abort('transport closed while the command ran');
    },
  };
}

/**
 * The result of a process that ended by `code` or by `signal`. A signal maps
 * to 128 + its number, as a shell reports it, and is named in stderr so the
 * failure explains itself.
 *
 * @example
 * ```ts
 * import { exitResult } from './local.ts';
 * exitResult(null, 'SIGTERM', '', '').code; // => 143
 * ```
 */
export function exitResult(code: number | null | undefined, signal: string | null | undefined, stdout: string, stderr: string, detail = ''): RunResult {
  if (typeof code === 'number') return { code, stdout, stderr };
  const name = signal ? (signal.startsWith('SIG') ? signal : `SIG${signal}`) : 'an unknown signal';
  const num = constants.signals[name as keyof typeof constants.signals];
  const note = `killed by ${name}${detail ? ` (${detail})` : ''}\n`;
  return {
    code: num === undefined ? 255 : 128 + num,
    stdout,
    stderr: stderr === '' || stderr.endsWith('\n') ? stderr + note : `${stderr}\n${note}`,
  };
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  // The shell may be gone while its children still hold the pipes: kill the group anyway.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
