import type { Secret } from './secret.ts';

/**
 * How to reach a host: set per host in an inventory, per group, or in its
 * `defaults` for every host that does not set its own. The one shape both take, so a
 * new setting is added once (HostView and the transport's options carry the
 * same names).
 */
export interface ConnectionSettings {
  /** @default 22 */
  port?: number;
  /** @default 'root' */
  user?: string;
  /** Private key; @default ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa */
  identityFile?: string;
  /**
   * known_hosts file(s) host keys are checked against; a key accepted with
   * `--accept-new-host-keys` is written to the first. A relative path is
   * taken from the directory play runs in. @default '~/.ssh/known_hosts'
   */
  knownHostsFile?: string | readonly string[];
  /**
   * Reach the host through a jump host, `[user@]host[:port]`, as OpenSSH's
   * ProxyJump. The jump host's own settings come from ~/.ssh/config (its
   * key: IdentityFile there, else this host's `identityFile`); its host key
   * is checked against this host's known_hosts. @default none, or ~/.ssh/config's
   */
  proxyJump?: string;
  /** Run commands through sudo. @default false */
  become?: boolean;
  /** sudo password, sent once per command on stdin, never printed. Mark it with `secret()`. */
  becomePassword?: Secret;
}

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
  /** Through which host (`[user@]host[:port]`, OpenSSH's ProxyJump). */
  readonly proxyJump?: string;
  /**
   * The connection settings as the inventory gave them (host, else its
   * defaults), before play's own defaults: ~/.ssh/config fills in only what
   * they leave out. Absent: every field above was given.
   */
  readonly settings?: Readonly<ConnectionSettings>;
  readonly groups: readonly string[];
  /** Global < group < host variables, merged. */
  readonly vars: Readonly<V>;
  /** The controller itself (local transport), not a remote host. */
  readonly local?: boolean;
}
