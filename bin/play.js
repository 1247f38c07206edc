#!/usr/bin/env node
// Playbooks, inventories, roles and play itself are TypeScript run without a
// build step: esbuild bundles them on first use and the JavaScript is cached
// (node_modules/.cache/play-bundle, or $PLAY_CACHE_DIR), rebuilt when a
// source changes (PLAY_BUNDLE_DEBUG=1 tells which were). play's own lib/
// first (bin/lib-bundle.js), then each run's playbook and inventory with
// what they import (lib/cli/user-modules.ts), linked to the very lib modules
// the CLI runs. Start-up is half of an idempotent run on a few hosts: module
// hooks that transpiled each of ~80 modules as Node imported it cost ~60 ms
// more a start, as Node runs hooks on a thread of their own and asks it
// about every import (bench/README.md). The published package skips the
// first step: its lib/ is compiled to dist/ when packed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.setSourceMapsEnabled(true);
const home = fileURLToPath(new URL('..', import.meta.url));
// A link install (`npm install ../play`) installs none of a linked folder's
// own dependencies: say so, instead of Node's stack trace for the first
// module missing (it was esbuild's package.json). Looked for only when a
// module is missing: resolving every dependency costs ~5 ms a start.
function missingDependencies() {
  const { dependencies } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const missing = Object.keys(dependencies).filter((name) => {
    try {
      import.meta.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (!missing.length) return;
  process.stderr.write(`play: its dependencies are not installed where play is (${home}): ${missing.join(', ')} missing.\n`
    + `A link install (npm install ../play) does not install them: run \`npm install\` in ${home}, or install the tarball \`npm pack\` makes there.\n`);
  process.exit(1);
}
const notFound = (e) => e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND';
let main;
try {
  const { bundle, SALT } = await import('./bundle.js');
  const { cached, writableRoot } = await import('./cache.js');
  // In the repository lib/ is TypeScript and built here; the published
  // package has no lib/ sources, only dist/ (compiled by `npm pack`'s
  // prepack), which Node loads as it is.
  const fromSources = existsSync(new URL('../lib/cli/main.ts', import.meta.url));
  let lib;
  try {
    lib = fromSources ? await (await import('./lib-bundle.js')).playLib() : fileURLToPath(new URL('../dist', import.meta.url));
  } catch (e) {
    if (notFound(e)) throw e;
    const where = (m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '');
    process.stderr.write(Array.isArray(e?.errors)
      ? `play: internal error: play's own lib/ does not build:${e.errors.map((m) => `\n  ${where(m)}${m.text}`).join('')}\n`
      : `play: internal error: ${e?.stack ?? e}\n`);
    process.exit(3);
  }
  // What lib/cli/user-modules.ts builds playbooks and inventories with (lib/core/bundler.ts).
  globalThis[Symbol.for('play.bundler')] = {
    libDir: lib,
    build: async (name, options) => (await cached({
      name, salt: `${SALT} ${lib} ${JSON.stringify(options)}`, build: async (outdir) => (await bundle({ ...options, outdir })).inputs,
    })).dir,
    get cacheDir() { return writableRoot(); },
  };
  ({ main } = await import(pathToFileURL(join(lib, 'lib/cli/main.js')).href));
} catch (e) {
  if (notFound(e)) missingDependencies();
  throw e;
}
process.exitCode = await main(process.argv.slice(2));
