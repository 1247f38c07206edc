import { changes, noop, type Plan } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import type { HostView } from '../core/host.ts';
import { describe, positiveNumber } from '../core/rules.ts';
import { absolutePath, at, oneOf, wholeNumber, type ParamProblem } from './checks.ts';
import { describeTarget, targetNow, waitCommand, waitFromController, type Target } from './wait-probes.ts';

/** Parameters of {@link waitFor}. Give exactly one of `port`, `path`, `url`. */
export interface WaitForParams {
  /** A TCP port that must accept connections (or stop accepting, with `state: 'stopped'`). */
  port?: number;
  /**
   * The address `port` is tried on. @default '127.0.0.1' on the host; the
   * host's inventory address from the controller
   */
  address?: string;
  /** A path that must exist (or be gone, with `state: 'stopped'`). */
  path?: string;
  /** With `path`: the file must contain this text (literally). */
  contains?: string;
  /** An http(s) URL that must answer with `status`. */
  url?: string;
  /** @default 200 */
  status?: number;
  /** `started`: wait until it is there; `stopped`: until it is gone. @default 'started' */
  state?: 'started' | 'stopped';
  /** Give up (the task fails) after this many seconds. @default 60 */
  timeout?: number;
  /** Seconds between two checks. @default 1 */
  sleep?: number;
  /** Where the check runs: on the host, or from the controller (is it reachable from outside?). @default 'host' */
  from?: 'host' | 'controller';
}

const ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*|\[?[0-9A-Fa-f:.]+\]?)$/;
const MAX_TIMEOUT = 3600;

function targetOf(p: WaitForParams, host: HostView): Target {
  if (p.port !== undefined) return { kind: 'port', port: p.port, host: p.address ?? (p.from === 'controller' ? host.address : '127.0.0.1') };
  if (p.path !== undefined) return { kind: 'path', path: p.path, contains: p.contains };
  return { kind: 'url', url: p.url!, status: p.status ?? 200 };
}

const nameOf = (p: WaitForParams) => {
  const what = p.port !== undefined ? `port ${p.port}` : p.path ?? p.url ?? '?';
  return `wait for ${what}${p.state === 'stopped' ? ' to stop' : ''}${p.from === 'controller' ? ' from the controller' : ''}`;
};

/**
 * Wait, bounded, until a port answers, a file exists (or holds a text), or a
 * URL gives an HTTP status — on the host, or from the controller (Ansible's
 * `wait_for` and `uri … until`). The current state is read in the play's
 * batched round trip first: when it already holds, the task is a no-op that
 * says so and no loop is sent. The wait itself only reads, so check mode
 * runs it too — except after a change check mode did not make (the service
 * it waits for was not started), where it is skipped with that reason.
 *
 * @example
 * ```ts
 * import { waitFor } from 'playbook-ts';
 * const nginx = waitFor({ port: 80, timeout: 30 });
 * const fromOutside = waitFor({ url: 'http://192.168.56.200/', status: 200, from: 'controller', timeout: 60 });
 * const pid = waitFor({ path: '/run/keepalived.pid' });
 * const drained = waitFor({ port: 8080, state: 'stopped', timeout: 120, sleep: 2 });
 * ```
 */
export const waitFor = defineTask<WaitForParams>({
  kind: 'waitFor',
  keys: ['port', 'address', 'path', 'contains', 'url', 'status', 'state', 'timeout', 'sleep', 'from'],
  name: nameOf,
  check: (p) => {
    const given = (['port', 'path', 'url'] as const).filter((k) => p[k] !== undefined);
    const out: ParamProblem[] = [];
    if (given.length !== 1) out.push({ field: given[1] ?? 'port', message: `give exactly one of port, path, url${given.length ? ` (got ${given.join(', ')})` : ''}` });
    out.push(
      ...wholeNumber('port', p.port, 1, 65535), ...absolutePath('path', p.path),
      ...oneOf('state', p.state, ['started', 'stopped']), ...oneOf('from', p.from, ['host', 'controller']),
      ...wholeNumber('timeout', p.timeout, 1, MAX_TIMEOUT, { unit: 'seconds' }), ...wholeNumber('status', p.status, 100, 599),
    );
    if (p.sleep !== undefined) out.push(...at('sleep', positiveNumber(p.sleep, 'seconds')));
    if (p.address !== undefined && (typeof p.address !== 'string' || !ADDRESS.test(p.address))) out.push({ field: 'address', message: `must be a host name or an IP address, got ${describe(p.address)}` });
    if (p.address !== undefined && p.port === undefined) out.push({ field: 'address', message: 'only applies to port' });
    if (p.contains !== undefined && (typeof p.contains !== 'string' || p.contains === '' || /[\n\0]/.test(p.contains))) out.push({ field: 'contains', message: `must be a non-empty string on one line, got ${describe(p.contains)}` });
    if (p.contains !== undefined && p.path === undefined) out.push({ field: 'contains', message: 'only applies to path' });
    if (p.status !== undefined && p.url === undefined) out.push({ field: 'status', message: 'only applies to url' });
    if (p.url !== undefined) {
      let ok = false;
      try { ok = typeof p.url === 'string' && ['http:', 'https:'].includes(new URL(p.url).protocol) && !/[\s'"\\]/.test(p.url); } catch { ok = false; }
      if (!ok) out.push({ field: 'url', message: `must be an http:// or https:// URL, got ${describe(p.url)}` });
    }
    if (p.path !== undefined && p.from === 'controller') out.push({ field: 'from', message: `a path is checked on the host: from 'controller' applies to port and url` });
    return out;
  },
  facts: (p, host) => (p.from === 'controller' ? [] : [targetNow(targetOf(p, host), p.state !== 'stopped')]),
  plan: async (p, ctx): Promise<Plan> => {
    const t = targetOf(p, ctx.host);
    const present = p.state !== 'stopped';
    const timeout = p.timeout ?? 60;
    const sleep = p.sleep ?? 1;
    const what = describeTarget(t);
    const wanted = present ? 'is there' : 'is gone';
    if (p.from !== 'controller' && (await ctx.fact(targetNow(t, present)))) return noop(`${what} ${wanted}`);
    if (ctx.pending.length) {
      return { changes: [], notes: [], skip: `would wait up to ${timeout} s until ${what} ${wanted}; not now: earlier changes check mode did not make may be what it waits for` };
    }
    const summary = `wait up to ${timeout} s until ${what} ${wanted}${p.from === 'controller' ? ' (from the controller)' : ''}`;
    const judge = (r: { code: number }) => ({ failed: r.code !== 0, changed: false });
    const failMessage = (r: { code: number; stderr: string }) => r.stderr.trim() || `${what} ${present ? 'not there' : 'still there'} after ${timeout} s`;
    const note = `${what} ${present ? 'was not there yet' : 'was still there'}: waited (at most ${timeout} s)`;
    if (p.from === 'controller') {
      return changes([{ summary, what: `from the controller, every ${sleep} s, up to ${timeout} s: until ${what} ${wanted}`, readOnly: true, judge, failMessage, apply: () => waitFromController(t, present, timeout, sleep) }], [note]);
    }
    // The transport's per-command limit must not cut the wait short.
    return changes([{ summary, exec: waitCommand(t, present, timeout, sleep), readOnly: true, judge, failMessage, timeoutMs: (timeout + 30) * 1000 }], [note]);
  },
});
