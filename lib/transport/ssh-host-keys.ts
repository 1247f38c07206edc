/**
 * The host-key guard: whether the key a server presents is trusted, from
 * known_hosts alone, decided before any login attempt; and which key types
 * to ask the server for, so a host known by one of its keys shows that one.
 */
import { ConnectError, HostKeyError } from '../core/errors.ts';
import {
  appendKnownHost, checkHostKey, hostLookupName, knownHostsLine, lookupKnownHost, readKnownHostsFiles,
  type HostKeyCheck,
} from './known-hosts.ts';

/** The host key algorithms play asks for, by ssh2's names. */
export type HostKeyAlgorithm = 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'rsa-sha2-512' | 'rsa-sha2-256' | 'ssh-rsa' | 'ssh-dss';

/** A connection's host-key decision, and what it saw. */
export interface HostKeyGuard {
  verify: (key: Buffer) => boolean;
  /** The key the server presented, once it has. */
  presented: () => Buffer | undefined;
  /** Why the key was refused, once it has been. */
  refusal: () => ConnectError | undefined;
}

/** The hostVerifier: decides from known_hosts and records a new key when allowed to. */
export function hostKeyGuard(host: string, address: string, port: number, files: readonly string[], acceptNew: boolean): HostKeyGuard {
  const name = hostLookupName(address, port);
  let refusal: ConnectError | undefined;
  let presented: Buffer | undefined;
  const refuse = (e: ConnectError) => {
    refusal = e;
    return false;
  };
  return {
    refusal: () => refusal,
    presented: () => presented,
    // Synchronous on purpose: read, decide and append in one event-loop turn.
    verify: (key: Buffer): boolean => {
      presented = key;
      let check: HostKeyCheck;
      try {
        check = checkHostKey(readKnownHostsFiles(files), address, port, key);
      } catch (e) {
        return refuse(new ConnectError(host, `cannot read known_hosts: ${(e as Error).message}`));
      }
      switch (check.status) {
        case 'trusted':
          return true;
        case 'revoked':
          return refuse(new HostKeyError(host, `host key for ${name} (${check.presented}) is marked @revoked in known_hosts — refusing to connect`));
        case 'changed': {
          const known = check.known.map((k) => `${k.fingerprint} (${k.source})`).join(' or ');
          return refuse(new HostKeyError(host, `HOST KEY CHANGED for ${name}: known ${known}, presented ${check.presented} — refusing to connect`));
        }
        case 'unknown':
          if (!acceptNew) {
            return refuse(new HostKeyError(host, `host key for ${name} is not known (${check.presented}); add it to known_hosts or run with --accept-new-host-keys`));
          }
          try {
            appendKnownHost(files[0]!, knownHostsLine(address, port, key));
          } catch (e) {
            return refuse(new ConnectError(host, `cannot record the new host key for ${name} in ${files[0]}: ${(e as Error).message}`));
          }
          return true;
      }
    },
  };
}

const HOST_KEY_ALGORITHMS: Record<string, HostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};
/** ssh2's own default order (lib/protocol/constants.js). */
const DEFAULT_HOST_KEY_ORDER: HostKeyAlgorithm[] = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
];

/**
 * Ask for the key types already recorded for the host first, as OpenSSH does:
 * otherwise a host known by its ECDSA key that also has an Ed25519 one would
 * present the Ed25519 key and look changed.
 */
export function hostKeyAlgorithms(files: readonly string[], address: string, port: number): HostKeyAlgorithm[] {
  let types: string[] = [];
  try {
    types = lookupKnownHost(readKnownHostsFiles(files), address, port).trusted.map((k) => k.type);
  } catch {
    // unreadable known_hosts: the verifier reports it
  }
  const preferred = [...new Set(types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []))];
  return [...preferred, ...DEFAULT_HOST_KEY_ORDER.filter((a) => !preferred.includes(a))];
}
