// How play bundles TypeScript for Node: esbuild, the compiler tsx uses, with
// types removed and nothing checked (`tsc --noEmit` does that). Shared by
// play's own lib/ (bin/lib-bundle.js) and a run's playbook and inventory
// (lib/cli/user-modules.ts, through the runtime bin/play.js hands to lib).
//
// Two things a bundle would otherwise change are kept as they were:
// - `import.meta.url` (and `.dirname`, `.filename`) still name the original
//   .ts file, per file, so a role finds templates beside itself;
// - packages are not bundled (ssh2-promise's socksv5 requires dynamically)
//   but imported by absolute URL, resolved from the importing file, so an
//   output anywhere (a cache under /tmp) finds the importer's dependencies.
// A user's tsconfig.json is read as esbuild reads it, nearest each file, so
// its `paths` aliases load as they type-check (and an edit of it rebuilds).
// Linked source maps let stack traces name .ts lines; without sourcesContent
// they stay small, as Node reads each one when it loads the module.
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const META = '__play_import_meta';
const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.jsx': 'jsx' };
const OPTIONS = {
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20',
  sourcemap: 'linked', sourcesContent: false, logLevel: 'silent', metafile: true,
  // Node's resolution, not a bundler's: no `module` condition or field.
  conditions: [], mainFields: ['main'],
  define: Object.fromEntries(['url', 'dirname', 'filename'].map((k) => [`import.meta.${k}`, `${META}_${k}`])),
};
const esbuildPackage = createRequire(import.meta.url).resolve('esbuild/package.json');

/** Changes whenever the same sources would bundle differently: esbuild's version, the options. */
export const SALT = `${JSON.parse(readFileSync(esbuildPackage, 'utf8')).version} ${JSON.stringify(OPTIONS)}`;

/**
 * One esbuild build with play's options; `options.plugins` run before play's
 * own. Resolves to esbuild's metafile and every input read, as
 * `[path, size, mtimeMs]` taken when it was read (what a cache compares);
 * rejects with esbuild's BuildFailure.
 *
 * @param {import('esbuild').BuildOptions & { absWorkingDir: string }} options
 */
export async function bundle(options) {
  const esbuild = await import('esbuild');
  const inputs = new Map();
  const result = await esbuild.build({
    ...OPTIONS, ...options, plugins: [...(options.plugins ?? []), originalMeta(inputs), packagesByUrl()],
  });
  // Inputs esbuild read itself (JSON, text): stat now, close enough for files nobody edits mid-build.
  // The tsconfig.json nearest each entry too (its `paths` decide what an import
  // names), unless the caller gave one outright.
  const configs = options.tsconfigRaw ? [] : entryFiles(options).map((f) => nearestTsconfig(resolve(options.absWorkingDir, f))).filter(Boolean);
  for (const key of [...Object.keys(result.metafile.inputs), ...configs]) {
    const file = resolve(options.absWorkingDir, key);
    if (/^[\w-]+:/.test(key) || inputs.has(file)) continue;
    const s = statSync(file, { throwIfNoEntry: false });
    if (s) inputs.set(file, [file, s.size, s.mtimeMs]);
  }
  return { metafile: result.metafile, inputs: [...inputs.values()] };
}

function entryFiles(options) {
  const e = options.entryPoints ?? [];
  return Array.isArray(e) ? e.map((x) => (typeof x === 'string' ? x : x.in)) : Object.values(e);
}

/** The tsconfig.json esbuild reads for `file`: the nearest one in its folder or above. */
function nearestTsconfig(file) {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const candidate = resolve(dir, 'tsconfig.json');
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * `import.meta.url` is the original file's URL in each file: `define` turns
 * it into an identifier, and each file that mentions import.meta imports
 * that identifier from a tiny module of its own. Appended after the last
 * line, the import moves no line or column of the source.
 */
function originalMeta(inputs) {
  return {
    name: 'play-original-meta',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/, namespace: 'file' }, (args) => {
        const fd = openSync(args.path, 'r');
        let text, s;
        try {
          s = fstatSync(fd);
          text = readFileSync(fd, 'utf8');
        } finally {
          closeSync(fd);
        }
        inputs.set(args.path, [args.path, s.size, s.mtimeMs]);
        const loader = LOADERS[extname(args.path)];
        if (!loader || !text.includes('import.meta')) return { contents: text, loader: loader ?? 'js' };
        const names = ['url', 'dirname', 'filename'].map((k) => `${k} as ${META}_${k}`).join(', ');
        return { contents: `${text}\n;import { ${names} } from ${JSON.stringify(`play-meta:${args.path}`)};\n`, loader };
      });
      build.onResolve({ filter: /^play-meta:/ }, (args) => ({ path: args.path.slice('play-meta:'.length), namespace: 'play-meta' }));
      build.onLoad({ filter: /.*/, namespace: 'play-meta' }, (args) => ({
        loader: 'js',
        contents: [['url', pathToFileURL(args.path).href], ['dirname', dirname(args.path)], ['filename', args.path]]
          .map(([k, v]) => `export const ${k} = ${JSON.stringify(v)};`).join('\n'),
      }));
    },
  };
}

/**
 * Bare imports stay imports, of the file Node would load, by absolute URL.
 * A bare name that resolves to TypeScript (a `#imports` alias, a workspace
 * package in TypeScript) is bundled instead: Node could not load it.
 */
function packagesByUrl() {
  // require() in an ES module bundle fails whatever it names: left to esbuild.
  const IMPORTS = new Set(['import-statement', 'dynamic-import']);
  const again = Symbol('resolving');
  return {
    name: 'play-packages-by-url',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === again || !IMPORTS.has(args.kind) || args.path.startsWith('node:') || isAbsolute(args.path)) return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: again });
        if (r.errors.length) return { errors: r.errors };
        if (r.external) return { path: r.path, external: true };
        if (/\.[cm]?tsx?$/.test(r.path)) return { path: r.path };
        return { path: pathToFileURL(r.path).href, external: true };
      });
    },
  };
}
