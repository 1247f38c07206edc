// Module hooks that make .ts files importable: each is transpiled by esbuild
// (types removed, nothing checked: `tsc --noEmit` does that), with an inline
// source map so stack traces name .ts lines, and cached on disk by content.
// A module keeps its own URL, so `import.meta.url` (templates beside a role)
// works as written.
//
// Resolution is Node's own plus TypeScript's habits: './x.js' or './x' finds
// './x.ts' when no such JavaScript file exists. The compiler options are
// those tsx derived from our tsconfig (target ES2022: define semantics for
// class fields).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TS = /\.m?ts$/;
const CACHE = fileURLToPath(new URL('../node_modules/.cache/play-ts/', import.meta.url));
const require = createRequire(import.meta.url);
const OPTIONS = {
  loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline',
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
};
let esbuild;
let salt;

export async function resolve(specifier, context, next) {
  let r;
  try {
    r = await next(specifier, context);
  } catch (e) {
    const alt = e?.code === 'ERR_MODULE_NOT_FOUND' && /^\.\.?\//.test(specifier) && !TS.test(specifier)
      ? (specifier.endsWith('.js') ? specifier.replace(/\.js$/, '.ts') : `${specifier}.ts`) : undefined;
    if (!alt) throw e;
    r = await next(alt, context);
  }
  return TS.test(r.url) && r.url.startsWith('file:') ? { ...r, format: 'module' } : r;
}

export async function load(url, context, next) {
  if (!TS.test(url) || !url.startsWith('file:')) return next(url, context);
  const file = fileURLToPath(url);
  const source = readFileSync(file, 'utf8');
  // The esbuild version and the options are part of the key: either changing makes new entries.
  salt ??= `${JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')).version} ${JSON.stringify(OPTIONS)}`;
  const cached = join(CACHE, `${createHash('sha256').update(`${salt}\0${file}\0${source}`).digest('hex').slice(0, 40)}.js`);
  let code;
  try {
    code = readFileSync(cached, 'utf8');
  } catch {
    esbuild ??= await import('esbuild');
    code = (await esbuild.transform(source, { ...OPTIONS, sourcefile: file })).code;
    try {
      mkdirSync(CACHE, { recursive: true, mode: 0o700 });
      const tmp = `${cached}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, cached);
    } catch {
      // read-only install: transpiled again next time
    }
  }
  return { format: 'module', source: code, shortCircuit: true };
}
