import { noop } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { TaskError } from '../../lib/core/errors.ts';
import { fact } from '../../lib/core/fact.ts';
import { matching } from '../../lib/tasks/checks.ts';

/** Interfaces on the host, one name per line ("lo", "enp0s8"). */
export const interfaces = fact('net:interfaces', `ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 || true`,
  (out) => out.split('\n').map((l) => l.trim()).filter(Boolean));

/** Parameters of {@link interfacePresent}. */
export interface InterfacePresentParams {
  /** Interface that must exist, e.g. enp0s8. */
  name: string;
}

/**
 * Assert that a network interface exists: the VRRP instance binds to it, and
 * keepalived on a missing interface starts but never holds the VIP.
 *
 * @example
 * ```ts
 * import { interfacePresent } from './interface-present.ts';
 * const t = interfacePresent({ name: 'enp0s8' });
 * ```
 */
export const interfacePresent = defineTask<InterfacePresentParams>({
  kind: 'interface',
  keys: ['name'],
  required: ['name'],
  name: (p) => `interface ${p.name} exists`,
  check: (p) => matching('name', p.name, /^[A-Za-z0-9_.:@-]{1,15}$/, 'a Linux interface name such as enp0s8'),
  facts: () => [interfaces],
  plan: async (p, ctx) => {
    const names = await ctx.fact(interfaces);
    if (!names.includes(p.name)) {
      throw new TaskError(ctx.host.name, `interface ${p.name} exists`, `interface ${p.name} does not exist on ${ctx.host.name} (it has: ${names.join(', ') || 'none'}); set cluster.interface`);
    }
    return noop(`interface ${p.name} exists`);
  },
});
