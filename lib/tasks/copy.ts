import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineTask } from '../core/define-task.ts';
import { TaskError } from '../core/errors.ts';
import { describe } from '../core/rules.ts';
import { absolutePath } from './checks.ts';
import { attributeProblems } from './file.ts';
import { fileText } from './file-facts.ts';
import { fileFacts, planFile } from './file-plan.ts';
import { show } from './show.ts';

/** Parameters of {@link copy}. */
export interface CopyParams {
  /**
   * A file on the controller: an absolute path, or a `file:` URL so a role
   * can keep files beside its code: `new URL('./files/x.bin', import.meta.url)`.
   * Read as bytes, so any file (a binary, a tarball) arrives unchanged.
   */
  src?: string | URL;
  /** The file's content instead of `src`: text, or bytes (a Uint8Array, e.g. a Buffer). */
  content?: string | Uint8Array;
  /** Absolute path of the file on the host. */
  dest: string;
  /** Octal mode as a string, e.g. '0755'. @default keeps the current mode; new files 0644 */
  mode?: string;
  /** @default keeps the current owner; new files belong to the connecting user */
  owner?: string;
  /** @default keeps the current group */
  group?: string;
  /** Keep the old file as `dest.YYYYmmddHHMMSS~` before replacing it. @default false */
  backup?: boolean;
  /** Check the new file before it replaces `dest`, `%s` = the temp file, e.g. `'nginx -t -c %s'`. */
  validate?: string;
}

/** The controller file's bytes, read once: validate() reads, plan() reuses (the same params object). */
const read = new WeakMap<object, { ok: true; bytes: Buffer } | { ok: false; message: string }>();

function srcPath(src: string | URL): string {
  return src instanceof URL || src.startsWith('file:') ? fileURLToPath(src) : src;
}

function load(p: CopyParams): { ok: true; bytes: Buffer } | { ok: false; message: string } {
  const hit = read.get(p);
  if (hit) return hit;
  const path = srcPath(p.src!);
  let r: { ok: true; bytes: Buffer } | { ok: false; message: string };
  try {
    r = statSync(path).isFile() ? { ok: true, bytes: readFileSync(path) } : { ok: false, message: `${path} on the controller is not a regular file (copy takes one file)` };
  } catch (e) {
    r = { ok: false, message: `cannot read ${path} on the controller: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  read.set(p, r);
  return r;
}

/**
 * Copy a controller file (or inline content) to the host, byte for byte.
 * The host's sha256 is compared first, in the play's batched round trip:
 * the bytes cross the wire only when they differ. The write is the file
 * planner's (temp file beside `dest`, checksum checked on arrival, mode and
 * owner, `validate`, optional `backup`, then an atomic rename).
 *
 * @example
 * ```ts
 * import { copy } from 'playbook-ts';
 * const tool = copy({ src: new URL('./files/healthcheck', import.meta.url), dest: '/usr/local/bin/healthcheck', mode: '0755' });
 * const motd = copy({ content: 'Managed by play\n', dest: '/etc/motd' });
 * const site = copy({ src: '/srv/build/nginx.conf', dest: '/etc/nginx/nginx.conf', validate: 'nginx -t -c %s', backup: true, notify: 'reload nginx' });
 * ```
 */
export const copy = defineTask<CopyParams>({
  kind: 'copy',
  keys: ['src', 'content', 'dest', 'mode', 'owner', 'group', 'backup', 'validate'],
  required: ['dest'],
  name: (p) => `copy ${show(p.dest)}`,
  check: (p) => {
    const out = [...absolutePath('dest', p.dest), ...attributeProblems(p)];
    if ((p.src === undefined) === (p.content === undefined)) return [...out, { field: 'src', message: 'give src (a controller file) or content, exactly one' }];
    if (p.content !== undefined && typeof p.content !== 'string' && !(p.content instanceof Uint8Array)) out.push({ field: 'content', message: `must be a string or a Buffer, got ${describe(p.content)}` });
    if (p.src !== undefined) {
      const ok = p.src instanceof URL ? p.src.protocol === 'file:' : typeof p.src === 'string' && (p.src.startsWith('/') || p.src.startsWith('file:'));
      if (!ok) out.push({ field: 'src', message: `must be an absolute path or a file: URL, got ${describe(p.src)}` });
      else {
        const r = load(p);
        if (!r.ok) out.push({ field: 'src', message: r.message });
      }
    }
    return out;
  },
  facts: (p) => fileFacts(p.dest),
  diffFacts: (p) => [fileText(p.dest)],
  plan: async (p, ctx) => {
    const task = `copy ${show(p.dest)}`;
    let content = p.content;
    if (content === undefined) {
      const r = load(p);
      if (!r.ok) throw new TaskError(ctx.host.name, task, r.message);
      content = r.bytes;
    }
    const { src: _src, content: _c, dest, ...attrs } = p;
    return planFile(ctx, { ...attrs, path: dest, state: 'file', content }, { task });
  },
});
