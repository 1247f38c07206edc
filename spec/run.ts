/**
 * The test entry point: `node --import tsx spec/run.ts unit|lab|all [filter…]`.
 * Unit specs are `*.spec.ts` (no network but loopback); lab specs are
 * `*.lab.ts` (real hosts from `play lab`, root only). uvu's own CLI cannot
 * load .ts, so this collects the files, runs uvu's queue and prints the
 * plain `N passed, N failed` closing line CI reads.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { holdLabLock, labBeforeSuite } from './support/lab-lock.ts';
import { readLabState } from '../lib/lab/state.ts';

type G = typeof globalThis & { UVU_DEFER?: number; UVU_QUEUE?: unknown[][]; UVU_INDEX?: number };
const g = globalThis as G;

// No spec run leaves a connection agent behind: every `play` a spec starts
// connects by itself, unless the spec asks for an agent (spec/agent/) and
// stops it by PID.
process.env.PLAY_PERSIST = '0';

const root = fileURLToPath(new URL('.', import.meta.url));
const [mode = 'unit', ...filters] = process.argv.slice(2);
if (mode !== 'unit') {
  holdLabLock();
  const { refuse, notice } = labBeforeSuite(readLabState());
  if (refuse) {
    process.stderr.write(`spec/run.ts: ${refuse}\n`);
    process.exit(1);
  }
  if (notice) process.stdout.write(`${notice}\n`);
}
const suffixes = mode === 'all' ? ['.spec.ts', '.lab.ts'] : mode === 'lab' ? ['.lab.ts'] : ['.spec.ts'];

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// Unit specs first: a broken engine should fail fast, before the slow lab specs.
const files = suffixes.flatMap((s) => walk(root).filter((f) => f.endsWith(s)))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
for (const [i, f] of files.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([relative(root, f)]);
  await import(pathToFileURL(f).href);
}

let passed = 0, failed = 0, skipped = 0;
const started = Date.now();
for (const group of g.UVU_QUEUE as Array<[string, ...Array<() => Promise<[string | true, number, number, number]>>]>) {
  const [name, ...suites] = group;
  const fileStarted = Date.now();
  process.stdout.write(`${name}\n`);
  for (const run of suites) {
    const [errs, ran, skip, total] = await run();
    passed += ran; skipped += skip;
    failed += total - ran - skip;
    if (errs !== true) process.stdout.write(`\n${errs}\n`);
  }
  // Each file's time, so CI's budget can be read off one log.
  process.stdout.write(`  (${name}: ${((Date.now() - fileStarted) / 1000).toFixed(1)} s)\n\n`);
}
// A lab spec may leave its lab up for the next file (spec/support/lab.ts,
// sharedLab): the run leaves none behind.
if (mode !== 'unit') {
  const { labDown, readLabProfile } = await import('../lib/lab/index.ts');
  try {
    if (readLabProfile()) await labDown();
  } catch (e) {
    failed += 1;
    process.stdout.write(`\nthe lab left up by the last lab spec did not come down: ${(e as Error).message}\n`);
  }
}
// A handle a spec forgot (a socket, a timer) must not keep the lab lock held
// for ever: name what is left, then leave.
const open = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles()
  .filter((h) => h !== process.stdout && h !== process.stderr && h !== process.stdin);
if (open.length) process.stderr.write(`note: ${open.length} handle(s) still open after the specs: ${open.map((h) => h.constructor?.name).join(', ')}\n`);
process.stdout.write(`\n${files.length} spec files in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
