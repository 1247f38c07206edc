import { changes, outline, type ApplyIO } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import { HostKeyError, TaskError } from '../core/errors.ts';
import { fact } from '../core/fact.ts';
import { positiveNumber } from '../core/rules.ts';
import type { RunResult } from '../core/transport.ts';
import { at, wholeNumber } from './checks.ts';

/** Parameters of {@link reboot}. */
export interface RebootParams {
  /** Seconds the host has to answer again over SSH with a new boot. @default 600 */
  timeout?: number;
  /** Seconds between two reconnection attempts. @default 2 */
  pollInterval?: number;
  /** A shell command that must succeed once the host is back (the host is "ready"). @default 'true' */
  testCommand?: string;
}

/** The kernel's id of the current boot: it changes exactly when the host rebooted. */
export const bootId = fact('boot-id', 'cat /proc/sys/kernel/random/boot_id 2>/dev/null || true', (out) => out.trim());

/**
 * Reboot a little later, from a process that outlives this SSH session, so
 * the command returns before the connection drops: systemd's timer when
 * PID 1 is systemd, a detached shell otherwise.
 */
export const REBOOT_COMMAND = [
  'if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then',
  '  systemd-run --quiet --on-active=2 /bin/systemctl reboot',
  'else',
  `  nohup sh -c 'sleep 2; reboot' >/dev/null 2>&1 &`,
  'fi',
].join('\n');

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/**
 * Reboot, then reconnect until the host answers with a new boot id, then run
 * the test command. The new connection is made as the first was, so a host
 * that comes back with another host key is refused at once (HostKeyError),
 * never waited for.
 */
export async function rebootAndWait(io: ApplyIO, before: string, o: { timeout: number; pollInterval: number; testCommand: string }, now = Date.now): Promise<RunResult> {
  if (!io.reconnect) return { code: 1, stdout: '', stderr: 'this run cannot reconnect to a host, so it cannot reboot one' };
  const start = now();
  const fired = await io.self.run(REBOOT_COMMAND).catch(() => ({ code: 0, stdout: '', stderr: '' }));
  if (fired.code !== 0) return { ...fired, stderr: `the reboot command failed: ${fired.stderr.trim() || `exit ${fired.code}`}` };
  let last = 'no answer yet';
  for (;;) {
    await sleep(o.pollInterval);
    try {
      await io.reconnect();
      const id = (await io.self.run(bootId.command)).stdout.trim();
      if (id && id !== before) {
        const ready = await io.self.run(o.testCommand);
        if (ready.code !== 0) return { ...ready, stderr: `back after ${Math.round((now() - start) / 1000)} s, but the test command failed (exit ${ready.code}): ${(ready.stderr || ready.stdout).trim()}` };
        return { code: 0, stdout: `boot ${before.slice(0, 8)} → ${id.slice(0, 8)}, back after ${Math.round((now() - start) / 1000)} s\n`, stderr: '' };
      }
      last = 'still the old boot (the reboot has not begun yet)';
    } catch (e) {
      if (e instanceof HostKeyError) return { code: 1, stdout: '', stderr: `the host came back with another host key: ${e.reason}` };
      last = e instanceof Error ? e.message : String(e);
    }
    if (now() - start >= o.timeout * 1000) return { code: 1, stdout: '', stderr: `did not answer with a new boot within ${o.timeout} s (last: ${last})` };
  }
}

/**
 * Reboot the host and wait until it answers again over SSH, booted anew
 * (its boot id changed) and ready (`testCommand` succeeds); later tasks use
 * the new connection. Always a change, so guard it with `when`, or run it as
 * a handler (`notify: 'reboot'`) of the tasks that need it. In check mode it
 * is reported and not done. The controller is never rebooted.
 *
 * @example
 * ```ts
 * import { reboot, apt } from 'playbook-ts';
 * const kernel = apt({ name: 'linux-image-amd64', state: 'latest', notify: 'reboot' });
 * const handler = reboot({ title: 'reboot', timeout: 300, testCommand: 'systemctl is-system-running --wait' });
 * ```
 */
export const reboot = defineTask<RebootParams>({
  kind: 'reboot',
  keys: ['timeout', 'pollInterval', 'testCommand'],
  name: () => 'reboot',
  check: (p) => [
    ...wholeNumber('timeout', p.timeout, 1, 3600, { unit: 'seconds' }),
    ...(p.pollInterval === undefined ? [] : at('pollInterval', positiveNumber(p.pollInterval, 'seconds'))),
    ...(p.testCommand !== undefined && (typeof p.testCommand !== 'string' || p.testCommand.trim() === '' || p.testCommand.includes('\0'))
      ? [{ field: 'testCommand', message: 'must be a non-empty shell command' }] : []),
  ],
  facts: () => [bootId],
  plan: async (p, ctx) => {
    if (ctx.host.local) throw new TaskError(ctx.host.name, 'reboot', 'refusing to reboot the controller');
    const before = await ctx.fact(bootId);
    if (!before) throw new TaskError(ctx.host.name, 'reboot', 'cannot read the boot id (/proc/sys/kernel/random/boot_id): play could not tell the new boot from the old');
    const o = { timeout: p.timeout ?? 600, pollInterval: p.pollInterval ?? 2, testCommand: p.testCommand ?? 'true' };
    return changes([{
      summary: `reboot and wait until ${ctx.host.name} answers again (up to ${o.timeout} s)`,
      what: outline([
        [`on ${ctx.host.name}: reboot 2 s later, from a process that outlives the SSH session`, REBOOT_COMMAND],
        [`then every ${o.pollInterval} s, up to ${o.timeout} s: reconnect, until the boot id is no longer ${before}; then the test command`, o.testCommand],
      ]),
      apply: (io) => rebootAndWait(io, before, o),
      failMessage: (r) => r.stderr.trim(),
    }]);
  },
});
