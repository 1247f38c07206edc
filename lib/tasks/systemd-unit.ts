import { changes, type Change } from '../core/change.ts';
import { defineTask } from '../core/define-task.ts';
import { TaskError } from '../core/errors.ts';
import type { HostView } from '../core/host.ts';
import { describe } from '../core/rules.ts';
import type { PlanContext } from '../core/task.ts';
import { boolean, matching, oneOf, type ParamProblem } from './checks.ts';
import { mkdirCommand, removeCommand } from './file-commands.ts';
import { dirOf, fileState, fileText } from './file-facts.ts';
import { planFile } from './file-plan.ts';
import { renderTemplate, type Rendered } from './render-template.ts';
import { enableCommand, systemctlCommand } from './service-commands.ts';
import { UNIT_NAME, scriptName, serviceState, unitName } from './service-facts.ts';
import { show } from './show.ts';

/** Parameters of {@link systemdUnit}. */
export interface SystemdUnitParams {
  /** The unit, e.g. `lvs-vip` (= `lvs-vip.service`) or `backup.timer`. */
  name: string;
  /** The unit file's (or drop-in's) text. */
  content?: string;
  /** A nunjucks template for the text instead of `content`: an absolute path or a `file:` URL. */
  src?: string | URL;
  /** Variables for `src`, on top of the host's. */
  vars?: Readonly<Record<string, unknown>>;
  /**
   * Write a drop-in `/etc/systemd/system/NAME.d/DROPIN.conf` instead of the
   * unit file (to change a packaged unit, e.g. `'override'`).
   */
  dropIn?: string;
  /**
   * `started`/`stopped`: the running state wanted; `absent`: stop and
   * disable the unit and remove its file (or only the drop-in).
   * @default the running state is left alone
   */
  state?: 'started' | 'stopped' | 'absent';
  /** Start at boot. @default left as it is */
  enabled?: boolean;
  /** A running unit whose file changed is restarted (it runs the old definition otherwise). @default true */
  restartOnChange?: boolean;
}

const DROP_IN = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;
const UNIT_DIR = '/etc/systemd/system';

/** Where the text goes: the unit file, or its drop-in. */
export function unitPath(p: Pick<SystemdUnitParams, 'name' | 'dropIn'>): string {
  const unit = unitName(p.name);
  return p.dropIn === undefined ? `${UNIT_DIR}/${unit}` : `${UNIT_DIR}/${unit}.d/${p.dropIn.replace(/\.conf$/, '')}.conf`;
}

const rendered = new WeakMap<object, Map<string, Rendered>>();
function textOf(p: SystemdUnitParams, host: HostView): Rendered {
  if (p.content !== undefined) return { ok: true, text: p.content };
  const hit = rendered.get(p)?.get(host.name);
  if (hit) return hit;
  const r = renderTemplate(p.src!, { ...host.vars, ...p.vars });
  if (!rendered.has(p)) rendered.set(p, new Map());
  rendered.get(p)!.set(host.name, r);
  return r;
}

const taskName = (p: SystemdUnitParams) => `systemd unit ${unitName(p.name)}${p.dropIn !== undefined ? ` drop-in ${p.dropIn}` : ''}${p.state ? ` ${p.state}` : ''}`;

/**
 * A systemd unit as one idempotent task: its file (or a drop-in) written by
 * the file planner, `daemon-reload` when the file changed (or systemd says
 * it is stale), then enabled and started — and restarted when it was
 * running on the old definition. What a role otherwise assembles from a
 * template, a "reload systemd" handler, a restart handler and a service task.
 * Every step is planned from one batched read of the file and the unit.
 *
 * @example
 * ```ts
 * import { systemdUnit } from 'playbook-ts';
 * const vip = systemdUnit({
 *   name: 'lvs-vip',
 *   content: '[Unit]\nDescription=VIP on lo\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/sbin/ip addr add 192.168.56.200/32 dev lo\n[Install]\nWantedBy=multi-user.target\n',
 *   state: 'started', enabled: true,
 * });
 * const limits = systemdUnit({ name: 'nginx', dropIn: 'limits', content: '[Service]\nLimitNOFILE=65536\n', state: 'started' });
 * const gone = systemdUnit({ name: 'old-agent', state: 'absent' });
 * ```
 */
export const systemdUnit = defineTask<SystemdUnitParams>({
  kind: 'systemdUnit',
  keys: ['name', 'content', 'src', 'vars', 'dropIn', 'state', 'enabled', 'restartOnChange'],
  required: ['name'],
  name: taskName,
  check: (p, host) => {
    const out: ParamProblem[] = [
      ...matching('name', p.name, UNIT_NAME, 'a unit name such as lvs-vip or backup.timer'),
      ...matching('dropIn', p.dropIn, DROP_IN, 'a drop-in name such as override'),
      ...oneOf('state', p.state, ['started', 'stopped', 'absent']),
      ...boolean('enabled', p.enabled), ...boolean('restartOnChange', p.restartOnChange),
    ];
    const absent = p.state === 'absent';
    if (absent) {
      for (const k of ['content', 'src', 'vars', 'enabled', 'restartOnChange'] as const) if (p[k] !== undefined) out.push({ field: k, message: `does not apply to state 'absent'` });
      return out;
    }
    if (p.content !== undefined && p.src !== undefined) out.push({ field: 'src', message: 'give content or src, not both' });
    if (p.content === undefined && p.src === undefined) out.push({ field: 'content', message: 'give the unit text as content, or a template as src' });
    if (p.content !== undefined && (typeof p.content !== 'string' || p.content.includes('\0'))) out.push({ field: 'content', message: `must be a string without NUL bytes, got ${describe(p.content)}` });
    if (p.vars !== undefined && (typeof p.vars !== 'object' || p.vars === null)) out.push({ field: 'vars', message: 'must be an object' });
    if (p.src !== undefined && out.length === 0) {
      const ok = p.src instanceof URL ? p.src.protocol === 'file:' : typeof p.src === 'string' && (p.src.startsWith('/') || p.src.startsWith('file:'));
      if (!ok) out.push({ field: 'src', message: `must be an absolute path or a file: URL, got ${describe(p.src)}` });
      else {
        const r = textOf(p, host);
        if (!r.ok) out.push({ field: 'src', message: r.message });
      }
    }
    return out;
  },
  facts: (p) => [fileState(unitPath(p)), serviceState(p.name, scriptName(p.name))],
  diffFacts: (p) => (p.state === 'absent' ? [] : [fileText(unitPath(p))]),
  plan: async (p, ctx) => {
    const task = taskName(p);
    const unit = unitName(p.name);
    const path = unitPath(p);
    const [fst, st] = await ctx.facts([fileState(path), serviceState(p.name, scriptName(p.name))] as const);
    if (st.init !== 'systemd') throw new TaskError(ctx.host.name, task, 'this host does not run systemd (PID 1 is another init); use the service task');
    const running = ['active', 'reloading', 'activating'].includes(st.active);
    const out: Change[] = [];
    const notes: string[] = [];

    if (p.state === 'absent') {
      if (fst.type === 'missing') return changes([], [`${show(path)} is absent`]);
      if (p.dropIn === undefined) {
        if (running) out.push({ summary: `stop ${unit}`, exec: systemctlCommand(p.name, 'stop'), stops: unit });
        if (['enabled', 'enabled-runtime', 'alias'].includes(st.unitFile)) out.push({ summary: `disable ${unit}`, exec: enableCommand('systemd', p.name, false) });
      }
      out.push({ summary: `remove ${show(path)}`, exec: removeCommand([path]) }, { summary: 'reload systemd', exec: 'systemctl daemon-reload' });
      return changes(out);
    }

    const text = textOf(p, ctx.host);
    if (!text.ok) throw new TaskError(ctx.host.name, task, text.message);
    const write = await planUnitFile(ctx, path, text.text, task);
    out.push(...write.changes);
    const fileChanged = write.changes.some((c) => c.stdin !== undefined);
    if (!fileChanged && !write.changes.length) notes.push(`${show(path)} is up to date`);
    // A drop-in for a unit that is not there changes nothing; our own unit file brings its unit.
    const missing = st.load === 'not-found' && !(fileChanged && p.dropIn === undefined);
    if (missing) {
      if (ctx.pending.length === 0) throw new TaskError(ctx.host.name, task, `unit ${unit} not found (a drop-in needs the unit it changes)`);
    }
    if (st.load === 'masked') throw new TaskError(ctx.host.name, task, `unit ${unit} is masked; unmask it first`);
    const predicted = missing ? `${unit} does not exist yet, expected from an earlier change` : undefined;
    const act = (c: Change) => out.push(predicted ? { ...c, predicted } : c);
    if (fileChanged || st.needReload) out.push({ summary: `reload systemd (${fileChanged ? `${show(path)} changed` : `${unit} changed on disk`})`, exec: 'systemctl daemon-reload' });

    if (p.enabled !== undefined) {
      const enabled = ['enabled', 'enabled-runtime', 'alias', 'static', 'indirect', 'generated', 'transient'].includes(st.unitFile);
      if (p.enabled && !enabled) act({ summary: `enable ${unit}`, exec: enableCommand('systemd', p.name, true) });
      else if (!p.enabled && ['enabled', 'enabled-runtime', 'alias'].includes(st.unitFile)) act({ summary: `disable ${unit}`, exec: enableCommand('systemd', p.name, false) });
      else notes.push(`${unit} is ${p.enabled ? 'enabled' : 'disabled'}${['static', 'indirect', 'generated', 'transient'].includes(st.unitFile) ? ` (${st.unitFile})` : ''}`);
    }
    const restart = p.restartOnChange !== false && (fileChanged || st.needReload);
    const fail = (what: string) => (r: { code: number; stdout: string; stderr: string }) => `${what} failed (exit ${r.code}):\n${(r.stderr || r.stdout).trim()}`;
    if (p.state === 'started') {
      if (!running) act({ summary: `start ${unit}`, exec: systemctlCommand(p.name, 'start'), failMessage: fail(`start ${unit}`), starts: unit });
      else if (restart) act({ summary: `restart ${unit} (it ran the old definition)`, exec: systemctlCommand(p.name, 'restart'), failMessage: fail(`restart ${unit}`) });
      else notes.push(`${unit} is running`);
    } else if (p.state === 'stopped') {
      if (running) act({ summary: `stop ${unit}`, exec: systemctlCommand(p.name, 'stop'), failMessage: fail(`stop ${unit}`), stops: unit });
      else notes.push(`${unit} is stopped`);
    } else if (running && restart) {
      act({ summary: `restart ${unit} (it ran the old definition)`, exec: systemctlCommand(p.name, 'restart'), failMessage: fail(`restart ${unit}`) });
    }
    return changes(out, notes);
  },
});

/**
 * The file planner for the unit text. A drop-in's directory may not exist
 * yet: it is created first, and the write planned on top of that mkdir (the
 * planner would otherwise refuse a missing parent).
 */
async function planUnitFile(ctx: PlanContext, path: string, text: string, task: string) {
  const st = await ctx.fact(fileState(path));
  if (st.type !== 'missing' || st.parent) return planFile(ctx, { path, state: 'file', content: text, mode: '0644' }, { task });
  const mkdir: Change = { summary: `create directory ${show(dirOf(path))}`, exec: mkdirCommand(dirOf(path), { mode: '0755' }) };
  const onTop: PlanContext = { ...ctx, fact: ctx.fact, facts: ctx.facts, pending: [...ctx.pending, mkdir] };
  const planned = await planFile(onTop, { path, state: 'file', content: text, mode: '0644' }, { task });
  // Our own mkdir comes first in this plan: the write is certain, not a prediction.
  return { ...planned, changes: [mkdir, ...planned.changes.map(({ predicted: _p, ...c }) => c)] };
}
