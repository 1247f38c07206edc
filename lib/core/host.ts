import type { Secret } from './secret.ts';

/** A host as the engine sees it: where to reach it, and its merged variables. */
export interface HostView<V = Record<string, unknown>> {
  /** Inventory name, e.g. "LB1". */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Private key file; when absent the agent and default identities are tried. */
  readonly identityFile?: string;
  /** known_hosts file(s); when absent ~/.ssh/known_hosts. */
  readonly knownHostsFile?: string | readonly string[];
  /** Run commands through `sudo -n` (or `sudo -S` with the password). */
  readonly become: boolean;
  readonly becomePassword?: Secret;
  readonly groups: readonly string[];
  /** Global < group < host variables, merged. */
  readonly vars: Readonly<V>;
  /** The controller itself (local transport), not a remote host. */
  readonly local?: boolean;
}
