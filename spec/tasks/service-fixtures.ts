/** Recorded answers of the service fact (`serviceState`), for task fixture tables. */
import { serviceState } from '../../lib/tasks/service-facts.ts';

/** `systemctl show` as systemd prints it (its own property order). */
export const unit = (name: string, props: { load?: string; active?: string; file?: string; reload?: string }, process = name) => ({
  cmd: serviceState(name, process).command,
  stdout: `init=systemd\nNeedDaemonReload=${props.reload ?? 'no'}\nLoadState=${props.load ?? 'loaded'}\nActiveState=${props.active ?? 'active'}\nSubState=${props.active === 'active' ? 'running' : 'dead'}\nUnitFileState=${props.file ?? 'enabled'}\n`,
});
export const sysv = (name: string, o: { script?: boolean; running?: boolean; boot?: boolean }, process = name) => ({
  cmd: serviceState(name, process).command,
  stdout: `init=sysv\nscript=${o.script === false ? 'no' : 'yes'}\nrunning=${o.running ? 'yes' : 'no'}\nboot=${o.boot ? 'yes' : 'no'}\n`,
});
