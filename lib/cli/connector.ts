import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostView } from '../core/host.ts';
import type { Transport } from '../core/transport.ts';
import type { Connector } from '../engine/connections.ts';
// The profile alone: the lab module's index loads all of `play lab` (qemu, nspawn, apt repo).
import { readLabProfile, type LabProfile } from '../lab/state.ts';
// Types only: ssh2 and ssh2-promise (a third of start-up) load when a run
// connects by itself, not when the agent connects for it or nothing connects.
import type { SshOptions } from '../transport/ssh.ts';
import type { AgentClient } from '../agent/client.ts';
import { localTransport } from '../transport/local.ts';

export interface ConnectSettings {
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** Connect through the connection agent (kept connections); absent: connect directly. */
  agent?: AgentClient;
  /** Told of every host connected to directly (not through the agent), once logged in. */
  connected?: (o: SshOptions) => void;
}

/**
 * How play reaches each host. The controller is local; a host whose address
 * belongs to the running lab uses the lab's key and known_hosts (so one
 * inventory serves the lab and real machines alike, unedited); every other
 * host uses its inventory settings (known_hosts: its `knownHostsFile`, else
 * ~/.ssh/known_hosts). PLAY_LAB=0 turns the lab
 * profile off.
 */
export function makeConnector(s: ConnectSettings, lab: LabProfile | undefined = process.env.PLAY_LAB === '0' ? undefined : readLabProfile()): Connector {
  return async (host: HostView): Promise<Transport> => {
    if (host.local) return localTransport(host.name, { commandTimeoutMs: s.commandTimeoutMs });
    const inLab = lab?.hosts.some((h) => h.address === host.address);
    const options: SshOptions = {
      host: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      identityFile: inLab ? lab!.identityFile : absolute(host.identityFile),
      knownHostsFile: inLab ? lab!.knownHostsFile : absolute(host.knownHostsFile),
      acceptNewHostKeys: s.acceptNewHostKeys,
      connectTimeoutMs: s.connectTimeoutMs,
      commandTimeoutMs: s.commandTimeoutMs,
      become: host.become,
      becomePassword: host.becomePassword,
    };
    if (s.agent) return s.agent.transport(options);
    const t = await (await import('../transport/ssh.ts')).connectSsh(options);
    s.connected?.(options);
    return t;
  };
}

/** Paths as the user meant them (`~/` is the home directory), from where play runs: the connection agent runs in `/`. */
function absolute<T extends string | readonly string[] | undefined>(p: T): T {
  const one = (f: string) => (f.startsWith('~/') ? join(process.env.HOME || homedir(), f.slice(2)) : resolve(f));
  if (p === undefined) return p;
  return (typeof p === 'string' ? one(p) : p.map(one)) as T;
}
