import type { Secret } from './secret.ts';

/**
 * How to reach a host: set per host in an inventory, per group, or in its
 * `defaults` for every host that does not set its own. The one shape every
 * other is derived from: a host's view (HostView, with play's defaults
 * filled in), the SSH transport's options (SshOptions, with the jump host
 * resolved) and what the connection agent is sent of them
 * (WireSshOptions), so a new setting is added here, once.
 */
export interface ConnectionSettings {
  /** @default 22 */
  port?: number;
  /** @default 'root' */
  user?: string;
  /**
   * Private key file (unencrypted). When absent: the ssh-agent at
   * `$SSH_AUTH_SOCK`, then whichever of `~/.ssh/id_ed25519`, `id_ecdsa`,
   * `id_rsa` exist.
   */
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
  /** Run commands through sudo (`sudo -n`, or `sudo -S` with the password; not when `user` is root). @default false */
  become?: boolean;
  /**
   * sudo password, written to sudo only when it asks for one (a sudo that
   * needs none never sees it, and neither does the command); never printed.
   * Mark it with `secret()`.
   */
  becomePassword?: Secret;
}

/** The settings a host ends up with: play's defaults in place of the port, user and become nobody gave. */
export type ResolvedConnectionSettings = Readonly<Required<Pick<ConnectionSettings, 'port' | 'user' | 'become'>> & Omit<ConnectionSettings, 'port' | 'user' | 'become'>>;

/** A host as the engine sees it: where to reach it, and its merged variables. */
export interface HostView<V = Record<string, unknown>> extends ResolvedConnectionSettings {
  /** Inventory name, e.g. "LB1". */
  readonly name: string;
  /** IPv4/IPv6 address or DNS name. */
  readonly address: string;
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
