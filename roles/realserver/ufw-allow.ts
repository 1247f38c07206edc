import { changes, noop } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { oneOf, wholeNumber } from '../../lib/tasks/checks.ts';
import { fact } from '../../lib/core/fact.ts';
import { sh } from '../../lib/core/shell.ts';

/** `ufw status`, or that ufw is absent. */
export const ufwStatus = fact('ufw:status', `if command -v ufw >/dev/null 2>&1; then ufw status 2>/dev/null || echo 'Status: unknown'; else echo 'Status: not installed'; fi`, (out) => {
  const status = /^Status:\s*(\S+(?: \S+)?)/m.exec(out)?.[1]?.trim() ?? 'unknown';
  const rules = out.split('\n').filter((l) => /\bALLOW\b/.test(l)).map((l) => l.trim().split(/\s+/)[0]!);
  return { status, rules };
});

/** Parameters of {@link ufwAllow}. */
export interface UfwAllowParams {
  port: number;
  /** @default 'tcp' */
  proto?: 'tcp' | 'udp';
}

/**
 * Allow a port through ufw when ufw is active; nothing when ufw is absent or
 * inactive (the seed's author had to remember this by hand).
 *
 * @example
 * ```ts
 * import { ufwAllow } from './ufw-allow.ts';
 * const web = ufwAllow({ port: 80 });
 * ```
 */
export const ufwAllow = defineTask<UfwAllowParams>({
  kind: 'ufw',
  keys: ['port', 'proto'],
  required: ['port'],
  name: (p) => `ufw allow ${p.port}/${p.proto ?? 'tcp'}`,
  check: (p) => [...wholeNumber('port', p.port, 1, 65535), ...oneOf('proto', p.proto, ['tcp', 'udp'])],
  facts: () => [ufwStatus],
  plan: async (p, ctx) => {
    const rule = `${p.port}/${p.proto ?? 'tcp'}`;
    const { status, rules } = await ctx.fact(ufwStatus);
    if (status !== 'active') return noop(`ufw is ${status}: nothing to allow`);
    if (rules.includes(rule) || rules.includes(String(p.port))) return noop(`ufw already allows ${rule}`);
    return changes([{ summary: `ufw allow ${rule}`, exec: sh`ufw allow ${rule}` }]);
  },
});
