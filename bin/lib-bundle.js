// play's own lib/ as JavaScript, rebuilt only when one of its files changes.
//
// Every lib/**/*.ts has an output <dir>/lib/**/*.js, so the CLI and a role
// that imports '../../lib/dsl/role.ts' (or 'playbook-ts') share one instance of each
// module: the CLI checks play's errors with instanceof. Making every file an
// esbuild entry does that, but splits lib into ~150 small chunks, and loading
// that many files cost ~20 ms a start. So the modules the CLI loads at start
// anyway, all that lib/cli/main.ts and lib/index.ts import statically, are
// one entry, core.js, and each one's output only re-exports its names from
// core.js; the rest (the lab, the console reporter, the agent: loaded only
// when used) stay entries of their own, and stay lazy.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundle, SALT } from './bundle.js';
import { cached } from './cache.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIB = join(ROOT, 'lib');
const STARTS = ['lib/cli/main.ts', 'lib/index.ts'];
// Per checkout: two plays sharing a cache (the per-user one of read-only installs) must not replace each other's.
const NAME = `lib-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`;
// How lib is built is an input too.
const BUILDERS = ['bin/bundle.js', 'bin/cache.js', 'bin/lib-bundle.js'].map((f) => join(ROOT, f));

/**
 * The directory of play's built lib/, building it first when a source
 * changed (or esbuild, or the way it is built). Rejects with esbuild's
 * BuildFailure when lib/ does not compile.
 *
 * @returns {Promise<string>}
 */
export async function playLib() {
  const { dir } = await cached({ name: NAME, salt: SALT, scan: () => sources(LIB), build: buildLib });
  return dir;
}

/**
 * The URL to import a lib module from, in a directory from playLib().
 *
 * @param {string} dir
 * @param {string} file a path from play's root, as 'lib/cli/main.ts'
 */
export function libModule(dir, file) {
  return pathToFileURL(join(dir, file.replace(/\.ts$/, '.js'))).href;
}

async function buildLib(outdir) {
  const files = sources(LIB);
  // lib/ as our tsconfig compiles it (target ES2022: define semantics for class fields), whoever runs play.
  const where = { absWorkingDir: ROOT, outbase: ROOT, outdir, tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } } };
  // A first pass, nothing written, tells what each module exports and imports.
  const { metafile } = await bundle({ ...where, entryPoints: files, write: false, sourcemap: false });
  const exportsOf = new Map(Object.values(metafile.outputs).filter((o) => o.entryPoint).map((o) => [o.entryPoint, o.exports]));
  const core = [...staticClosure(metafile.inputs, STARTS)].filter((f) => exportsOf.has(f));
  const renamed = core.map((file, i) => exportsOf.get(file).map((name) => [name, `m${i}$${name}`]));
  const q = JSON.stringify;
  const coreSource = core.map((file, i) => `export { ${renamed[i].map(([name, as]) => `${q(name)} as ${q(as)}`).join(', ')} } from ${q(join(ROOT, file))};`).join('\n');
  const lazy = files.filter((f) => !core.includes(relative(ROOT, f)));
  const { inputs } = await bundle({ ...where, entryPoints: [{ in: 'play-core:', out: 'core' }, ...lazy], plugins: [coreEntry(coreSource)] });
  core.forEach((file, i) => {
    const out = join(outdir, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `export { ${renamed[i].map(([name, as]) => `${q(as)} as ${q(name)}`).join(', ')} } from ${q(`./${relative(dirname(out), join(outdir, 'core.js'))}`)};\n`);
  });
  return [...inputs, ...BUILDERS.map((f) => { const s = statSync(f); return [f, s.size, s.mtimeMs]; })];
}

/** The lib modules `starts` import, directly or not, without a dynamic import() on the way. */
function staticClosure(inputs, starts) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file) || !file.startsWith('lib/')) return;
    seen.add(file);
    for (const i of inputs[file].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  starts.forEach(visit);
  return seen;
}

/** The entry `play-core:`, whose source is `contents`. */
function coreEntry(contents) {
  return {
    name: 'play-core-entry',
    setup(build) {
      build.onResolve({ filter: /^play-core:$/ }, () => ({ path: 'core', namespace: 'play-core' }));
      build.onLoad({ filter: /.*/, namespace: 'play-core' }, () => ({ contents, loader: 'js', resolveDir: ROOT }));
    },
  };
}

/** lib's TypeScript files, sorted. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  }).sort();
}
