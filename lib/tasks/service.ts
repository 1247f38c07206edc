import { changes, type Change } from '../core/change.ts';
import { TaskError } from '../core/errors.ts';
import { boolean, matching, oneOf } from './checks.ts';
import { enableCommand, initScriptCommand, systemctlCommand, type Action } from './service-commands.ts';
import { UNIT_NAME, scriptName, serviceState, unitName, type ServiceState } from './service-facts.ts';
import { defineTask } from '../core/define-task.ts';

/** Parameters of {@link service}. */
export interface ServiceParams {
  /** Service (systemd unit or init script) name, e.g. `nginx` or `getty@tty1`. */
  name: string;
  /**
   * `started`/`stopped` are states (no-op when already so); `restarted` and
   * `reloaded` are actions, always a change: reach them through `notify`.
   * A reload of a stopped service starts it. A `restarted` handler skips a
   * service this run started after the change that notified it (see
   * {@link service}).
   */
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  /** Start at boot (systemctl enable / update-rc.d). @default left as it is */
  enabled?: boolean;
  /** Process name that proves the service runs, without systemd (pgrep -x). @default the service name */
  process?: string;
}

const STATES = ['started', 'stopped', 'restarted', 'reloaded'] as const;
/** `systemctl is-enabled` exits 0 for these: enabling has nothing more to do. */
const ENABLED = new Set(['enabled', 'enabled-runtime', 'alias', 'static', 'indirect', 'generated', 'transient']);
/** These can be turned off by `systemctl disable`. */
const DISABLEABLE = new Set(['enabled', 'enabled-runtime', 'alias']);

const PAST: Record<Action | 'enable', string> = { start: 'started', stop: 'stopped', restart: 'restarted', reload: 'reloaded', enable: 'enabled' };

/**
 * Keep a service started or stopped and enabled at boot or not; or restart /
 * reload it (usually as a handler). Uses systemd when PID 1 is systemd, the
 * init script otherwise, and after acting confirms the real state: a service
 * that did not stay up fails the task with its last log lines.
 *
 * A `restarted` handler does not restart a service that this run started
 * from stopped after the last task that notified the handler — on a first
 * run, the config is written, then the service started: the start already
 * read the new config. It reports ok with the note "NAME started after the
 * change that notified this handler: no restart needed" (shown with `-v`),
 * and check mode predicts the same. A service that was running before the
 * change, or was started before it (and so runs the old config), is
 * restarted, as is one stopped again since its start.
 *
 * @example
 * ```ts
 * import { service } from 'playbook-ts';
 * const up = service({ name: 'keepalived', state: 'started', enabled: true });
 * const handler = service({ title: 'restart keepalived', name: 'keepalived', state: 'restarted' });
 * const off = service({ name: 'apache2', state: 'stopped', enabled: false });
 * ```
 */
export const service = defineTask<ServiceParams>({
  kind: 'service',
  keys: ['name', 'state', 'enabled', 'process'],
  required: ['name'],
  name: (p) => `service ${p.name}${p.state ? ` ${p.state}` : ''}`,
  check: (p) => {
    const out = [
      ...matching('name', p.name, UNIT_NAME, 'a service or unit name such as nginx or getty@tty1'),
      ...oneOf('state', p.state, STATES),
      ...boolean('enabled', p.enabled),
      ...matching('process', p.process, /^[^\s/-][^\s/]*$/, 'a process name (as pgrep -x sees it)'),
    ];
    if (p.state === undefined && p.enabled === undefined) out.push({ field: 'state', message: 'say what to do: give state, enabled, or both' });
    return out;
  },
  facts: (p) => [serviceState(p.name, processOf(p))],
  plan: async (p, ctx) => {
    const st = await ctx.fact(serviceState(p.name, processOf(p)));
    const missing = st.init === 'systemd' ? st.load === 'not-found' : !st.script;
    const subject = st.init === 'systemd' ? `unit ${unitName(p.name)}` : `init script /etc/init.d/${scriptName(p.name)}`;
    const out: Change[] = [];
    const notes: string[] = [];
    const act = (action: Action | 'enable', summary: string, exec: string): void => {
      const c: Change = {
        summary, exec, failMessage: (r) => `${summary} failed (exit ${r.code}):\n${(r.stderr || r.stdout).trim()}`,
        ...(action === 'start' ? { starts: unitName(p.name) } : action === 'stop' ? { stops: unitName(p.name) } : {}),
      };
      if (missing) {
        if (ctx.pending.length === 0) throw new TaskError(ctx.host.name, `service ${p.name}`, `${subject} not found`);
        c.predicted = `${p.name} would be ${PAST[action]}; its ${st.init === 'systemd' ? 'unit' : 'init script'} does not exist yet, expected from an earlier change`;
      }
      out.push(c);
    };
    if (st.init === 'systemd' && st.load === 'masked' && (p.state === 'started' || p.state === 'restarted' || p.state === 'reloaded' || p.enabled)) {
      throw new TaskError(ctx.host.name, `service ${p.name}`, `${subject} is masked; unmask it first`);
    }
    if (st.init === 'systemd' && st.needReload && !missing) {
      out.push({ summary: `reload systemd (${unitName(p.name)} changed on disk)`, exec: 'systemctl daemon-reload' });
    }

    const running = st.init === 'systemd' ? ['active', 'reloading'].includes(st.active) : st.running;
    const command = (a: Action) => (st.init === 'systemd' ? systemctlCommand(p.name, a) : initScriptCommand(p.name, a, processOf(p)));
    const state = p.state;
    if (state === 'started' && !running) act('start', `start ${p.name}`, command('start'));
    else if (state === 'stopped' && (running || (st.init === 'systemd' && st.active === 'activating'))) act('stop', `stop ${p.name}`, command('stop'));
    // A handler after the service's start in this run: the start read what notified it. (Still
    // running, or in check mode started by a planned change; one that died since is restarted.)
    else if (state === 'restarted' && ctx.startedSinceNotified(unitName(p.name)) && (running || ctx.pending.length > 0)) {
      notes.push(`${p.name} started after the change that notified this handler: no restart needed`);
    } else if (state === 'restarted') act('restart', `restart ${p.name}`, command('restart'));
    else if (state === 'reloaded') {
      if (running || missing) act('reload', `reload ${p.name}`, command('reload'));
      else act('start', `start ${p.name} (it was not running, so reload would do nothing)`, command('start'));
    } else if (state === 'started') notes.push(`${p.name} is running`);
    else if (state === 'stopped') notes.push(missing ? `${p.name} is stopped (${subject} does not exist)` : `${p.name} is stopped`);

    if (p.enabled !== undefined) {
      const enabled = st.init === 'systemd' ? ENABLED.has(st.unitFile) : st.boot;
      if (p.enabled && !enabled) act('enable', `enable ${p.name}`, enableCommand(st.init, p.name, true));
      else if (!p.enabled && (st.init === 'systemd' ? DISABLEABLE.has(st.unitFile) : st.boot)) {
        out.push({ summary: `disable ${p.name}`, exec: enableCommand(st.init, p.name, false) });
      } else notes.push(enabledNote(p.name, p.enabled, st));
    }
    return changes(out, merge(notes, p.name));
  },
});

function processOf(p: ServiceParams): string {
  return p.process ?? scriptName(p.name);
}

function enabledNote(name: string, want: boolean, st: ServiceState): string {
  if (st.init === 'systemd' && ['static', 'indirect', 'generated', 'transient'].includes(st.unitFile)) {
    return `${name} is ${st.unitFile} (started by dependency, not enabled by itself)`;
  }
  if (st.init === 'systemd' && st.unitFile.startsWith('masked')) return `${name} is masked`;
  return `${name} is ${want ? 'enabled' : 'disabled'}`;
}

/** "nginx is running" + "nginx is enabled" → "nginx is running and enabled". */
function merge(notes: string[], name: string): string[] {
  const prefix = `${name} is `;
  if (notes.length === 2 && notes.every((n) => n.startsWith(prefix))) return [`${notes[0]} and ${notes[1]!.slice(prefix.length)}`];
  return notes;
}
