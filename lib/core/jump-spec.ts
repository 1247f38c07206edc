/** A jump host as OpenSSH's ProxyJump names it: `[user@]host[:port]`. */
export interface JumpSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

/**
 * `[user@]host[:port]` (one ProxyJump hop; `[::1]:2222` for an IPv6
 * address) split, or undefined when it is not of that shape or its port is
 * not a TCP port. Pure, so the inventory checks a `proxyJump` before
 * anything connects and the connector reads ~/.ssh/config's the same way.
 *
 * @example
 * ```ts
 * import { parseJump } from './jump-spec.ts';
 * parseJump('deploy@bastion:2222'); // { user: 'deploy', host: 'bastion', port: 2222 }
 * parseJump('bastion:http');        // undefined
 * ```
 */
export function parseJump(spec: string): JumpSpec | undefined {
  const m = /^(?:([^@\s]+)@)?(\[[^\]\s]+\]|[^:@\s[\]]+)(?::(\d+))?$/.exec(spec.trim());
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && !(port >= 1 && port <= 65_535)) return undefined;
  return {
    ...(m[1] ? { user: m[1] } : {}),
    host: m[2]!.replace(/^\[|\]$/g, ''),
    ...(port === undefined ? {} : { port }),
  };
}
