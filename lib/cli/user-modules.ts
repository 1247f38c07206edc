/**
 * A run's playbook and inventory, with every module they import outside
 * play's lib/, bundled by the esbuild set-up of bin/play.js and cached. Both
 * files are one build, so a role module they both import is one instance.
 * Imports of play's lib/ (by relative path, or as 'playbook-ts') become imports of
 * the built lib the CLI itself runs from: one instance of every lib module,
 * so an error class a role throws is the class the CLI checks for.
 */
import type { BuildFailure, BuildOptions, Message, Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundler } from '../core/bundler.ts';
import { LoadError } from '../core/errors.ts';

/** Where to import each user file from: a module URL, or why it cannot be loaded. */
export type UserModules = ReadonlyMap<string, string | LoadError>;

const libRoot = fileURLToPath(new URL('../', import.meta.url));
const MAX_ERRORS = 5;

/**
 * Build `files` together when play runs from its bundle (their own URLs
 * otherwise). A file that does not compile, or imports what cannot be
 * found, gets a LoadError naming the line; when the joint build fails each
 * file is built alone, so each is charged only with its own errors.
 */
export async function userModules(files: readonly string[]): Promise<UserModules> {
  const b = bundler();
  if (!b) return new Map(files.map((f) => [f, pathToFileURL(f).href]));
  const base = dirname(files[0]!);
  try {
    // Named by play's checkout too: two plays sharing a cache must not replace each other's.
    const dir = await b.build(`user-${createHash('sha256').update([libRoot, ...files].join('\0')).digest('hex').slice(0, 16)}`, {
      entryPoints: files.map((f, i) => ({ in: f, out: `entry-${i}` })), absWorkingDir: base, plugins: [sharedLib(b.libDir)],
    });
    return new Map(files.map((f, i) => [f, pathToFileURL(join(dir, `entry-${i}.js`)).href]));
  } catch (e) {
    if (!isBuildFailure(e)) throw e;
    if (files.length === 1) return new Map([[files[0]!, loadError(files[0]!, e.errors, base)]]);
    const alone = await Promise.all(files.map((f) => userModules([f])));
    return new Map(alone.flatMap((m) => [...m]));
  }
}

/** Imports that land in play's lib/, and 'playbook-ts', are the built lib's modules, kept external. */
function sharedLib(libDir: string): Plugin {
  const built = (file: string) => pathToFileURL(join(libDir, 'lib', relative(libRoot, file)).replace(/\.ts$/, '.js')).href;
  const again = Symbol('resolving');
  return {
    name: 'play-shared-lib',
    setup(build) {
      build.onResolve({ filter: /^playbook-ts$/ }, () => ({ path: built(join(libRoot, 'index.ts')), external: true }));
      build.onResolve({ filter: /^[./]/ }, async (args) => {
        if (args.pluginData === again || args.kind === 'entry-point') return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: again });
        return !r.errors.length && r.path.startsWith(libRoot) && r.path.endsWith('.ts') ? { path: built(r.path), external: true } : undefined;
      });
    },
  };
}

function loadError(file: string, errors: readonly Message[], base: string): LoadError {
  const lines = errors.slice(0, MAX_ERRORS).map((m) => (m.location ? `${m.text}\n    at ${resolve(base, m.location.file)}:${m.location.line}:${column(m.location)}` : m.text));
  if (errors.length > MAX_ERRORS) lines.push(`(and ${errors.length - MAX_ERRORS} more)`);
  return new LoadError(file, `failed to load: ${lines.join('\n')}`);
}

/** esbuild counts columns in bytes from 0; editors and stack traces in characters from 1. */
function column(l: NonNullable<Message['location']>): number {
  return Buffer.from(l.lineText).subarray(0, l.column).toString().length + 1;
}

function isBuildFailure(e: unknown): e is BuildFailure {
  return e instanceof Error && Array.isArray((e as Partial<BuildFailure>).errors);
}
