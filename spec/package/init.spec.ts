/**
 * `play init [DIR]`: what it plans for a folder (a table: what is there in,
 * files out), and the project it writes, type-checked and run with
 * `--check` as generated, in a project with play installed from its
 * packed tarball (spec/support/packed.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planInit, type InitFacts } from '../../lib/cli/init.ts';
import { UsageError } from '../../lib/core/errors.ts';
import { sh, tsc, userProject, type UserProject } from '../support/packed.ts';

const play = { name: 'playbook-ts', version: '1.2.3', typescript: '^5.9.3' };
const none: InitFacts = { hasTsconfig: false, hasGitignore: false, existing: [], play };
const CREATED = ['inventory.ts', 'site.ts', 'roles/hello/index.ts', 'roles/hello/templates/hello.txt.njk'];

const Plan = suite('play init: the plan');

const plans: Array<{ what: string; facts: InitFacts; paths?: string[]; pkg?: Record<string, unknown>; error?: RegExp }> = [
  {
    what: 'an empty folder: everything, with a package.json depending on play and TypeScript',
    facts: none, paths: [...CREATED, 'package.json', 'tsconfig.json', '.gitignore'],
    pkg: { name: 'new-folder', type: 'module', devDependencies: { 'playbook-ts': '^1.2.3', typescript: '^5.9.3' } },
  },
  {
    what: 'a project of the user\'s: its tsconfig and .gitignore left alone, its package.json keeps its scripts and gains ours',
    facts: { ...none, hasTsconfig: true, hasGitignore: true, packageJson: { name: 'mine', scripts: { check: 'my own' }, dependencies: { 'playbook-ts': '^1.0.0' } } },
    paths: [...CREATED, 'package.json'],
    pkg: { name: 'mine', type: 'module', scripts: { typecheck: 'tsc --noEmit', check: 'my own', site: 'play site.ts -i inventory.ts' }, dependencies: { 'playbook-ts': '^1.0.0' } },
  },
  { what: 'a file it would create is there: nothing, naming it', facts: { ...none, existing: ['site.ts'] }, error: /\/new-folder already has site\.ts; nothing written/ },
  { what: 'a CommonJS package: refused, saying why', facts: { ...none, packageJson: { type: 'commonjs' } }, error: /package\.json has "type": "commonjs"; .* need "type": "module" \(npm pkg set type=module\)/ },
];

for (const c of plans) {
  Plan(c.what, () => {
    let files;
    try {
      files = planInit('/tmp/new-folder', c.facts);
    } catch (e) {
      assert.ok(c.error, String(e));
      assert.instance(e, UsageError);
      assert.match((e as Error).message, c.error!);
      return;
    }
    assert.not.ok(c.error, 'expected an error');
    assert.equal(files.map((f) => f.path), c.paths);
    const pkg = JSON.parse(files.find((f) => f.path === 'package.json')!.content) as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.pkg!)) assert.equal(pkg[k], v, k);
  });
}

Plan.run();

const Generated = suite('play init: the project it writes type-checks and runs --check');
let project: UserProject;
const env = { PLAY_LAB: '0', PLAY_PERSIST: '0' };

// uvu reports a failing hook as failed tests with no message: keep the reason for each test to show.
let setup: unknown;
const ready = () => { if (setup) throw setup; };
Generated.before(async () => {
  try {
    project = await userProject('play-init-');
  } catch (e) {
    setup = e;
  }
});
Generated.after(() => project?.remove());

Generated('in the project play is installed in (tsc --init\'s tsconfig kept): 0 errors, npm run check exits 0', async () => {
  ready();
  const init = await project.play(['init']);
  assert.is(init.code, 0, init.err);
  assert.match(init.out, /play init: wrote inventory\.ts, site\.ts, roles\/hello\/index\.ts, roles\/hello\/templates\/hello\.txt\.njk, package\.json, \.gitignore in \./);
  const typed = await project.typecheck();
  assert.is(typed.out, '', typed.out);
  assert.is(typed.code, 0);
  const target = '/tmp/hello-from-play.txt';
  const there = existsSync(target);
  const check = await sh('npm', ['run', '--silent', 'check'], { cwd: project.dir, env });
  assert.is(check.code, 0, check.out + check.err);
  assert.match(check.out, /template \/tmp\/hello-from-play\.txt/);
  assert.is(existsSync(target), there, 'check mode wrote the file');
  const again = await project.play(['init']);
  assert.is(again.code, 1);
  assert.match(again.err, /already has inventory\.ts, site\.ts, roles\/hello\/index\.ts, roles\/hello\/templates\/hello\.txt\.njk; nothing written/);
});

Generated('in a new folder: its own package.json and tsconfig; 0 errors; --check exits 0', async () => {
  ready();
  const init = await project.play(['init', 'ops']);
  assert.is(init.code, 0, init.err);
  assert.match(init.out, /next: cd ops && npm install && npm run typecheck && npm run check/);
  const dir = join(project.dir, 'ops');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type: string; scripts: Record<string, string> };
  assert.is(pkg.type, 'module');
  assert.is(pkg.scripts.check, 'play site.ts -i inventory.ts --check --diff');
  // play resolves from the project above, as it would from ops/node_modules after `npm install`.
  const typed = await sh(process.execPath, [tsc, '--noEmit', '-p', dir], { cwd: dir });
  assert.is(typed.out, '', typed.out);
  assert.is(typed.code, 0);
  const check = await project.play(['site.ts', '-i', 'inventory.ts', '--check'], { cwd: dir });
  assert.is(check.code, 0, check.out + check.err);
  assert.match(check.out, /hello/);
});

Generated.run();
