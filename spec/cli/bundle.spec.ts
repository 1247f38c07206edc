/**
 * bin/play.js as users run it: play's lib/ and each run's playbook and
 * inventory bundled by esbuild and cached (bin/lib-bundle.js,
 * lib/cli/user-modules.ts). Every run here gets a cache of its own under
 * the OS temp directory (PLAY_CACHE_DIR), never the checkout's.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = `${repo}spec/fixtures/`;
const tmp = mkdtempSync(join(tmpdir(), 'play-bundle-spec-'));
const sharedCache = join(tmp, 'cache');

interface Ran { code: number; out: string; err: string }

/** `node bin/play.js …` in the checkout (or `bin` of a copy); never rejects. */
function play(args: readonly string[], o: { cache?: string; bin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  const env = { ...process.env, PLAY_LAB: '0', PLAY_PERSIST: '0', NO_COLOR: '1', PLAY_BUNDLE_DEBUG: '1', PLAY_CACHE_DIR: o.cache ?? sharedCache, ...o.env };
  return new Promise((resolve) => execFile(process.execPath, [o.bin ?? `${repo}bin/play.js`, ...args], { cwd: repo, env }, (err, out, stderr) => {
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out, err: stderr });
  }));
}

/** Write `source` as a file of this spec's temp directory; its path. */
function file(name: string, source: string): string {
  const path = join(tmp, name);
  writeFileSync(path, source);
  return path;
}

/** The mtime a second on, so an edit never goes unseen on a coarse clock. */
function touched(path: string): void {
  const t = new Date(statSync(path).mtimeMs + 1000);
  utimesSync(path, t, t);
}

const built = (r: Ran, name: string) => new RegExp(`bundle ${name}\\S* built`).test(r.err);
const cached = (r: Ran, name: string) => new RegExp(`bundle ${name}\\S* cached`).test(r.err);

const syntax = () => file('syntax.ts', "import { definePlaybook } from 'playbook-ts';\n// é: columns count characters\nconst x: number = 'é' +* 3;\nexport default definePlaybook({ name: 'x', plays: [] });\n");
const badInventory = () => file('bad-inventory.ts', "import { defineInventory } from 'playbook-ts';\nexport default defineInventory({ hosts: {} ;\n");
// The task's name carries the inventory's secret: only the CLI's redact(), which knows secrets
// registered through the 'playbook-ts' the inventory imported, can mask it.
const secretName = () => file('secret-name.ts', `import { definePlaybook } from 'playbook-ts';
import { command } from '${repo}lib/tasks/index.ts';
export default definePlaybook<{ token: string }>({ name: 's', plays: [{ name: 'web', hosts: 'web', tasks: ({ vars }) => [command({ cmd: \`echo \${vars.token}\` })] }] });
`);
// TaskError by play's own path: the runner shows its table only if it is the runner's TaskError class.
const refuse = () => file('refuse.ts', `import { defineTask, definePlaybook } from 'playbook-ts';
import { TaskError } from '${repo}lib/core/errors.ts';
const refuse = defineTask<{}>({ kind: 'refuse', keys: [], name: () => 'refuse',
  plan: async (_, ctx) => { throw new TaskError(ctx.host.name, 'inner', 'refused on purpose', { table: { head: ['why'], rows: [['identity']] } }); } });
export default definePlaybook({ name: 'refuse', plays: [{ name: 'here', hosts: 'controller', tasks: () => [refuse({})] }] });
`);

const Bundle = suite('bin/play.js bundles and caches the TypeScript it runs');
Bundle.after(() => rmSync(tmp, { recursive: true, force: true }));

const runs: Array<{ what: string; args: () => string[]; code: number; out?: RegExp[]; err?: RegExp[]; not?: RegExp }> = [
  {
    what: 'the seed: roles, templates found beside them through import.meta.url',
    args: () => ['site.ts', '-i', 'inventory.ts', '--list-tasks'], code: 0,
    out: [/LB1 192\.168\.56\.101\n {6}director: interface enp0s8 exists\n {6}director: apt keepalived, ipvsadm/, /controller\n {4}verify: verify LVS cluster/],
  },
  {
    what: 'a syntax error: the file, its line and column (in characters)',
    args: () => [syntax(), '-i', `${fixtures}inventory/three.ts`], code: 1,
    err: [/syntax\.ts: failed to load: Unexpected "\*"\n\s+at \S+\/syntax\.ts:3:24\n/],
  },
  {
    what: 'a playbook that throws while loading: its .ts file and line',
    args: () => [`${fixtures}playbooks/throws.ts`, '-i', `${fixtures}inventory/three.ts`], code: 1,
    err: [/throws\.ts: failed to load: this playbook is broken on purpose\n\s+at .*\/spec\/fixtures\/playbooks\/throws\.ts:1:\d+/],
  },
  {
    what: 'an inventory that does not compile and a playbook that throws: both reported',
    args: () => [`${fixtures}playbooks/throws.ts`, '-i', badInventory()], code: 1,
    err: [/2 problem\(s\)/, /bad-inventory\.ts: failed to load: Expected "}" but found ";"\n\s+at \S+bad-inventory\.ts:2:\d+/, /throws\.ts: failed to load: this playbook is broken on purpose/],
  },
  {
    what: 'every mistake of an inventory and a playbook, listed as a ValidationError',
    args: () => [`${fixtures}playbooks/many-mistakes.ts`, '-i', `${fixtures}inventory/many-mistakes.ts`], code: 1,
    err: [/^play: 11 problem\(s\) found before contacting any host:\n/, /many-mistakes\.njk, line 3, column 9: undefined variable 'owner'/],
  },
  {
    what: 'one instance of lib: a secret registered through \'play\' is masked by the CLI',
    args: () => [secretName(), '-i', `${fixtures}inventory/three.ts`, '--list-tasks'], code: 0,
    out: [/A 192\.0\.2\.1\n {4}command echo \*{8}\n/], not: /tok-SECRET-42/,
  },
  {
    what: 'one instance of lib: a TaskError imported by path is the runner\'s TaskError (its table is shown)',
    args: () => [refuse(), '-i', `${fixtures}inventory/three.ts`, '--check', '--json'], code: 2,
    out: [/"task":"refuse","kind":"refuse","status":"failed".*"table":\{"head":\["why"\],"rows":\[\["identity"\]\]\}/],
  },
  {
    what: 'the console reporter, imported lazily, from the bundle',
    args: () => [refuse(), '-i', `${fixtures}inventory/three.ts`, '--check'], code: 2,
    out: [/CHECK RECAP/, /│ why/],
  },
];

for (const r of runs) {
  Bundle(r.what, async () => {
    const ran = await play(r.args());
    assert.is(ran.code, r.code, ran.err);
    for (const re of r.out ?? []) assert.match(ran.out, re);
    for (const re of r.err ?? []) assert.match(ran.err.replace(/^play: bundle .*\n/gm, ''), re);
    if (r.not) assert.not.match(ran.out + ran.err, r.not);
  });
}

Bundle('a second run reuses both bundles; an edited playbook is rebuilt, and the edit shows', async () => {
  const cache = join(tmp, 'edit-cache');
  const pb = file('edited.ts', readFileSync(`${fixtures}playbooks/simple.ts`, 'utf8'));
  const args = [pb, '-i', `${fixtures}inventory/three.ts`, '--list-tasks'];
  const first = await play(args, { cache });
  assert.is(first.code, 0, first.err);
  assert.ok(built(first, 'lib') && built(first, 'user-'), first.err);
  assert.match(first.out, /web: step one/);
  const second = await play(args, { cache });
  assert.ok(cached(second, 'lib') && cached(second, 'user-'), second.err);
  assert.is(second.out, first.out);
  writeFileSync(pb, readFileSync(pb, 'utf8').replace("'step one'", "'step eins'"));
  touched(pb);
  const edited = await play(args, { cache });
  assert.ok(cached(edited, 'lib') && built(edited, 'user-'), edited.err);
  assert.match(edited.out, /web: step eins/);
  assert.ok(cached(await play(args, { cache }), 'user-'));
});

Bundle('play\'s own lib/ is rebuilt when one of its files changes or a new one appears', async () => {
  const copy = join(tmp, 'checkout');
  for (const d of ['bin', 'lib']) cpSync(join(repo, d), join(copy, d), { recursive: true });
  cpSync(join(repo, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
  const o = { bin: join(copy, 'bin/play.js'), cache: join(tmp, 'copy-cache') };
  assert.ok(built(await play(['--version'], o), 'lib'));
  assert.ok(cached(await play(['--version'], o), 'lib'));
  const args = join(copy, 'lib/cli/args.ts');
  writeFileSync(args, readFileSync(args, 'utf8').replace('Exit codes', 'Exit codes (edited)'));
  touched(args);
  const edited = await play(['--help'], o);
  assert.ok(built(edited, 'lib'), edited.err);
  assert.match(edited.out, /Exit codes \(edited\)/);
  writeFileSync(join(copy, 'lib/new-module.ts'), 'export const x = 1;\n');
  assert.ok(built(await play(['--version'], o), 'lib'));
  assert.ok(cached(await play(['--version'], o), 'lib'));
});

Bundle('plays started at once on an empty cache all succeed', async () => {
  const cache = join(tmp, 'race-cache');
  const ran = await Promise.all([1, 2, 3].map(() => play(['site.ts', '-i', 'inventory.ts', '--list-hosts'], { cache })));
  for (const r of ran) {
    assert.is(r.code, 0, r.err);
    assert.is(r.out, ran[0]!.out);
  }
  assert.match(ran[0]!.out, /play "verify" \(1 host\(s\)\)\n {2}controller/);
  assert.ok(cached(await play(['site.ts', '-i', 'inventory.ts', '--list-hosts'], { cache }), 'lib'));
});

Bundle('a cache that cannot be written: a private directory under the OS temp directory; someone else\'s is not used', async () => {
  const notADir = file('not-a-directory', '');
  const temp = join(tmp, 'os-tmp');
  mkdirSync(temp);
  const o = { cache: join(notADir, 'cache'), env: { TMPDIR: temp } };
  const first = await play(['site.ts', '-i', 'inventory.ts', '--list-hosts'], o);
  assert.is(first.code, 0, first.err);
  const own = readdirSync(temp).find((n) => n.startsWith('play-bundle-'));
  assert.ok(own, 'no private cache directory');
  assert.is(statSync(join(temp, own)).mode & 0o777, 0o700);
  assert.ok(cached(await play(['site.ts', '-i', 'inventory.ts', '--list-hosts'], o), 'lib'));
  // Open to everyone: not trusted, so each run builds in a directory of its own, removed at exit.
  chmodSync(join(temp, own), 0o777);
  const shared = await play(['site.ts', '-i', 'inventory.ts', '--list-hosts'], o);
  assert.is(shared.code, 0, shared.err);
  assert.ok(built(shared, 'lib'), shared.err);
  assert.equal(readdirSync(temp), [own]);
});

Bundle('compiled templates are kept across runs; an edited template is compiled again, and its edit shows', async () => {
  const cache = join(tmp, 'template-cache');
  const njk = file('kept.njk', 'site {{ site }}\n');
  const pb = file('kept.ts', `import { definePlaybook, template } from 'playbook-ts';
export default definePlaybook({ name: 'kept', plays: [{ name: 'web', hosts: 'web', tasks: () => [
  template({ src: new URL('./kept.njk', import.meta.url), dest: '/etc/kept.conf', vars: { site: 'a' } }),
] }] });
`);
  const args = [pb, '-i', `${fixtures}inventory/three.ts`, '--list-tasks'];
  const entries = () => readdirSync(join(cache, 'templates')).filter((n) => n.endsWith('.js')).sort();
  assert.is((await play(args, { cache })).code, 0);
  const first = entries();
  assert.is(first.length, 1, 'one template, one entry');
  const again = await play(args, { cache });
  assert.is(again.code, 0, again.err);
  assert.equal(entries(), first);
  // A damaged entry is compiled again and replaced, not run.
  for (const damage of ['return {{{', 'return {};']) {
    writeFileSync(join(cache, 'templates', first[0]!), damage);
    assert.is((await play(args, { cache })).code, 0);
    assert.match(readFileSync(join(cache, 'templates', first[0]!), 'utf8'), /function root\(/);
  }
  writeFileSync(njk, 'site {{ site }}\nowner {{ owner }}\n');
  touched(njk);
  const edited = await play(args, { cache });
  assert.is(edited.code, 1);
  assert.match(edited.err, /kept\.njk, line 2, column \d+: undefined variable 'owner'/);
  assert.is(entries().length, 2);
});

Bundle('a copy of play whose dependencies are not installed (a link install) names them, not a stack trace', async () => {
  const bare = join(tmp, 'bare');
  for (const d of ['bin', 'lib']) cpSync(join(repo, d), join(bare, d), { recursive: true });
  cpSync(join(repo, 'package.json'), join(bare, 'package.json'));
  const ran = await play(['--version'], { bin: join(bare, 'bin/play.js'), cache: join(tmp, 'bare-cache') });
  assert.is(ran.code, 1);
  assert.match(ran.err, /^play: its dependencies are not installed where play is \(.*bare\/?\): .*esbuild.*nunjucks.*missing\.\nA link install/);
  assert.not.match(ran.err, /\n\s+at /);
});

Bundle.run();
