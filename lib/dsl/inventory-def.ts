/**
 * What an inventory is made of, as types alone: roles name the resolved
 * {@link Inventory} they are given without loading the module that builds
 * it (which knows playbooks, which know roles).
 */
import type { Problem } from '../core/errors.ts';
import type { ConnectionSettings, HostView } from '../core/host.ts';

/** How to reach one host, and its own variables. Connection settings it leaves out come from the inventory's `defaults`. */
export interface HostDef<V> extends ConnectionDefaults {
  /** IPv4/IPv6 address or DNS name. */
  address: string;
  /** Groups this host belongs to (besides groups listing it). */
  groups?: readonly string[];
  /** Host variables: override group and global ones. */
  vars?: Partial<V>;
}

/**
 * A group: its members, variables and connection settings (for its hosts
 * that do not set their own; groups apply in the order they are declared,
 * over the inventory's `defaults`).
 */
export interface GroupDef<V> extends ConnectionSettings {
  /** Names of hosts (declared under `hosts`). */
  hosts?: readonly string[];
  vars?: Partial<V>;
}

/** Connection settings applied to every host that does not set its own (the same fields a host has). */
export type ConnectionDefaults = ConnectionSettings;

/**
 * An inventory. `V` is the type of the variables every host ends up with:
 * the global `vars` must be a complete `V`, groups and hosts override parts.
 */
export interface InventoryDef<V> {
  vars: V;
  hosts: Readonly<Record<string, HostDef<V>>>;
  groups?: Readonly<Record<string, GroupDef<V>>>;
  defaults?: ConnectionDefaults;
}

/** An inventory resolved: every host with merged variables, every group's members. */
export interface Inventory<V = any> {
  readonly hosts: readonly HostView<V>[];
  readonly groups: ReadonlyMap<string, readonly string[]>;
  readonly vars: Readonly<V>;
  /** Problems found while resolving (unknown hosts in groups, duplicates …). */
  readonly problems: readonly Problem[];
  /** The definition, for tools that need more (the lab reads addresses from it). */
  readonly def: InventoryDef<V>;
}
