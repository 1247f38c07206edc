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
// about every import (bench/README.md).
import { bundle, SALT } from './bundle.js';
import { cached } from './cache.js';
import { libModule, playLib } from './lib-bundle.js';

process.setSourceMapsEnabled(true);
let lib;
try {
  lib = await playLib();
} catch (e) {
  const where = (m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '');
  process.stderr.write(Array.isArray(e?.errors)
    ? `play: internal error: play's own lib/ does not build:${e.errors.map((m) => `\n  ${where(m)}${m.text}`).join('')}\n`
    : `play: internal error: ${e?.stack ?? e}\n`);
  process.exit(3);
}
// What lib/cli/user-modules.ts builds playbooks and inventories with.
globalThis[Symbol.for('play.bundler')] = {
  libDir: lib,
  build: async (name, options) => (await cached({
    name, salt: `${SALT} ${lib} ${JSON.stringify(options)}`, build: async (outdir) => (await bundle({ ...options, outdir })).inputs,
  })).dir,
};
const { main } = await import(libModule(lib, 'lib/cli/main.ts'));
process.exitCode = await main(process.argv.slice(2));
