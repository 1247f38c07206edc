import { absolutePath, ACCOUNT, boolean, matching, octalMode, oneOf, validateCommand, type ParamProblem } from './checks.ts';
import { fileText } from './file-facts.ts';
import { fileFacts, planFile } from './file-plan.ts';
import { defineTask } from '../core/define-task.ts';
import { show } from './show.ts';

/** Parameters of {@link file}. */
export interface FileParams {
  /** Absolute path on the host. */
  path: string;
  /**
   * Content of the file (state `file`). Written atomically, and only when its
   * checksum differs from the host's. When absent the content is left alone
   * (a missing file is created empty).
   */
  content?: string | Uint8Array;
  /** @default 'file' */
  state?: 'file' | 'directory' | 'absent';
  /** Octal mode as a string, e.g. '0644'. @default keeps the current mode; new files 0644, new directories 0755 */
  mode?: string;
  /** User name or uid. @default keeps the current owner; new paths belong to the connecting user */
  owner?: string;
  /** Group name or gid. @default keeps the current group */
  group?: string;
  /** Before replacing a file, keep the old one as `path.YYYYmmddHHMMSS~`. @default false */
  backup?: boolean;
  /**
   * A command that checks the new content before it replaces the file; `%s`
   * is replaced by the (quoted) temp file, do not quote it yourself. On
   * failure the real file is untouched and the task fails with the
   * command's output, e.g. `'keepalived --config-test -f %s'`.
   */
  validate?: string;
}

const STATES = ['file', 'directory', 'absent'] as const;

/** Checks shared with `template`: mode, owner, group, validate, backup. */
export function attributeProblems(p: { mode?: unknown; owner?: unknown; group?: unknown; backup?: unknown; validate?: unknown }): ParamProblem[] {
  return [
    ...octalMode('mode', p.mode),
    ...matching('owner', p.owner, ACCOUNT, 'a user name or uid'),
    ...matching('group', p.group, ACCOUNT, 'a group name or gid'),
    ...boolean('backup', p.backup),
    ...validateCommand('validate', p.validate),
  ];
}

/**
 * Make a path a file with the given content, a directory, or nothing. A file
 * is written atomically (temp file beside it, checked, then renamed), so the
 * host never holds a half-written file; mode and owner drift are changes too.
 *
 * @example
 * ```ts
 * import { file } from 'playbook-ts';
 * const motd = file({ path: '/etc/motd', content: 'Managed by play\n', mode: '0644' });
 * const conf = file({ path: '/etc/keepalived/keepalived.conf', content: 'global_defs {}\n', validate: 'keepalived --config-test -f %s', backup: true });
 * const dir = file({ path: '/srv/www', state: 'directory', owner: 'www-data', mode: '0755' });
 * const gone = file({ path: '/etc/nginx/sites-enabled/default', state: 'absent', notify: 'reload nginx' });
 * ```
 */
export const file = defineTask<FileParams>({
  kind: 'file',
  keys: ['path', 'content', 'state', 'mode', 'owner', 'group', 'backup', 'validate'],
  required: ['path'],
  // A path with a newline must not break the report's lines.
  name: (p) => `file ${show(p.path)}`,
  check: (p) => {
    const out = [...absolutePath('path', p.path), ...oneOf('state', p.state, STATES), ...attributeProblems(p)];
    const state = p.state ?? 'file';
    if (p.content !== undefined && typeof p.content !== 'string' && !(p.content instanceof Uint8Array)) out.push({ field: 'content', message: 'must be a string or a Buffer' });
    for (const k of ['content', 'backup', 'validate'] as const) {
      if (p[k] !== undefined && state !== 'file') out.push({ field: k, message: `only applies to state 'file' (state is '${state}')` });
    }
    if (state === 'absent') {
      for (const k of ['mode', 'owner', 'group'] as const) if (p[k] !== undefined) out.push({ field: k, message: `does not apply to state 'absent'` });
    }
    return out;
  },
  facts: (p) => fileFacts(p.path),
  diffFacts: (p) => [fileText(p.path)],
  plan: (p, ctx) => planFile(ctx, { ...p, state: p.state ?? 'file' }, { task: `file ${show(p.path)}` }),
});
