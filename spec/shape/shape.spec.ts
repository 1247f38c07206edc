/**
 * The shape the code keeps, checked rather than hoped for: each third-party
 * library has one importer (STYLE.md, principle 5: a library swapped or
 * mocked is one file), lib/ has no import cycles (types included: a cycle of
 * types is still two modules that cannot be read apart), and no file under
 * lib/ grows past what a reader holds at once.
 *
 * The checker is a function of a table (files, their imports, their line
 * counts), tried first on made-up tables that break each rule, so a checker
 * that can never fail is caught too; then on the repository.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** No file under lib/ longer than this. */
const MAX_LINES = 450;

/** One import of a file: what it names, and whether only types come of it (erased when compiled). */
interface Import {
  readonly from: string;
  readonly typeOnly: boolean;
}

/** What the rules are judged on: each file (repository-relative) with its imports and length. */
interface Tree {
  readonly files: Readonly<Record<string, { readonly imports: readonly Import[]; readonly lines: number }>>;
  /** package.json's dependencies. */
  readonly dependencies: readonly string[];
}

/**
 * Every module a source file loads or names: import and export-from
 * declarations, `import()` calls and `import('x')` types. An import is
 * type-only when written `import type`, or when every name it brings in is
 * marked `type` (tsc and esbuild then drop it).
 */
function importsOf(file: string, text: string): Import[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const named = c?.namedBindings;
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!named && ts.isNamedImports(named)
        && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      found.push({ from: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause;
      const typeOnly = node.isTypeOnly || (!!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly));
      found.push({ from: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) found.push({ from: arg.text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ from: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The package an import names (`ssh2` of `ssh2/lib/x`, `@scope/p` of `@scope/p/y`), or undefined for a relative or built-in one. */
function packageOf(from: string): string | undefined {
  if (from.startsWith('.') || from.startsWith('/') || from.startsWith('node:')) return undefined;
  const parts = from.split('/');
  return from.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The file a relative import names, repository-relative, or undefined for a package. */
function target(file: string, from: string): string | undefined {
  if (!from.startsWith('.')) return undefined;
  return join(dirname(file), from);
}

/** Every way `tree` breaks the shape, one sentence each; empty when it keeps it. */
function shapeProblems(tree: Tree): string[] {
  const problems: string[] = [];
  const files = Object.keys(tree.files).sort();

  for (const dep of tree.dependencies) {
    const importers = files.filter((f) => tree.files[f]!.imports.some((i) => !i.typeOnly && packageOf(i.from) === dep));
    if (importers.length !== 1) {
      problems.push(`${dep} is imported as a value by ${importers.length === 0 ? 'no file' : `${importers.length} files (${importers.join(', ')})`}, not by exactly one`);
    }
  }

  const inLib = files.filter((f) => f.startsWith('lib/'));
  for (const f of inLib) {
    const { lines } = tree.files[f]!;
    if (lines > MAX_LINES) problems.push(`${f} has ${lines} lines (at most ${MAX_LINES})`);
  }

  // Depth-first search; a back edge (to a file on the current path) closes a cycle.
  const edges = (f: string) => [...new Set(tree.files[f]!.imports.map((i) => target(f, i.from)).filter((t): t is string => t !== undefined && t in tree.files && t.startsWith('lib/')))].sort();
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles = new Set<string>();
  const visit = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const t of edges(f)) {
      if (state.get(t) === 'open') cycles.add([...path.slice(path.indexOf(t)), t].join(' → '));
      else if (!state.has(t)) visit(t);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of inLib) if (!state.has(f)) visit(f);
  for (const c of cycles) problems.push(`import cycle: ${c}`);
  return problems;
}

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|js|mjs)$/.test(n) && !n.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * The repository as a table: lib/ and roles/, and bin/ (play's own
 * JavaScript: esbuild's one importer is the bundler there, lib/ names only
 * its types).
 */
function repoTree(): Tree {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const files: Record<string, { imports: Import[]; lines: number }> = {};
  for (const top of ['lib', 'roles', 'bin']) {
    for (const abs of walk(join(repo, top))) {
      const text = readFileSync(abs, 'utf8');
      const file = relative(repo, abs);
      files[file] = { imports: importsOf(file, text), lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) };
    }
  }
  return { files, dependencies: Object.keys(pkg.dependencies) };
}

const Checker = suite('shape: the checker, on made-up trees');

const file = (imports: Array<[string, boolean?]>, lines = 10) => ({ imports: imports.map(([from, typeOnly = false]) => ({ from, typeOnly })), lines });

const trees: Array<[string, Tree, RegExp[]]> = [
  ['a tree that keeps the shape', {
    dependencies: ['ssh2', 'yaml'],
    files: {
      'lib/a.ts': file([['ssh2'], ['./b.ts']]),
      'lib/b.ts': file([['ssh2', true], ['yaml/types', true], ['node:fs']]),
      'lib/c.ts': file([['yaml'], ['./b.ts', true]]),
      'roles/r/index.ts': file([['../../lib/a.ts']]),
    },
  }, []],
  ['a library with two value importers, one in roles/', {
    dependencies: ['ssh2'],
    files: { 'lib/a.ts': file([['ssh2']]), 'roles/r/index.ts': file([['ssh2/lib/utils.js']]) },
  }, [/^ssh2 is imported as a value by 2 files \(lib\/a\.ts, roles\/r\/index\.ts\)/]],
  ['a library imported only for its types', {
    dependencies: ['esbuild'],
    files: { 'lib/a.ts': file([['esbuild', true]]) },
  }, [/^esbuild is imported as a value by no file/]],
  ['ssh2-promise is not ssh2', {
    dependencies: ['ssh2', 'ssh2-promise'],
    files: { 'lib/a.ts': file([['ssh2'], ['ssh2-promise']]) },
  }, []],
  ['a cycle through a type import', {
    dependencies: [],
    files: { 'lib/x/a.ts': file([['../y/b.ts']]), 'lib/y/b.ts': file([['./c.ts']]), 'lib/y/c.ts': file([['../x/a.ts', true]]) },
  }, [/^import cycle: lib\/x\/a\.ts → lib\/y\/b\.ts → lib\/y\/c\.ts → lib\/x\/a\.ts$/]],
  ['a cycle of two files', {
    dependencies: [],
    files: { 'lib/a.ts': file([['./b.ts']]), 'lib/b.ts': file([['./a.ts']]) },
  }, [/^import cycle: lib\/a\.ts → lib\/b\.ts → lib\/a\.ts$/]],
  ['a file of 451 lines, and one of 450', {
    dependencies: [],
    files: { 'lib/long.ts': file([], 451), 'lib/fine.ts': file([], 450), 'roles/r/long.ts': file([], 900) },
  }, [/^lib\/long\.ts has 451 lines \(at most 450\)$/]],
];

for (const [name, tree, expected] of trees) {
  Checker(name, () => {
    const problems = shapeProblems(tree);
    assert.is(problems.length, expected.length, problems.join('\n'));
    expected.forEach((re, i) => assert.match(problems[i]!, re));
  });
}

Checker('imports are read from the source: type-only ones told apart, dynamic ones found', () => {
  const text = [
    "import ssh2 from 'ssh2';",
    "import type { ClientChannel } from 'ssh2';",
    "import { type ParsedKey, type AnyAuthMethod } from 'ssh2';",
    "import { a, type B } from './a.ts';",
    "export { c } from './c.ts';",
    "export type { D } from './d.ts';",
    "import './side-effect.ts';",
    "const e = await import('./e.ts');",
    "let f: import('./f.ts').F;",
  ].join('\n');
  assert.equal(importsOf('lib/x.ts', text), [
    { from: 'ssh2', typeOnly: false },
    { from: 'ssh2', typeOnly: true },
    { from: 'ssh2', typeOnly: true },
    { from: './a.ts', typeOnly: false },
    { from: './c.ts', typeOnly: false },
    { from: './d.ts', typeOnly: true },
    { from: './side-effect.ts', typeOnly: false },
    { from: './e.ts', typeOnly: false },
    { from: './f.ts', typeOnly: true },
  ]);
});

const Repo = suite('shape: the repository');

Repo('one importer per library, no cycles in lib/, no file in lib/ over 450 lines', () => {
  const tree = repoTree();
  assert.ok(Object.keys(tree.files).length > 50, 'the walk found the sources');
  assert.equal(shapeProblems(tree), []);
});

Checker.run();
Repo.run();
