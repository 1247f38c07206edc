/**
 * What an SSH connection is opened with, and what an open one offers: the
 * shapes the CLI, the connection agent and the transport share, without
 * loading ssh2 (a third of play's start-up) for them.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSettings } from '../core/host.ts';
import type { Transport } from '../core/transport.ts';
import { checkHostKey, readKnownHostsFiles } from './known-hosts.ts';

/**
 * How to reach and log in to one host: a host's connection settings, its
 * jump host resolved (`jump` in place of `proxyJump`), and what play itself
 * decides (timeouts, host-key policy).
 */
export interface SshOptions extends Readonly<Omit<ConnectionSettings, 'proxyJump'>> {
  /** Inventory name of the host, for messages. */
  readonly host: string;
  /** Name or IP address to connect to; also the name looked up in known_hosts. */
  readonly address: string;
  /**
   * Trust a host with no recorded key and record its key (OpenSSH's
   * `StrictHostKeyChecking=accept-new`). A changed key is refused regardless.
   * @default false
   */
  readonly acceptNewHostKeys?: boolean;
  /** Time allowed for TCP connect, SSH handshake and login together (each hop through a jump host gets as much). @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Per-command timeout when RunOptions.timeoutMs is absent. @default 300_000 */
  readonly commandTimeoutMs?: number;
  /**
   * Commands running at once on the connection; more wait their turn.
   * OpenSSH's sshd refuses an 11th session by default (`MaxSessions 10`).
   * @default 10
   */
  readonly maxChannels?: number;
  /** Where `HOME` and `SSH_AUTH_SOCK` are read from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Reach the host through another one (OpenSSH's ProxyJump): play logs in
   * to the jump host, checks its host key like any host's (same
   * `acceptNewHostKeys`), then opens a TCP channel from it to
   * `address:port` (ssh2's forwardOut) and logs in to the host over that.
   * A jump host may have its own `jump`. Closing the connection closes the
   * jump host's too.
   */
  readonly jump?: SshJump;
}

/** How to log in to a jump host: the connection settings of SshOptions that are its own. */
export type SshJump = Pick<SshOptions, 'address' | 'port' | 'user' | 'identityFile' | 'knownHostsFile' | 'jump'>;

/**
 * An open SSH connection: a {@link Transport} that can also say which host
 * key it was opened with and whether the peer still answers, which is what
 * play's connection agent needs before it hands a kept connection to a new run.
 */
export interface SshConnection extends Transport {
  /** The host key the server presented (and known_hosts trusted) at login. */
  readonly hostKey: Buffer;
  /** The jump host's connection this one runs through (SshOptions.jump), if any. */
  readonly via?: SshConnection;
  /** True while the connection is logged in and not closed or lost. */
  readonly isOpen: boolean;
  /**
   * Resolves true when the server answers an SSH keepalive within
   * `timeoutMs`: one round trip, no command run, nothing logged on the host.
   */
  alive(timeoutMs: number): Promise<boolean>;
}

/** The known_hosts files `o` names, with `~/.ssh/known_hosts` when it names none. */
export function knownHostsFilesOf(o: SshOptions, home: string): string[] {
  return o.knownHostsFile === undefined ? [join(home, '.ssh', 'known_hosts')]
    : typeof o.knownHostsFile === 'string' ? [o.knownHostsFile] : [...o.knownHostsFile];
}

/**
 * Whether known_hosts (as configured in `o`) still trusts `key` for the host,
 * and each jump host's key (of `via`, the connection's jump host): a kept
 * connection is only reused while it does, so removing or changing a host's
 * entry takes effect on the next run, as it would without reuse.
 *
 * @example
 * ```ts
 * import { connectSsh } from './ssh.ts';
 * import { hostKeyStillTrusted } from './ssh-options.ts';
 * const o = { host: 'LB1', address: '10.0.0.11' };
 * const conn = await connectSsh(o);
 * if (!hostKeyStillTrusted(o, conn.hostKey)) await conn.close();
 * ```
 */
export function hostKeyStillTrusted(o: SshOptions, key: Buffer, via?: SshConnection): boolean {
  const env = o.env ?? process.env;
  try {
    if (checkHostKey(readKnownHostsFiles(knownHostsFilesOf(o, env.HOME || homedir())), o.address, o.port ?? 22, key).status !== 'trusted') return false;
  } catch {
    return false;
  }
  // Each jump host's key too: an edited known_hosts entry for it counts as much as the host's own.
  if (!o.jump) return true;
  return !!via && hostKeyStillTrusted({ ...o.jump, host: o.host, env }, via.hostKey, via.via);
}
