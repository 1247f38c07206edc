/**
 * The hosts a run hands to the agent it starts, as a file in the agent's
 * private directory. The file holds connection settings, secrets included
 * (passwords, become passwords), so it is made 0600 in a directory only its
 * owner can enter, written under a temporary name and renamed into place
 * (the agent never reads half of it), and removed by the agent as soon as it
 * has read it. A file has no size limit a pipe would impose: a fleet of any
 * size is handed over, and the run that writes it does not wait for the
 * agent to read it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AgentUnavailable } from './location.ts';
import type { WireSshOptions } from './protocol.ts';

/** `handover-<pid>-<random>.jsonl`, and `.tmp` while it is being written. */
const NAME = /^handover-\d+-[0-9a-f]{16}\.jsonl(\.tmp)?$/;

/** A hand-over nobody took after this long was left by an agent that never started: removed. */
const STALE_MS = 60_000;

/**
 * Write `options` (one JSON line each) to a new hand-over file in `dir`,
 * which must be the agent's private directory (see `ensurePrivateDir`), and
 * return its path for `play agent serve --hand-over`.
 *
 * @example
 * ```ts
 * import { writeHandOver } from './hand-over.ts';
 * const file = writeHandOver('/run/user/1000/play', [{ host: 'LB1', address: '10.0.0.11', env: {} }]);
 * ```
 */
export function writeHandOver(dir: string, options: readonly WireSshOptions[]): string {
  const file = join(dir, `handover-${process.pid}-${randomBytes(8).toString('hex')}.jsonl`);
  const tmp = `${file}.tmp`;
  // O_EXCL: never through a file or a link someone left under that name.
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, options.map((o) => `${JSON.stringify(o)}\n`).join(''));
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  return file;
}

/**
 * Read a hand-over file and remove it. Only a file of the hand-over's name
 * in `dir`, a regular file owned by this user that no one else can read;
 * anything else is refused (and left alone).
 *
 * @example
 * ```ts
 * import { takeHandOver } from './hand-over.ts';
 * const hosts = takeHandOver('/run/user/1000/play', '/run/user/1000/play/handover-4242-0123456789abcdef.jsonl');
 * ```
 */
export function takeHandOver(dir: string, file: string): WireSshOptions[] {
  if (resolve(dirname(file)) !== resolve(dir) || !NAME.test(basename(file)) || file.endsWith('.tmp')) {
    throw new AgentUnavailable(`${file} is not a hand-over file of ${dir}`);
  }
  const st = lstatSync(file);
  const uid = process.getuid?.();
  if (!st.isFile()) throw new AgentUnavailable(`${file} is not a regular file`);
  if (uid !== undefined && st.uid !== uid) throw new AgentUnavailable(`${file} belongs to uid ${st.uid}, not to this user (${uid})`);
  if ((st.mode & 0o077) !== 0) throw new AgentUnavailable(`${file} is open to other users (mode ${(st.mode & 0o777).toString(8)}); it must be 600`);
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as WireSshOptions);
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Remove the hand-over files in `dir` older than a minute: left by a run
 * whose agent never started (the agent removes its own at once).
 */
export function sweepHandOvers(dir: string, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names.filter((x) => NAME.test(x))) {
    const p = join(dir, n);
    try {
      if (now - lstatSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true });
    } catch { /* taken meanwhile */ }
  }
}
