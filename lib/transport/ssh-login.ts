/**
 * Credentials and login: which keys a login offers (an identity file, the
 * ssh-agent, the default key files), in what order, and what a failed login
 * says it tried.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConnectError } from '../core/errors.ts';

/** A private key as ssh2 parses it; all this module asks of it is whether it is private. */
export interface PrivateKey {
  isPrivateKey(): boolean;
}

/** ssh2's key parser (`utils.parseKey`), passed in: this module does not load ssh2. */
export type KeyParser = (data: Buffer) => PrivateKey | Error | Array<PrivateKey | Error>;

/** An ssh2 authentication method, of the two kinds play offers. */
export type AuthMethod =
  | { type: 'agent'; username: string; agent: string }
  | { type: 'publickey'; username: string; key: PrivateKey };

interface Credential {
  /** How it is named in an authentication failure. */
  label: string;
  method: (username: string) => AuthMethod;
}

/** What a login may offer, in order, and what was left out. */
export interface Credentials {
  usable: Credential[];
  /** Default key files that exist but cannot be used (encrypted), for the failure message. */
  skipped: string[];
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * The credentials a login offers: the identity file alone when one is
 * given; else the ssh-agent at `agentSocket`, then whichever default key
 * files exist and are not encrypted. Rejects with {@link ConnectError}
 * when there is nothing to offer, before anything connects.
 *
 * @example
 * ```ts
 * import ssh2 from 'ssh2';
 * import { loadCredentials } from './ssh-login.ts';
 * const creds = await loadCredentials('LB1', undefined, process.env.SSH_AUTH_SOCK, '/home/deploy', ssh2.utils.parseKey);
 * ```
 */
export async function loadCredentials(host: string, identityFile: string | undefined, agentSocket: string | undefined, home: string, parseKey: KeyParser): Promise<Credentials> {
  if (identityFile !== undefined) {
    const key = await readPrivateKey(identityFile, parseKey);
    if (key instanceof Error) {
      const hint = isEncrypted(key) ? '; load it into ssh-agent (ssh-add) and leave identityFile unset' : '';
      throw new ConnectError(host, `cannot use identity file ${identityFile}: ${key.message}${hint}`);
    }
    return { usable: [keyCredential(`key file ${identityFile}`, key)], skipped: [] };
  }
  const usable: Credential[] = [];
  const skipped: string[] = [];
  if (agentSocket) usable.push({ label: 'agent', method: (username) => ({ type: 'agent', username, agent: agentSocket }) });
  for (const name of DEFAULT_IDENTITIES) {
    const file = join(home, '.ssh', name);
    if (!(await stat(file).then((s) => s.isFile(), () => false))) continue;
    const key = await readPrivateKey(file, parseKey);
    if (key instanceof Error) skipped.push(`key file ${file} (${isEncrypted(key) ? 'encrypted' : 'unreadable'}, skipped)`);
    else usable.push(keyCredential(`key file ${file}`, key));
  }
  if (usable.length === 0) {
    throw new ConnectError(host, `no credentials to log in with: no identityFile, no ssh-agent (SSH_AUTH_SOCK unset), no usable ${DEFAULT_IDENTITIES.map((n) => `~/.ssh/${n}`).join(', ')}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
  }
  return { usable, skipped };
}

/**
 * Parsed keys by the sha256 of the file: connecting to 50 hosts parses the key once,
 * not twice per connection (here and again in ssh2). The file is still read
 * each time, so a key replaced on disk is used at once.
 */
const parsedKeys = new Map<string, PrivateKey | Error>();

async function readPrivateKey(file: string, parseKey: KeyParser): Promise<PrivateKey | Error> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (e) {
    return e as Error;
  }
  const digest = createHash('sha256').update(data).digest('hex');
  let key = parsedKeys.get(digest);
  if (!key) {
    const parsed = parseKey(data);
    const first: PrivateKey | Error | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
    key = first instanceof Error ? first : !first || !first.isPrivateKey() ? new Error('not a private key') : first;
    parsedKeys.set(digest, key);
  }
  return key;
}

function keyCredential(label: string, key: PrivateKey): Credential {
  return { label, method: (username) => ({ type: 'publickey', username, key }) };
}

function isEncrypted(e: Error): boolean {
  return /encrypted/i.test(e.message);
}

/**
 * ssh2's authHandler, as ssh2 calls it: the methods the server still
 * accepts (null before the first attempt), and `done` with the next method
 * to try, or `false` for none left.
 */
export type AuthHandler = (methodsLeft: string[] | null, partialSuccess: boolean | null, done: (next: AuthMethod | false) => void) => void;

/** A login's authentication: the handler ssh2 calls, and the sentence when every method failed. */
export interface AuthSequence {
  handler: AuthHandler;
  /** The sentence for an authentication failure. */
  failure: () => string;
}

/**
 * Offer each credential once, in order, and remember what was offered, so a
 * failed login says what it tried.
 *
 * @example
 * ```ts
 * import { authSequence } from './ssh-login.ts';
 * const auth = authSequence('deploy', { usable: [], skipped: ['key file ~/.ssh/id_rsa (encrypted, skipped)'] });
 * auth.failure(); // => 'authentication failed for deploy (tried: key file ~/.ssh/id_rsa (encrypted, skipped))'
 * ```
 */
export function authSequence(user: string, creds: Credentials): AuthSequence {
  const tried: string[] = [];
  let next = 0;
  let serverAccepts: string[] | undefined;
  return {
    handler: (methodsLeft, _partial, done) => {
      // ssh2 calls with null before the first attempt.
      if (methodsLeft) serverAccepts = methodsLeft;
      // An agent offers keys with the publickey method too.
      if (methodsLeft && !methodsLeft.includes('publickey')) return done(false);
      const c = creds.usable[next++];
      if (!c) return done(false);
      tried.push(c.label);
      done(c.method(user));
    },
    failure: () => {
      const attempts = [...tried, ...creds.skipped];
      const accepts = serverAccepts && !serverAccepts.includes('publickey') ? `; the server accepts only ${serverAccepts.join(', ')}` : '';
      return `authentication failed for ${user} (tried: ${attempts.length ? attempts.join(' / ') : 'nothing'})${accepts}`;
    },
  };
}
