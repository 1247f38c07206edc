// Directories of build outputs, reused while their inputs are unchanged.
//
// `<root>/<name>.json` (the manifest) names the output directory and every
// input file with its size and mtime; a start-up only reads it and stats the
// inputs, so a hit costs about a millisecond and never loads esbuild. A build
// writes into a fresh directory and then renames a new manifest into place:
// two plays starting at once each build and use their own output, and the
// later rename wins for the runs after them. Replaced outputs are deleted
// only after STALE_MS, so a run that read the old manifest just before can
// still finish loading from it.
import {
  accessSync, constants, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const STALE_MS = 10 * 60_000;
const PRIMARY = process.env.PLAY_CACHE_DIR ? resolve(process.env.PLAY_CACHE_DIR) : fileURLToPath(new URL('../node_modules/.cache/play-bundle', import.meta.url));
const uid = process.getuid?.();
const PRIVATE = join(tmpdir(), `play-bundle-${uid ?? userInfo().username}`);
let writable;

/**
 * The output directory of `job`, built only when its manifest is missing or
 * an input changed (or, with `scan`, a file appeared that it never saw).
 * `job.build(outdir)` writes the outputs and returns every input as
 * `[path, size, mtimeMs]`, taken when the input was read.
 *
 * @param {{ name: string; salt: string; scan?: () => string[]; build: (outdir: string) => Promise<Array<[string, number, number]>> }} job
 * @returns {Promise<{ dir: string; built: boolean }>}
 */
export async function cached(job) {
  for (const root of [PRIMARY, PRIVATE]) {
    if (root === PRIVATE && !isPrivate(root)) continue;
    const dir = lookup(root, job);
    if (dir) return debug(job.name, { dir, built: false });
  }
  const root = writableRoot();
  const dir = mkdtempSync(join(root, `${job.name}-`));
  let inputs;
  try {
    inputs = await job.build(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const previous = readManifest(root, job.name)?.out;
  const manifest = join(root, `${job.name}.json`);
  const tmp = `${manifest}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ salt: job.salt, out: basename(dir), inputs }));
  renameSync(tmp, manifest);
  // From now on the previous output is stale: give runs still loading from it STALE_MS.
  if (previous) try { utimesSync(join(root, previous), new Date(), new Date()); } catch { /* already gone */ }
  sweep(root, job.name, dir);
  return debug(job.name, { dir, built: true });
}

function lookup(root, job) {
  const m = readManifest(root, job.name);
  if (!m || m.salt !== job.salt || !Array.isArray(m.inputs)) return undefined;
  const seen = new Set();
  for (const [file, size, mtimeMs] of m.inputs) {
    const s = statSync(file, { throwIfNoEntry: false });
    if (!s || s.size !== size || s.mtimeMs !== mtimeMs) return undefined;
    seen.add(file);
  }
  if (job.scan && !job.scan().every((f) => seen.has(f))) return undefined;
  const dir = join(root, m.out);
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? dir : undefined;
}

function readManifest(root, name) {
  try {
    return JSON.parse(readFileSync(join(root, `${name}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * play's own cache when it can be written; else a per-user directory
 * (read-only installs). Code other parts of play keep across runs (compiled
 * templates) goes here too, for the same reasons.
 */
export function writableRoot() {
  if (writable) return writable;
  try {
    mkdirSync(PRIMARY, { recursive: true });
    accessSync(PRIMARY, constants.W_OK);
    return (writable = PRIMARY);
  } catch {
    mkdirSync(PRIVATE, { recursive: true, mode: 0o700 });
    if (isPrivate(PRIVATE)) return (writable = PRIVATE);
    // Someone else's directory under a shared /tmp: build where nobody else can write, for this run only.
    const once = mkdtempSync(join(tmpdir(), 'play-bundle-'));
    process.on('exit', () => rmSync(once, { recursive: true, force: true }));
    return (writable = once);
  }
}

/**
 * Ours alone: a real directory (not a link) owned by us that nobody else can
 * enter. Nobody else may write code we will run, nor read bundled inventories
 * (secrets written inline in one are in its output too).
 */
function isPrivate(dir) {
  const s = lstatSync(dir, { throwIfNoEntry: false });
  return !!s && s.isDirectory() && (uid === undefined || s.uid === uid) && (s.mode & 0o077) === 0;
}

function sweep(root, name, keep) {
  const old = Date.now() - STALE_MS;
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(`${name}-`) && !entry.startsWith(`${name}.json.`)) continue;
    const path = join(root, entry);
    if (path === keep) continue;
    try {
      if (lstatSync(path).mtimeMs < old) rmSync(path, { recursive: true, force: true });
    } catch { /* another play swept it */ }
  }
}

function debug(name, result) {
  if (process.env.PLAY_BUNDLE_DEBUG) process.stderr.write(`play: bundle ${name} ${result.built ? 'built' : 'cached'} ${result.dir}\n`);
  return result;
}
