/** Every task constructor and its parameters, as `'playbook-ts'` exports them. */
export { command, type CommandParams } from './command.ts';
export { apt, type AptParams } from './apt.ts';
export { file, type FileParams } from './file.ts';
export { template, type TemplateParams } from './template.ts';
export { sysctl, type SysctlParams, DEFAULT_SYSCTL_FILE } from './sysctl.ts';
export { service, type ServiceParams } from './service.ts';
