import { quote } from '../core/shell.ts';
import { processPattern, scriptName, unitName } from './service-facts.ts';

/**
 * Commands that act on a service AND confirm the result in the same round
 * trip. An init system's word is not enough: Debian's keepalived init script
 * returns 0 when the daemon died, and a daemon can die right after
 * `systemctl start` returned. So the state is polled every 0.2 s: five
 * healthy polls in a row (~0.8 s) confirm, anything else within ~2 s fails
 * and prints the unit's last log lines on stderr. A systemd oneshot unit
 * that is active after `systemctl start` needs no polls.
 */

const POLLS = 10;
const HEALTHY = 5;

/**
 * Poll until `healthy` held `needed` times in a row (exit 0); a state that is
 * neither healthy nor `transient` fails at once; after ~2 s it must be healthy.
 */
function confirm(healthy: string, transient: string, explain: string, needed = HEALTHY): string {
  return [
    'ok=0; n=0',
    `while [ "$n" -lt ${POLLS} ]; do`,
    `  if ${healthy}; then ok=$((ok+1)); [ "$ok" -ge ${needed} ] && exit 0`,
    `  elif ${transient}; then ok=0`,
    '  else break; fi',
    '  n=$((n+1)); sleep 0.2',
    'done',
    `if ${healthy}; then exit 0; fi`,
    explain,
    'exit 1',
  ].join('\n');
}

export type Action = 'start' | 'stop' | 'restart' | 'reload';

/** `systemctl ACTION` then the real state, with the journal on failure. */
export function systemctlCommand(name: string, action: Action): string {
  const unit = quote(unitName(name));
  const journal = `journalctl -u ${unit} -n 20 --no-pager >&2`;
  const act = `systemctl ${action} ${unit} || { rc=$?; ${journal}; exit "$rc"; }`;
  if (action === 'stop') {
    return [
      act,
      `s=$(systemctl is-active ${unit})`,
      `case "$s" in inactive|failed|unknown) exit 0;; esac`,
      `echo ${quote(unitName(name))}" is still $s after stop" >&2; exit 1`,
    ].join('\n');
  }
  return [
    act,
    // A oneshot unit has no daemon to die later: `systemctl start` returned
    // once its commands had run, and "active" is final (RemainAfterExit).
    `[ "$(systemctl show -p Type --value ${unit})" = oneshot ] && [ "$(systemctl is-active ${unit})" = active ] && exit 0`,
    confirm(
      `[ "$(systemctl is-active ${unit})" = active ]`,
      `case "$(systemctl is-active ${unit})" in activating|reloading) true;; *) false;; esac`,
      `echo ${unit}" is $(systemctl is-active ${unit}) after ${action}, not active; its last log lines:" >&2; ${journal}`,
    ),
  ].join('\n');
}

/** `service NAME ACTION` then whether the process really runs (or is really gone). */
export function initScriptCommand(name: string, action: Action, process: string): string {
  const running = `pgrep -x ${quote(processPattern(process))} >/dev/null 2>&1`;
  const act = `out=$(service ${quote(scriptName(name))} ${action} 2>&1); rc=$?`;
  const show = `printf '%s\\n' "$out" >&2`;
  if (action === 'stop') {
    return [
      act,
      // Gone once is enough; a process that is still there may be finishing its shutdown.
      confirm(`! ${running}`, 'true', `${show}; echo ${quote(`process ${process} still runs after stop`)}" (init script exit $rc)" >&2`, 1),
    ].join('\n');
  }
  return [
    act,
    // Not running yet is not a failure: a daemon may take a moment to appear.
    confirm(running, 'true', `${show}; echo ${quote(`process ${process} is not running after ${action}`)}" (init script exit $rc)" >&2`),
  ].join('\n');
}

export function enableCommand(init: 'systemd' | 'sysv', name: string, enable: boolean): string {
  if (init === 'systemd') return `systemctl ${enable ? 'enable' : 'disable'} ${quote(unitName(name))}`;
  const script = quote(scriptName(name));
  return enable ? `update-rc.d ${script} defaults && update-rc.d ${script} enable` : `update-rc.d ${script} disable`;
}
