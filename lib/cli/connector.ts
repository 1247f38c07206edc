import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostView } from '../core/host.ts';
import type { Transport } from '../core/transport.ts';
import type { Connector } from '../engine/connections.ts';
// The profile alone: the lab module's index loads all of `play lab` (qemu, nspawn, apt repo).
import { readLabProfile, type LabProfile } from '../lab/state.ts';
// ssh2 and ssh2-promise (a third of start-up) load when a run connects by
// itself (ssh.ts, imported below when it does), not when the agent connects
// for it or nothing connects.
import type { SshJump, SshOptions } from '../transport/ssh-options.ts';
import { noSshConfig, readSshConfig, type SshConfigLookup } from '../transport/ssh-config.ts';
import { ConnectError } from '../core/errors.ts';
import { parseJump } from '../core/jump-spec.ts';
import type { AgentClient } from '../agent/client.ts';
import { localTransport } from '../transport/local.ts';

/** What play decides for every host's connection (from the command line), as SshOptions names it. */
export type PlaySettings = Required<Pick<SshOptions, 'acceptNewHostKeys' | 'connectTimeoutMs' | 'commandTimeoutMs'>>;

export interface ConnectSettings extends PlaySettings {
  /** Connect through the connection agent (kept connections); absent: connect directly. */
  agent?: AgentClient;
  /** Told of every host connected to directly (not through the agent), once logged in. */
  connected?: (o: SshOptions) => void;
}

/**
 * How play reaches each host. The controller is local; a host whose address
 * belongs to the running lab uses the lab's key and known_hosts unless the
 * inventory gives its own (so the seed's inventory serves the lab and real
 * machines alike, unedited); every other host uses its inventory settings,
 * then ~/.ssh/config (see sshOptionsOf).
 * PLAY_LAB=0 turns the lab profile off.
 */
export function makeConnector(
  s: ConnectSettings, lab: LabProfile | undefined = process.env.PLAY_LAB === '0' ? undefined : readLabProfile(), sshConfig: SshConfigLookup = readSshConfig(),
): Connector {
  return async (host: HostView): Promise<Transport> => {
    if (host.local) return localTransport(host.name, { commandTimeoutMs: s.commandTimeoutMs });
    const inLab = lab?.hosts.some((h) => h.address === host.address);
    // A lab host: the lab's key and known_hosts fill in what the inventory leaves out (its own proxyJump, key or known_hosts win); ~/.ssh/config is not read for it.
    const given = Object.fromEntries(Object.entries(host.settings ?? {}).filter(([, v]) => v !== undefined));
    const options = inLab
      ? sshOptionsOf({ ...host, settings: { port: host.port, user: host.user, identityFile: lab!.identityFile, knownHostsFile: lab!.knownHostsFile, ...given } }, noSshConfig, s)
      : sshOptionsOf(host, sshConfig, s);
    if (s.agent) return s.agent.transport(options);
    const t = await (await import('../transport/ssh.ts')).connectSsh(options);
    s.connected?.(options);
    return t;
  };
}

/** OpenSSH allows chains of jump hosts; a loop in ~/.ssh/config must end somewhere. */
const MAX_JUMPS = 8;

/**
 * The one place a host's SSH options are made: what the inventory gives
 * (the host's own, else its groups', else its defaults), then ~/.ssh/config
 * for the host's address (as `ssh ADDRESS` would look it up: HostName,
 * User, Port, IdentityFile, ProxyJump, UserKnownHostsFile,
 * StrictHostKeyChecking accept-new), then play's defaults, with what play
 * decides for every host (`play`: timeouts, --accept-new-host-keys). Jump
 * hosts are looked up in ~/.ssh/config too, and checked against the host's
 * known_hosts when the inventory names one.
 *
 * @example
 * ```ts
 * import { sshOptionsOf } from './connector.ts';
 * import { sshConfigLookup } from '../transport/ssh-config.ts';
 * const config = sshConfigLookup('Host web1\n  HostName 10.0.0.21\n  ProxyJump deploy@bastion\n');
 * sshOptionsOf({ name: 'web1', address: 'web1', port: 22, user: 'root', become: false, groups: [], vars: {} }, config,
 *   { acceptNewHostKeys: false, connectTimeoutMs: 10_000, commandTimeoutMs: 300_000 });
 * ```
 */
export function sshOptionsOf(host: HostView, sshConfig: SshConfigLookup, play: PlaySettings): SshOptions {
  const given = host.settings ?? host;
  const c = sshConfig(host.address);
  const knownHostsFile = absolute(given.knownHostsFile ?? c.knownHostsFile);
  const jump = (spec: string | undefined, depth: number): SshJump | undefined => {
    if (spec === undefined) return undefined;
    if (depth >= MAX_JUMPS) throw new ConnectError(host.name, `more than ${MAX_JUMPS} jump hosts (a ProxyJump loop in ~/.ssh/config?)`);
    const hop = parseJump(spec);
    // The inventory's own proxyJump was checked before anything connected: this one is ~/.ssh/config's.
    if (!hop) throw new ConnectError(host.name, `ProxyJump ${JSON.stringify(spec)} in ~/.ssh/config is not [user@]host[:port]`);
    const hc = sshConfig(hop.host);
    const kh = knownHostsFile ?? absolute(hc.knownHostsFile);
    const port = hop.port ?? hc.port;
    const user = hop.user ?? hc.user;
    const identityFile = absolute(hc.identityFile ?? given.identityFile);
    const next = jump(hc.proxyJump, depth + 1);
    return {
      address: hc.hostName ?? hop.host,
      ...(port === undefined ? {} : { port }), ...(user === undefined ? {} : { user }),
      ...(identityFile === undefined ? {} : { identityFile }), ...(kh === undefined ? {} : { knownHostsFile: kh }),
      ...(next ? { jump: next } : {}),
    };
  };
  const via = jump(given.proxyJump ?? c.proxyJump, 0);
  const identityFile = absolute(given.identityFile ?? c.identityFile);
  return {
    host: host.name,
    address: c.hostName ?? host.address,
    port: given.port ?? c.port ?? 22,
    user: given.user ?? c.user ?? 'root',
    ...(identityFile === undefined ? {} : { identityFile }),
    ...(knownHostsFile === undefined ? {} : { knownHostsFile }),
    acceptNewHostKeys: play.acceptNewHostKeys || !!c.acceptNewHostKeys,
    ...(via ? { jump: via } : {}),
    connectTimeoutMs: play.connectTimeoutMs,
    commandTimeoutMs: play.commandTimeoutMs,
    become: host.become,
    ...(host.becomePassword === undefined ? {} : { becomePassword: host.becomePassword }),
  };
}

/** Paths as the user meant them (`~/` is the home directory), from where play runs: the connection agent runs in `/`. */
function absolute<T extends string | readonly string[] | undefined>(p: T): T {
  const one = (f: string) => (f.startsWith('~/') ? join(process.env.HOME || homedir(), f.slice(2)) : resolve(f));
  if (p === undefined) return p;
  return (typeof p === 'string' ? one(p) : p.map(one)) as T;
}
