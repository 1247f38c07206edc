/**
 * Every `@example` in play's TSDoc must compile: each ```ts block under
 * lib/ and roles/ becomes a file, its relative imports pointed back at the
 * source file's folder, and tsc type-checks them all in one run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const out = join(repo, 'spec/.examples');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The ```ts blocks inside TSDoc comments, without the leading ` * `. */
export function examplesOf(source: string): string[] {
  const blocks: string[] = [];
  for (const m of source.matchAll(/@example\s*\n((?:\s*\*.*\n)+?)\s*\*\/|@example\s*\n((?:\s*\*.*\n)+?)\s*\*\s*@/g)) {
    const body = (m[1] ?? m[2] ?? '').split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n');
    for (const code of body.matchAll(/```ts\n([^]*?)```/g)) blocks.push(code[1]!);
  }
  return blocks;
}

const Examples = suite('TSDoc examples');

Examples('every exported task, role and DSL function has an example, and every example compiles', () => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const missing: string[] = [];
  for (const src of [...walk(join(repo, 'lib')), ...walk(join(repo, 'roles'))]) {
    const text = readFileSync(src, 'utf8');
    const examples = examplesOf(text);
    // Public constructors: defineX, task constructors and roles must each carry one.
    for (const m of text.matchAll(/^export (?:const|function) (define\w+|\w+)\b(?:\s*=\s*(?:defineTask|defineRole)\b)?/gm)) {
      const isPublic = /^define[A-Z]/.test(m[1]!) || /=\s*(defineTask|defineRole)/.test(m[0]);
      if (isPublic && !examples.length) missing.push(`${relative(repo, src)}: ${m[1]}`);
    }
    examples.forEach((code, i) => {
      const fixed = code.replace(/(from |import\()'(\.{1,2}\/[^']+)'/g, (_, kw: string, p: string) => `${kw}'${resolve(dirname(src), p)}'`);
      const f = join(out, `${relative(repo, src).replace(/[/.]/g, '_')}_${i}.ts`);
      writeFileSync(f, `export {};\n${fixed}`);
      files.push(f);
    });
  }
  assert.equal(missing, [], `public API without an @example:\n${missing.join('\n')}`);
  assert.ok(files.length >= 15, `found only ${files.length} examples`);
  writeFileSync(join(out, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['./*.ts'], compilerOptions: { noUnusedLocals: false } }));
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(out, 'tsconfig.json')], { cwd: repo, stdio: 'pipe' });
  } catch (e) {
    assert.unreachable(`examples do not compile:\n${(e as { stdout?: Buffer }).stdout?.toString()}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

Examples.run();
