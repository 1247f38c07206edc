#!/usr/bin/env node
// The published package's JavaScript and types, built when packing (the
// `prepack` script): the repository itself runs from its TypeScript
// sources, but a user's project must get .js it can import with plain node
// and .d.ts its own compiler options do not re-check (with play's raw .ts
// as its types, a project made by `tsc --init` found 110 errors inside play).
//
// tsc rewrites `./x.ts` imports to `./x.js` in the JavaScript only
// (rewriteRelativeImportExtensions); the declarations keep `.ts`, which a
// project without allowImportingTsExtensions may not resolve the same way,
// so they are rewritten here. Templates and other files roles read beside
// themselves (through import.meta.url) are copied next to their module.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const SOURCES = ['lib', 'roles'];

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
for (const file of walk(dist).filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+?)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) writeFileSync(file, fixed);
}
for (const dir of SOURCES) {
  for (const file of walk(join(root, dir))) {
    if (file.endsWith('.ts') || file.endsWith('.md')) continue;
    cpSync(file, join(dist, relative(root, file)));
  }
}
