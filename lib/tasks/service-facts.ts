import { fact, type Fact } from '../core/fact.ts';
import { quote } from '../core/shell.ts';

/** What the host says about a service: which init system, and the unit's or script's state. */
export type ServiceState =
  | {
      init: 'systemd';
      /** LoadState: loaded, not-found, masked, … */
      load: string;
      /** ActiveState: active, inactive, failed, activating, … */
      active: string;
      sub: string;
      /** UnitFileState: enabled, disabled, static, masked, '' … */
      unitFile: string;
      /** The unit file changed on disk since systemd read it. */
      needReload: boolean;
    }
  | {
      init: 'sysv';
      /** /etc/init.d/NAME exists. */
      script: boolean;
      /** A process with that exact name runs (pgrep -x). */
      running: boolean;
      /** A start link exists in a multi-user runlevel (rc2-5.d). */
      boot: boolean;
    };

/** Unit names, including instances (getty@tty1) and systemd's \x2d escapes. */
export const UNIT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@\\-]*$/;

const UNIT_SUFFIX = /\.(service|socket|timer|target|mount|automount|path|slice|scope|swap|device)$/;

/** `nginx` → `nginx.service`; names with a unit suffix stay as they are. */
export function unitName(name: string): string {
  return UNIT_SUFFIX.test(name) ? name : `${name}.service`;
}

/** The init script's name: the service name without `.service`. */
export function scriptName(name: string): string {
  return name.replace(/\.service$/, '');
}

/**
 * `pgrep -x` matches a regex against the whole process name, which the kernel cuts to
 * 15 characters: cut it the same way and escape it, so the match is literal.
 */
export function processPattern(process: string): string {
  return process.slice(0, 15).replace(/[.[\]*^$+?(){}|\\]/g, '\\$&');
}

/**
 * One command: PID 1 systemd or not; then either the unit's properties
 * (`systemctl show`) or, without systemd, whether the init script exists,
 * whether the process runs and whether it starts at boot. Output is
 * `KEY=value` lines.
 */
export function serviceState(name: string, process: string): Fact<ServiceState> {
  const script = scriptName(name);
  const command = [
    'if test -d /run/systemd/system; then',
    '  echo init=systemd',
    `  systemctl show -p LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload ${quote(unitName(name))} 2>/dev/null`,
    'else',
    '  echo init=sysv',
    `  if test -f /etc/init.d/${quote(script)}; then echo script=yes; else echo script=no; fi`,
    `  if pgrep -x ${quote(processPattern(process))} >/dev/null 2>&1; then echo running=yes; else echo running=no; fi`,
    `  set -- /etc/rc[2345].d/S[0-9][0-9]${quote(script)}`,
    '  if test -e "$1"; then echo boot=yes; else echo boot=no; fi',
    'fi',
  ].join('\n');
  return fact(`service:${name}:${process}`, command, parseServiceState);
}

export function parseServiceState(out: string): ServiceState {
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (kv.get('init') === 'systemd') {
    return {
      init: 'systemd',
      load: kv.get('LoadState') || 'not-found',
      active: kv.get('ActiveState') || 'inactive',
      sub: kv.get('SubState') ?? '',
      unitFile: kv.get('UnitFileState') ?? '',
      needReload: kv.get('NeedDaemonReload') === 'yes',
    };
  }
  return { init: 'sysv', script: kv.get('script') === 'yes', running: kv.get('running') === 'yes', boot: kv.get('boot') === 'yes' };
}
