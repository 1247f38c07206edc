import { TaskError } from '../core/errors.ts';
import type { HostView } from '../core/host.ts';
import { absolutePath } from './checks.ts';
import { attributeProblems } from './file.ts';
import { fileText } from './file-facts.ts';
import { fileFacts, planFile } from './file-plan.ts';
import { defineTask } from '../core/define-task.ts';
import { show } from './show.ts';
import { renderTemplate, templatePath, type Rendered } from './render-template.ts';

/** Parameters of {@link template}. */
export interface TemplateParams {
  /**
   * The nunjucks template: an absolute path, or a `file:` URL so a role can
   * keep templates beside its code: `new URL('./templates/x.njk', import.meta.url)`.
   */
  src: string | URL;
  /** Absolute path of the rendered file on the host. */
  dest: string;
  /**
   * Variables for the template, on top of the host's variables.
   * @default the host's variables only
   */
  vars?: Readonly<Record<string, unknown>>;
  /** Octal mode as a string. @default keeps the current mode; new files 0644 */
  mode?: string;
  /** @default keeps the current owner */
  owner?: string;
  /** @default keeps the current group */
  group?: string;
  /** Keep the old file as `dest.YYYYmmddHHMMSS~`. @default false */
  backup?: boolean;
  /** Check the rendered file before it replaces `dest`, `%s` = the temp file, e.g. `'keepalived --config-test -f %s'`. */
  validate?: string;
}

/**
 * Render a nunjucks template on the controller and install it as a file. No
 * HTML escaping; an undefined variable is an error found before any host is
 * contacted, naming the template, line and variable. The diff is the rendered
 * text against the host's file; the write is the `file` task's atomic write.
 *
 * @example
 * ```ts
 * import { template } from 'playbook-ts';
 * const conf = template({
 *   src: new URL('./templates/keepalived.conf.njk', import.meta.url),
 *   dest: '/etc/keepalived/keepalived.conf',
 *   vars: { routerId: 51, priority: 150 },
 *   mode: '0640',
 *   validate: 'keepalived --config-test -f %s',
 *   notify: 'restart keepalived',
 * });
 * ```
 */
export const template = defineTask<TemplateParams>({
  kind: 'template',
  keys: ['src', 'dest', 'vars', 'mode', 'owner', 'group', 'backup', 'validate'],
  required: ['src', 'dest'],
  name: (p) => `template ${show(p.dest)}`,
  check: (p, host) => {
    const out = [...absolutePath('dest', p.dest), ...attributeProblems(p)];
    const srcOk = p.src instanceof URL ? p.src.protocol === 'file:' : typeof p.src === 'string' && (p.src.startsWith('/') || p.src.startsWith('file:'));
    if (!srcOk) return [...out, { field: 'src', message: `must be an absolute path or a file: URL, got ${JSON.stringify(String(p.src))}` }];
    if (p.vars !== undefined && (typeof p.vars !== 'object' || p.vars === null)) return [...out, { field: 'vars', message: 'must be an object' }];
    const r = render(p, host);
    if (!r.ok) out.push({ field: 'src', message: r.message });
    return out;
  },
  facts: (p) => fileFacts(p.dest),
  diffFacts: (p) => [fileText(p.dest)],
  plan: async (p, ctx) => {
    const r = cached(p, ctx.host) ?? render(p, ctx.host);
    if (!r.ok) throw new TaskError(ctx.host.name, `template ${show(p.dest)}`, r.message);
    const { src: _src, vars: _vars, dest, ...attrs } = p;
    return planFile(ctx, { ...attrs, path: dest, state: 'file', content: r.text }, { task: `template ${show(p.dest)}` });
  },
});

// validate() renders before anything connects; plan() reuses that text. Per host: vars differ.
const rendered = new WeakMap<object, Map<string, Rendered>>();

function cached(p: TemplateParams, host: HostView): Rendered | undefined {
  return rendered.get(p)?.get(host.name);
}

function render(p: TemplateParams, host: HostView): Rendered {
  const r = renderTemplate(templatePath(p.src), { ...host.vars, ...p.vars });
  if (!rendered.has(p)) rendered.set(p, new Map());
  rendered.get(p)!.set(host.name, r);
  return r;
}
