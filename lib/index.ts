/**
 * play's public API: what playbooks, roles and inventories import as `'playbook-ts'`.
 */
export { defineInventory, CONTROLLER, type Inventory, type InventoryDef, type HostDef, type GroupDef } from './dsl/inventory.ts';
export { defineRole, type Role, type RoleContext, type VarProblem, type InventoryRule, type InventoryProblem } from './dsl/role.ts';
export { definePlaybook, type Play, type Playbook, type VarsOf, type Serial, type HostOrder, type RollDecision, type RollContext, type RollAnswer } from './dsl/playbook.ts';
export { secret, type Secret } from './core/secret.ts';
export { sh, quote } from './core/shell.ts';
export { fact, type Fact, type FactRecord, type FactValues } from './core/fact.ts';
export { defineTask, type TaskSpec } from './core/define-task.ts';
export { noop, changes, outline, type Change, type CommandChange, type ApplyChange, type ApplyIO, type Plan, type Diff } from './core/change.ts';
export type { Task, TaskOptions, PlanContext, WhenContext, HostAccess } from './core/task.ts';
export type { HostView } from './core/host.ts';
export type { TaskResult, Status } from './core/result.ts';
export { TaskError } from './core/errors.ts';
export * from './tasks/index.ts';
export { hostFacts, type OsRelease, type Kernel, type NetInterface, type Memory, type Cpus } from './facts/host.ts';
export { withFacts, type WithFactsInput, type BuildContext } from './facts/with-facts.ts';
