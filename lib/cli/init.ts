/**
 * `play init [DIR]`: a minimal typed project to start from. An inventory,
 * one role with a template, a playbook, a tsconfig and package.json scripts,
 * which type-check and run `--check` as written: the playbook's one play
 * runs on the controller (the machine play runs on), so trying it needs no
 * SSH host; the inventory shows where hosts go.
 *
 * Planned first, then written: nothing is written when any file it would
 * create exists already. A package.json or tsconfig.json already there is
 * the user's: the first gets only the scripts it lacks (and "type":
 * "module" when it says no type), the second is left alone.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../core/errors.ts';
import { EXIT, type ExitCode } from '../core/exit-codes.ts';
import { packageFile } from '../core/package-root.ts';

/** One file the project gets: its path from the project's folder and its text. */
export interface InitFile {
  readonly path: string;
  readonly content: string;
}

/** What `play init` found in the folder before writing. */
export interface InitFacts {
  /** The folder's package.json, parsed, when there is one. */
  readonly packageJson?: Record<string, unknown>;
  readonly hasTsconfig: boolean;
  readonly hasGitignore: boolean;
  /** Of the files play init would create, those that exist already. */
  readonly existing: readonly string[];
  /** play's own package name, version and TypeScript range, for the dependencies written. */
  readonly play: { name: string; version: string; typescript: string };
}

const ROLE = `import { defineRole, template } from 'playbook-ts';

/** What the role needs from the inventory: a variable left out does not compile. */
export interface HelloVars {
  /** The file's first word. */
  greeting: string;
  /** Where the file goes, an absolute path. */
  path: string;
}

/** One file, rendered from templates/hello.txt.njk beside this module. */
export const hello = defineRole<HelloVars>({
  name: 'hello',
  tasks: ({ vars, host }) => [
    template({
      src: new URL('./templates/hello.txt.njk', import.meta.url),
      dest: vars.path,
      vars: { greeting: vars.greeting, host: host.name },
      mode: '0644',
    }),
  ],
});
`;

const TEMPLATE = '{{ greeting }} from {{ host }}, written by play.\n';

const PLAYBOOK = `import { definePlaybook } from 'playbook-ts';
import { hello } from './roles/hello/index.js';

export default definePlaybook({
  name: 'site',
  plays: [
    // 'controller' is the machine play runs on: trying this out needs no SSH host.
    // Once the inventory has hosts in group 'web', write hosts: 'web' instead.
    { name: 'hello', hosts: 'controller', roles: [hello] },
  ],
});
`;

const INVENTORY = `import { defineInventory } from 'playbook-ts';
import site from './site.js';

// Declared for the playbook: a variable its roles need and this lacks does not compile.
export default defineInventory(site, {
  vars: { greeting: 'Hello', path: '/tmp/hello-from-play.txt' },
  hosts: {
    // web1: { address: '192.0.2.10', user: 'deploy', become: true, groups: ['web'], vars: { greeting: 'Hi' } },
  },
  // Connection settings for every host that does not set its own.
  defaults: { knownHostsFile: '~/.ssh/known_hosts' },
});
`;

const TSCONFIG = `${JSON.stringify({
  compilerOptions: {
    target: 'es2022', module: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, verbatimModuleSyntax: true, types: [],
  },
  include: ['**/*.ts'],
}, null, 2)}\n`;

const SCRIPTS = {
  typecheck: 'tsc --noEmit',
  check: 'play site.ts -i inventory.ts --check --diff',
  site: 'play site.ts -i inventory.ts',
};

/** The files play init always creates (it refuses when one exists). */
export const CREATED = ['inventory.ts', 'site.ts', 'roles/hello/index.ts', 'roles/hello/templates/hello.txt.njk'] as const;
const SOURCES: Readonly<Record<(typeof CREATED)[number], string>> = {
  'inventory.ts': INVENTORY, 'site.ts': PLAYBOOK, 'roles/hello/index.ts': ROLE, 'roles/hello/templates/hello.txt.njk': TEMPLATE,
};

/**
 * The files to write into a folder with `facts`; throws UsageError (naming
 * `dir`) when the folder already holds one of them, or its package.json
 * declares CommonJS (the files are ES modules).
 *
 * @example
 * ```ts
 * import { planInit } from './init.ts';
 * const files = planInit('/tmp/new', { hasTsconfig: false, hasGitignore: false, existing: [], play: { name: 'playbook-ts', version: '0.1.0', typescript: '^5.9.3' } });
 * console.log(files.map((f) => f.path)); // inventory.ts, site.ts, …, package.json, tsconfig.json, .gitignore
 * ```
 */
export function planInit(dir: string, facts: InitFacts): InitFile[] {
  if (facts.existing.length) {
    throw new UsageError(`play init: ${dir} already has ${facts.existing.join(', ')}; nothing written (run it in another folder: play init DIR)`);
  }
  const files: InitFile[] = CREATED.map((path) => ({ path, content: SOURCES[path] }));
  const pkg = facts.packageJson;
  if (pkg && pkg.type !== undefined && pkg.type !== 'module') {
    throw new UsageError(`play init: ${join(dir, 'package.json')} has "type": ${JSON.stringify(pkg.type)}; the playbook, role and inventory are ES modules, which need "type": "module" (npm pkg set type=module)`);
  }
  const scripts = { ...SCRIPTS, ...(pkg?.scripts as Record<string, string> | undefined) };
  const written = pkg
    ? { ...pkg, type: 'module', scripts }
    : {
        name: packageName(dir), version: '0.1.0', private: true, type: 'module', scripts,
        devDependencies: { [facts.play.name]: `^${facts.play.version}`, typescript: facts.play.typescript },
      };
  files.push({ path: 'package.json', content: `${JSON.stringify(written, null, 2)}\n` });
  if (!facts.hasTsconfig) files.push({ path: 'tsconfig.json', content: TSCONFIG });
  if (!facts.hasGitignore) files.push({ path: '.gitignore', content: 'node_modules\n' });
  return files;
}

/** A folder's name as npm accepts a package name: lower case, no spaces. */
function packageName(dir: string): string {
  return basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'playbooks';
}

/** What planInit needs to know about `dir` (which may not exist yet). */
function gather(dir: string): InitFacts {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`play init: ${dir} is not a directory`);
  const pkgFile = join(dir, 'package.json');
  let packageJson: Record<string, unknown> | undefined;
  if (existsSync(pkgFile)) {
    try {
      packageJson = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(`play init: ${pkgFile} is not JSON: ${(e as Error).message}`);
    }
  }
  const own = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { name: string; version: string; devDependencies?: Record<string, string> };
  return {
    packageJson,
    hasTsconfig: existsSync(join(dir, 'tsconfig.json')),
    hasGitignore: existsSync(join(dir, '.gitignore')),
    existing: CREATED.filter((f) => existsSync(join(dir, f))),
    play: { name: own.name, version: own.version, typescript: own.devDependencies?.typescript ?? '^5.9.3' },
  };
}

/**
 * `play init [DIR]` (DIR defaults to the current directory): writes the
 * project and says what to run next. Returns the exit code.
 *
 * @example
 * ```ts
 * import { runInitCli } from './init.ts';
 * const code = runInitCli(['/tmp/my-playbooks'], (s) => process.stdout.write(s));
 * ```
 */
export function runInitCli(argv: readonly string[], out: (s: string) => void, cwd = process.cwd()): ExitCode {
  if (argv.length > 1 || argv.some((a) => a.startsWith('-'))) throw new UsageError(`play init takes one folder at most: play init [DIR], got: ${argv.join(' ')}`);
  const dir = resolve(cwd, argv[0] ?? '.');
  const files = planInit(dir, gather(dir));
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
  }
  const shown = relative(cwd, dir) || '.';
  out(`play init: wrote ${files.map((f) => f.path).join(', ')} in ${shown}\n`
    + `next:${shown === '.' ? '' : ` cd ${shown} &&`} npm install && npm run typecheck && npm run check\n`);
  return EXIT.ok;
}
