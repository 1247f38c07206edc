/** Every task constructor and its parameters, as `'playbook-ts'` exports them. */
export { command, type CommandParams } from './command.ts';
export { apt, type AptParams } from './apt.ts';
export { file, type FileParams } from './file.ts';
export { template, type TemplateParams } from './template.ts';
export { sysctl, type SysctlParams, DEFAULT_SYSCTL_FILE } from './sysctl.ts';
export { service, type ServiceParams } from './service.ts';
export { copy, type CopyParams } from './copy.ts';
export { lineinfile, type LineinfileParams } from './lineinfile.ts';
export { blockinfile, type BlockinfileParams, DEFAULT_MARKER } from './blockinfile.ts';
export { user, type UserParams } from './user.ts';
export { group, type GroupParams } from './group.ts';
export { systemdUnit, type SystemdUnitParams } from './systemd-unit.ts';
export { daemonReload, type DaemonReloadParams } from './daemon-reload.ts';
export { waitFor, type WaitForParams } from './wait-for.ts';
export { ufw, type UfwParams, type UfwRule } from './ufw.ts';
export { reboot, type RebootParams } from './reboot.ts';
