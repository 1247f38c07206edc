/**
 * OpenSSH known_hosts, read and written the way `ssh` does, so a host trusted
 * by the user's own `ssh` is trusted here and the other way round. Everything
 * but {@link readKnownHostsFiles} and {@link appendKnownHost} is pure.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** One usable line of a known_hosts file. `@cert-authority` lines are dropped when parsing. */
export interface KnownHostEntry {
  /** `revoked`: this key must never be accepted for the hosts of the line. */
  readonly marker?: 'revoked';
  /** The host field as written: `a,[b]:2222,!c`, or one hashed `|1|salt|hash`. */
  readonly hosts: string;
  /** Key type as written, e.g. `ssh-ed25519`. */
  readonly type: string;
  /** The key blob, base64 as written. */
  readonly key: string;
  /** `file:line`, for messages. */
  readonly source: string;
}

/** A key a host is known by. */
export interface KnownKey {
  readonly type: string;
  readonly key: string;
  readonly source: string;
}

/**
 * - `trusted`: the presented key is recorded for this host.
 * - `unknown`: nothing is recorded for this host.
 * - `changed`: other keys are recorded for this host, not this one.
 * - `revoked`: the presented key is marked `@revoked` for this host.
 */
export type HostKeyStatus = 'trusted' | 'unknown' | 'changed' | 'revoked';

export interface HostKeyCheck {
  readonly status: HostKeyStatus;
  /** Fingerprint of the presented key, as `ssh` prints it. */
  readonly presented: string;
  /** The keys recorded for the host, by fingerprint (for `changed`). */
  readonly known: ReadonlyArray<{ readonly fingerprint: string; readonly source: string }>;
}

/**
 * Parse known_hosts text. Comments, blank, malformed and `@cert-authority`
 * lines are skipped, as `ssh` skips them.
 *
 * @example
 * ```ts
 * import { parseKnownHosts } from './known-hosts.ts';
 * parseKnownHosts('[10.0.0.5]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6\n', 'kh');
 * // => [{ hosts: '[10.0.0.5]:2222', type: 'ssh-ed25519', key: 'AAAAC3…', source: 'kh:1' }]
 * ```
 */
export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: 'revoked' | undefined;
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      // A CA line trusts certificates, which play does not verify: ignoring it
      // can only refuse a host, never accept one.
      if (m !== '@revoked') return;
      marker = 'revoked';
    }
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key || !isBase64(key)) return;
    entries.push({ ...(marker ? { marker } : {}), hosts, type, key, source: `${file}:${i + 1}` });
  });
  return entries;
}

/**
 * The name `ssh` looks a host up by: the address alone on port 22, else `[address]:port`.
 *
 * @example
 * ```ts
 * import { hostLookupName } from './known-hosts.ts';
 * hostLookupName('10.0.0.5', 2222); // => '[10.0.0.5]:2222'
 * ```
 */
export function hostLookupName(address: string, port = 22): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/**
 * Does a known_hosts host field cover this address and port? Handles hashed
 * names, comma lists, `*` and `?` wildcards, and `!negation` (a negated match
 * excludes the line whatever else matches).
 *
 * @example
 * ```ts
 * import { matchesHost } from './known-hosts.ts';
 * matchesHost('*.example.com,!db.example.com', 'web1.example.com', 22); // => true
 * ```
 */
export function matchesHost(hosts: string, address: string, port = 22): boolean {
  const name = hostLookupName(address, port).toLowerCase();
  if (hosts.startsWith('|')) return matchesHashed(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/**
 * Keys recorded for a host: the ones it may present, and the revoked ones.
 *
 * @example
 * ```ts
 * import { lookupKnownHost, parseKnownHosts } from './known-hosts.ts';
 * const entries = parseKnownHosts('web1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6\n');
 * lookupKnownHost(entries, 'web1', 22).trusted.length; // => 1
 * ```
 */
export function lookupKnownHost(entries: readonly KnownHostEntry[], address: string, port = 22): { trusted: KnownKey[]; revoked: KnownKey[] } {
  const trusted: KnownKey[] = [];
  const revoked: KnownKey[] = [];
  for (const e of candidates(entries, hostLookupName(address, port).toLowerCase())) {
    if (!matchesHost(e.hosts, address, port)) continue;
    (e.marker === 'revoked' ? revoked : trusted).push({ type: e.type, key: e.key, source: e.source });
  }
  return { trusted, revoked };
}

/** Entries whose host field is plain names (no hash, wildcard or negation), by each lowercased name; the others in `rest`. */
interface HostIndex {
  byName: Map<string, number[]>;
  rest: number[];
}

/** Built once per entry list: readKnownHostsFiles hands out the same list while the files stay the same. */
const indexes = new WeakMap<readonly KnownHostEntry[], HostIndex>();

/**
 * The entries that may cover `name`, in file order: the plain lines naming it
 * and every line matchesHost must judge (hashed, wildcard, negated). A
 * fleet's known_hosts has a line per host, and each connection looks its host
 * up twice: scanning every line made that quadratic in the fleet's size
 * (~2 s of a 1,000-host run's CPU, bench/fleet).
 */
function candidates(entries: readonly KnownHostEntry[], name: string): KnownHostEntry[] {
  let index = indexes.get(entries);
  if (!index) {
    index = { byName: new Map(), rest: [] };
    entries.forEach((e, i) => {
      if (/^\||[*?!]/.test(e.hosts)) index!.rest.push(i);
      else for (const h of new Set(e.hosts.toLowerCase().split(','))) index!.byName.set(h, [...(index!.byName.get(h) ?? []), i]);
    });
    indexes.set(entries, index);
  }
  const at = [...(index.byName.get(name) ?? []), ...index.rest].sort((a, b) => a - b);
  return at.map((i) => entries[i]!);
}

/**
 * Judge the key a host presented against known_hosts.
 *
 * Stricter than `ssh` in one respect: when a host has recorded keys of other
 * types only, `ssh` calls the new type "unknown" (and accept-new would record
 * it); here it is `changed`, so a man in the middle cannot slip past a pinned
 * host by offering a different key type. The SSH transport asks for the
 * recorded types first, so an honest server presents one of them.
 *
 * @example
 * ```ts
 * import { checkHostKey, parseKnownHosts } from './known-hosts.ts';
 * const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6', 'base64');
 * checkHostKey(parseKnownHosts(''), '10.0.0.5', 22, blob).status; // => 'unknown'
 * ```
 */
export function checkHostKey(entries: readonly KnownHostEntry[], address: string, port: number, blob: Buffer): HostKeyCheck {
  const { trusted, revoked } = lookupKnownHost(entries, address, port);
  const presented = fingerprint(blob);
  const known: Array<{ fingerprint: string; source: string }> = [];
  for (const k of trusted) {
    const fp = fingerprint(k.key);
    if (!known.some((x) => x.fingerprint === fp)) known.push({ fingerprint: fp, source: k.source });
  }
  const same = (k: KnownKey) => Buffer.from(k.key, 'base64').equals(blob);
  const status: HostKeyStatus = revoked.some(same) ? 'revoked'
    : trusted.some(same) ? 'trusted'
    : trusted.length > 0 ? 'changed'
    : 'unknown';
  return { status, presented, known };
}

/**
 * A key's fingerprint exactly as `ssh` and `ssh-keygen -l` print it.
 *
 * @example
 * ```ts
 * import { fingerprint } from './known-hosts.ts';
 * fingerprint('AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6');
 * // => 'SHA256:Gvcc9CfM4ur8pfoLro46q9J/hlUb6sbh+i8tB7l3L0o'
 * ```
 */
export function fingerprint(blob: Buffer | string): string {
  const bytes = typeof blob === 'string' ? Buffer.from(blob, 'base64') : blob;
  return `SHA256:${createHash('sha256').update(bytes).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The type a key blob declares in its first field (`ssh-ed25519`, `ssh-rsa`…).
 *
 * @example
 * ```ts
 * import { keyTypeOf } from './known-hosts.ts';
 * keyTypeOf(Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6', 'base64')); // => 'ssh-ed25519'
 * ```
 */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) throw new Error('key blob is too short');
  const len = blob.readUInt32BE(0);
  if (len === 0 || 4 + len > blob.length) throw new Error('key blob is malformed');
  return blob.subarray(4, 4 + len).toString('latin1');
}

/**
 * The known_hosts line recording `blob` for a host, plain (not hashed) so the
 * user can read and edit it.
 *
 * @example
 * ```ts
 * import { knownHostsLine } from './known-hosts.ts';
 * const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6', 'base64');
 * knownHostsLine('10.0.0.5', 2222, blob); // => '[10.0.0.5]:2222 ssh-ed25519 AAAAC3…\n'
 * ```
 */
export function knownHostsLine(address: string, port: number, blob: Buffer): string {
  return `${hostLookupName(address, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`;
}

/**
 * A hashed host field as `ssh-keygen -H` (HashKnownHosts) writes it.
 *
 * @example
 * ```ts
 * import { hashHostName } from './known-hosts.ts';
 * hashHostName('[10.0.0.5]:2222'); // => '|1|<salt>|<hmac>'
 * ```
 */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(name.toLowerCase()).digest('base64');
  return `|1|${salt.toString('base64')}|${mac}`;
}

/**
 * Read and parse known_hosts files, in order. A missing file is empty, as for
 * `ssh`; any other read error is thrown.
 *
 * @example
 * ```ts
 * import { readKnownHostsFiles } from './known-hosts.ts';
 * const entries = readKnownHostsFiles(['/home/me/.ssh/known_hosts']);
 * ```
 */
export function readKnownHostsFiles(files: readonly string[]): readonly KnownHostEntry[] {
  const stamps = files.map(stampOf);
  const key = files.join('\0');
  const kept = parsedFiles.get(key);
  if (kept && stamps.every((s, i) => s !== undefined && s === kept.stamps[i])) return kept.entries;
  const entries = files.flatMap((file, i) => {
    if (stamps[i] === MISSING) return [];
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return parseKnownHosts(text, file);
  });
  if (stamps.every((s) => s !== undefined)) parsedFiles.set(key, { stamps, entries });
  return entries;
}

/**
 * Parsed files by their list, kept while each file's inode, size and times
 * stay the same (an edit or an append changes them, and the next read parses
 * again). Each connection reads known_hosts twice: a fleet's file of a line
 * per host was parsed twice per host.
 */
const parsedFiles = new Map<string, { stamps: Array<string | undefined>; entries: readonly KnownHostEntry[] }>();
const MISSING = 'missing';

/** What identifies a version of the file; undefined when it cannot be stat'ed (not cached: the read says why). */
function stampOf(file: string): string | undefined {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? MISSING : undefined;
  }
}

/**
 * Append a line to a known_hosts file, creating it (and a private parent
 * directory) when missing. Synchronous on purpose: the check and the append
 * happen in one turn of the event loop, so concurrent connections to the same
 * new host in this process record it once.
 *
 * @example
 * ```ts
 * import { appendKnownHost, knownHostsLine } from './known-hosts.ts';
 * const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6', 'base64');
 * appendKnownHost('/tmp/known_hosts', knownHostsLine('10.0.0.5', 22, blob));
 * ```
 */
export function appendKnownHost(file: string, line: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    // a missing file is created by the append below
  }
  // A hand-edited file may lack its final newline; our line must not glue onto it.
  const needsNewline = size > 0 && !readFileSync(file).subarray(-1).equals(Buffer.from('\n'));
  appendFileSync(file, needsNewline ? `\n${line}` : line);
}

function matchesHashed(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && expected.equals(actual);
}

function globMatch(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return p === name;
  const re = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(s);
}
