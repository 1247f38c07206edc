/**
 * Compiled templates kept across runs, as Jinja2's bytecode cache keeps
 * them for Ansible: nunjucks' parse and compile of the seed's templates was
 * a fifth of a `--list-hosts` start-up (~20 ms of ~125 ms CPU), paid again
 * by every run, warm or cold, because validation renders each template
 * before any host is contacted. An entry is the JavaScript nunjucks'
 * compiler wrote, named by the hash of everything that output depends on;
 * a changed template, option or nunjucks version is another name, so an
 * entry is never stale, only unused.
 *
 * Entries live in bin/play.js's cache directory, which only this user can
 * write (what is read back is run). Without it (play under tsx, the specs)
 * there is no cache, only the per-process one of render-template.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundler } from '../core/bundler.ts';

/** Entries kept: beyond this the oldest written go first (an edited template leaves its old entry behind). */
const MAX_ENTRIES = 256;

function dir(): string | undefined {
  const root = bundler()?.cacheDir;
  return root && join(root, 'templates');
}

/** Whether compiled templates can be kept (play runs from bin/play.js). */
export function codeCacheOn(): boolean {
  return dir() !== undefined;
}

/** The cache key of a template's compiled code: every input the compiler's output depends on. */
export function codeKey(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/** The compiled code kept under `key`, if any. */
export function keptCode(key: string): string | undefined {
  const d = dir();
  if (!d) return undefined;
  try {
    return readFileSync(join(d, `${key}.js`), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Keep `code` under `key`: written to a temporary name and renamed, so a run
 * reading it at the same moment sees all of it or none. A cache that cannot
 * be written is no error: the next run compiles again.
 */
export function keepCode(key: string, code: string): void {
  const d = dir();
  if (!d) return;
  try {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    const tmp = join(d, `.${key}.${process.pid}.tmp`);
    writeFileSync(tmp, code, { mode: 0o600 });
    renameSync(tmp, join(d, `${key}.js`));
    trim(d);
  } catch { /* read-only or full: compile next time */ }
}

function trim(d: string): void {
  const names = readdirSync(d).filter((n) => n.endsWith('.js'));
  if (names.length <= MAX_ENTRIES) return;
  const byAge = names.map((n) => ({ n, t: statSync(join(d, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => a.t - b.t);
  for (const { n } of byAge.slice(0, names.length - MAX_ENTRIES)) rmSync(join(d, n), { force: true });
}
