import { changes, noop } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import { boolean, matching, oneOf, wholeNumber } from './checks.ts';
import { accountCommand } from './account-commands.ts';
import { groupState } from './account-facts.ts';

/** Parameters of {@link group}. */
export interface GroupParams {
  /** Group name, as groupadd accepts it. */
  name: string;
  /** @default 'present' */
  state?: 'present' | 'absent';
  /** @default the next free gid (a system gid with `system`) */
  gid?: number;
  /** A system group (gid below 1000); only at creation. @default false */
  system?: boolean;
}

const GROUP_NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;

/**
 * Keep a local group: created with `groupadd`, its gid corrected with
 * `groupmod`, or removed with `groupdel`. Planned from `getent group`,
 * read in the play's batched round trip.
 *
 * @example
 * ```ts
 * import { group, user } from 'playbook-ts';
 * const tasks = [group({ name: 'lvs', gid: 2001 }), user({ name: 'deploy', groups: ['lvs'], append: true })];
 * const gone = group({ name: 'oldteam', state: 'absent' });
 * ```
 */
export const group = defineTask<GroupParams>({
  kind: 'group',
  keys: ['name', 'state', 'gid', 'system'],
  required: ['name'],
  name: (p) => `group ${p.name}${p.state === 'absent' ? ' absent' : ''}`,
  check: (p) => {
    const out = [
      ...matching('name', p.name, GROUP_NAME, 'a group name (letters, digits, _ . -, not starting with a digit or -, at most 32)'),
      ...oneOf('state', p.state, ['present', 'absent']),
      ...wholeNumber('gid', p.gid, 0, 4294967294),
      ...boolean('system', p.system),
    ];
    if (p.state === 'absent') for (const k of ['gid', 'system'] as const) if (p[k] !== undefined) out.push({ field: k, message: `does not apply to state 'absent'` });
    return out;
  },
  facts: (p) => [groupState(p.name)],
  plan: async (p, ctx) => {
    const st = await ctx.fact(groupState(p.name));
    if (p.state === 'absent') {
      return st.exists ? changes([{ summary: `remove group ${p.name}`, exec: accountCommand('groupdel', [], p.name) }]) : noop(`group ${p.name} is absent`);
    }
    if (!st.exists) {
      const flags: Array<readonly [string, string | undefined]> = [...(p.system ? [['-r', undefined] as const] : []), ...(p.gid !== undefined ? [['-g', String(p.gid)] as const] : [])];
      const said = [p.system && 'system', p.gid !== undefined && `gid ${p.gid}`].filter(Boolean);
      return changes([{ summary: `create group ${p.name}${said.length ? ` (${said.join(', ')})` : ''}`, exec: accountCommand('groupadd', flags, p.name) }]);
    }
    if (p.gid !== undefined && p.gid !== st.gid) return changes([{ summary: `change group ${p.name}: gid ${st.gid} → ${p.gid}`, exec: accountCommand('groupmod', [['-g', String(p.gid)]], p.name) }]);
    return noop(`group ${p.name} is up to date${p.gid !== undefined ? ` (gid ${st.gid})` : ''}`);
  },
});
