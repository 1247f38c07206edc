import { changes, noop, type Change } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import { TaskError } from '../core/errors.ts';
import { describe } from '../core/rules.ts';
import { quote } from '../core/shell.ts';
import { boolean, oneOf, type ParamProblem } from './checks.ts';
import { ufwState, type Policy, type UfwState } from './ufw-facts.ts';

/** One ufw rule. */
export interface UfwRule {
  /** A port or a range `'8000:8100'` (a range needs a protocol). */
  port: number | string;
  /** @default 'tcp' */
  proto?: 'tcp' | 'udp' | 'any';
  /** Source address or network (`'10.0.0.0/8'`). @default any */
  from?: string;
  /** @default 'allow' */
  action?: 'allow' | 'deny' | 'reject' | 'limit';
  /** Shown by `ufw status`; set when the rule is added (a changed comment alone is not a change). */
  comment?: string;
  /** `absent` deletes the rule. @default 'present' */
  state?: 'present' | 'absent';
}

/** Parameters of {@link ufw}. */
export interface UfwParams {
  rules?: readonly UfwRule[];
  /** Default policies. @default left as they are */
  defaults?: { incoming?: Policy; outgoing?: Policy; routed?: Policy };
  /** Turn the firewall on or off. @default left as it is */
  state?: 'enabled' | 'disabled';
  /**
   * Touch nothing unless ufw is installed and active: for roles that open
   * their port on hosts that chose to run ufw, and must not fail on those
   * that did not. @default false (ufw missing is an error)
   */
  onlyWhenActive?: boolean;
}

const PORT = /^[0-9]{1,5}(?::[0-9]{1,5})?$/;
const NET = /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)(?:\/[0-9]{1,3})?$/;
const POLICIES = ['allow', 'deny', 'reject'] as const;

/**
 * The rule in the syntax `ufw show added` prints (ufw's own `get_command`):
 * `allow 80/tcp`, or with a source `allow from 10.0.0.0/8 to any port 22
 * proto tcp`. Comparing in that syntax makes the host's list our fact.
 */
export function ruleText(r: UfwRule): string {
  const action = r.action ?? 'allow';
  const proto = r.proto ?? 'tcp';
  if (r.from === undefined || r.from === 'any') return `${action} ${r.port}${proto === 'any' ? '' : `/${proto}`}`;
  return `${action} from ${r.from} to any port ${r.port}${proto === 'any' ? '' : ` proto ${proto}`}`;
}

/** `ufw allow 80/tcp comment 'web'`, every word quoted. */
function ruleCommand(r: UfwRule, del = false): string {
  const words = ruleText(r).split(' ').map((w) => quote(w)).join(' ');
  const comment = !del && r.comment !== undefined ? ` comment ${quote(r.comment)}` : '';
  return `ufw ${del ? 'delete ' : ''}${words}${comment}`;
}

function ruleProblems(r: unknown, at: string): ParamProblem[] {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return [{ field: at, message: `must be a rule object { port, proto?, from?, action?, comment?, state? }, got ${describe(r)}` }];
  const x = r as Record<string, unknown>;
  const out: ParamProblem[] = [];
  for (const k of Object.keys(x)) if (!['port', 'proto', 'from', 'action', 'comment', 'state'].includes(k)) out.push({ field: `${at}.${k}`, message: 'unknown rule field (accepted: port, proto, from, action, comment, state)' });
  const port = x.port;
  const ports = typeof port === 'number' ? [port] : typeof port === 'string' && PORT.test(port) ? port.split(':').map(Number) : undefined;
  if (!ports || ports.some((n) => !Number.isInteger(n) || n < 1 || n > 65535) || (ports.length === 2 && ports[0]! >= ports[1]!)) {
    out.push({ field: `${at}.port`, message: `must be a port 1–65535 or a range such as '8000:8100', got ${describe(port)}` });
  } else if (ports.length === 2 && (x.proto ?? 'tcp') === 'any') out.push({ field: `${at}.proto`, message: `a port range needs tcp or udp (ufw refuses one for any protocol)` });
  out.push(...oneOf(`${at}.proto`, x.proto, ['tcp', 'udp', 'any']), ...oneOf(`${at}.action`, x.action, ['allow', 'deny', 'reject', 'limit']), ...oneOf(`${at}.state`, x.state, ['present', 'absent']));
  if (x.from !== undefined && x.from !== 'any' && (typeof x.from !== 'string' || !NET.test(x.from))) out.push({ field: `${at}.from`, message: `must be an IP address or network such as 10.0.0.0/8, got ${describe(x.from)}` });
  if (x.comment !== undefined && (typeof x.comment !== 'string' || /['\n\r\0]/.test(x.comment))) out.push({ field: `${at}.comment`, message: `must be a string without quotes or newlines, got ${describe(x.comment)}` });
  return out;
}

/**
 * A host's ufw firewall: rules present or absent, default policies, enabled
 * or not (Ansible's `community.general.ufw`). Planned from one batched read
 * (`ufw show added`, the default policies, the status): a rule already there
 * is a no-op, whatever its comment. Enabling a firewall whose incoming
 * default would drop play's own SSH connection is refused while planning.
 *
 * @example
 * ```ts
 * import { ufw } from 'playbook-ts';
 * const firewall = ufw({
 *   defaults: { incoming: 'deny', outgoing: 'allow' },
 *   rules: [{ port: 22, action: 'limit' }, { port: 80, comment: 'nginx' }, { port: 8000, from: '10.0.0.0/8' }],
 *   state: 'enabled',
 * });
 * const web = ufw({ rules: [{ port: 80 }], onlyWhenActive: true });
 * ```
 */
export const ufw = defineTask<UfwParams>({
  kind: 'ufw',
  keys: ['rules', 'defaults', 'state', 'onlyWhenActive'],
  name: (p) => {
    const rules = p.rules?.map((r) => `${r.state === 'absent' ? 'no ' : ''}${ruleText(r)}`) ?? [];
    return `ufw ${[...rules, ...(p.defaults ? ['defaults'] : []), ...(p.state ? [p.state] : [])].join(', ') || '(nothing)'}`;
  },
  check: (p) => {
    const out: ParamProblem[] = [...oneOf('state', p.state, ['enabled', 'disabled']), ...boolean('onlyWhenActive', p.onlyWhenActive)];
    if (p.rules !== undefined) {
      if (!Array.isArray(p.rules)) out.push({ field: 'rules', message: `must be a list of rules, got ${describe(p.rules)}` });
      else p.rules.forEach((r, i) => out.push(...ruleProblems(r, `rules[${i}]`)));
    }
    if (p.defaults !== undefined) {
      if (typeof p.defaults !== 'object' || p.defaults === null) out.push({ field: 'defaults', message: `must be { incoming?, outgoing?, routed? }, got ${describe(p.defaults)}` });
      else for (const [k, v] of Object.entries(p.defaults)) {
        if (!['incoming', 'outgoing', 'routed'].includes(k)) out.push({ field: `defaults.${k}`, message: 'unknown direction (accepted: incoming, outgoing, routed)' });
        else out.push(...oneOf(`defaults.${k}`, v, POLICIES));
      }
    }
    if (p.rules === undefined && p.defaults === undefined && p.state === undefined) out.push({ field: 'rules', message: 'say what to do: give rules, defaults, state, or several' });
    if (p.onlyWhenActive && p.state !== undefined) out.push({ field: 'onlyWhenActive', message: 'cannot go with state (it manages only an active ufw)' });
    return out;
  },
  facts: () => [ufwState],
  // TaskErrors name the task 'ufw': defineTask renames them to the task's title.
  plan: async (p, ctx) => {
    const st = await ctx.fact(ufwState);
    if (p.onlyWhenActive && st.status !== 'active') return noop(`ufw is ${st.status}: rules left alone`);
    let predicted: string | undefined;
    if (!st.installed) {
      if (ctx.pending.length === 0) throw new TaskError(ctx.host.name, 'ufw', 'ufw is not installed (install it first, e.g. apt({ name: \'ufw\' }))');
      predicted = 'ufw is not installed yet, expected from an earlier change';
    }
    const out: Change[] = [];
    const notes: string[] = [];
    for (const [dir, policy] of Object.entries(p.defaults ?? {}) as Array<[keyof UfwState['defaults'], Policy]>) {
      if (st.defaults[dir] === policy) notes.push(`ufw default ${dir} is ${policy}`);
      else out.push({ summary: `ufw default ${dir} ${st.defaults[dir] ?? '?'} → ${policy}`, exec: `ufw default ${quote(policy)} ${quote(dir)}` });
    }
    const have = new Set(st.rules);
    const after = new Set(st.rules);
    for (const r of p.rules ?? []) {
      const text = ruleText(r);
      if (r.state === 'absent') {
        if (have.has(text)) { out.push({ summary: `ufw delete ${text}`, exec: ruleCommand(r, true) }); after.delete(text); }
        else notes.push(`ufw has no rule ${text}`);
      } else if (have.has(text)) notes.push(`ufw has ${text}`);
      else { out.push({ summary: `ufw ${text}`, exec: ruleCommand(r) }); after.add(text); }
    }
    if (p.state === 'enabled' && st.status !== 'active') {
      const incoming = p.defaults?.incoming ?? st.defaults.incoming ?? 'deny';
      const ssh = ctx.host.port;
      const open = [...after].some((r) => new RegExp(`^(allow|limit) ${ssh}(/tcp)?$`).test(r));
      if (!ctx.host.local && incoming !== 'allow' && !open) {
        throw new TaskError(ctx.host.name, 'ufw', `enabling ufw with incoming ${incoming} and no rule allowing port ${ssh}/tcp would cut play's own SSH connection; add { port: ${ssh} } (or action 'limit') to rules`);
      }
      out.push({ summary: 'enable ufw', exec: 'ufw --force enable' });
    } else if (p.state === 'disabled' && st.status === 'active') out.push({ summary: 'disable ufw', exec: 'ufw disable' });
    else if (p.state) notes.push(`ufw is ${st.status}`);
    return changes(predicted ? out.map((c) => ({ ...c, predicted })) : out, notes);
  },
});
