import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostView } from '../../lib/core/host.ts';
import { parseCli } from '../../lib/cli/args.ts';
import { resolveFile, resolveRunFiles } from '../../lib/cli/load.ts';
import { LoadError, ValidationError } from '../../lib/core/errors.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runCli } from '../support/cli.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Run the CLI in-process with fake hosts; returns exit code and output. */
const cli = (argv: string[], hosts: (h: HostView) => Scripted[] | 'down' = () => []) => runCli(argv, (h) => (h.local ? [] : hosts(h)));
const at = (...p: string[]) => [`${fixtures}playbooks/${p[0]}`, '-i', `${fixtures}inventory/${p[1] ?? 'three.ts'}`];
const allOk: Scripted[] = [{ cmd: /.*/ }];

const Cli = suite('cli');

Cli('parses flags, repeated and comma lists', () => {
  const p = parseCli(['site', '-i', 'inv', '--check', '--diff', '--role', 'a', '--role', 'b,c', '-l', 'LB1,RS1', '-t', 'x', '-f', '5', '--json', '-v']);
  assert.is(p.kind, 'run');
  if (p.kind !== 'run') return;
  assert.equal([p.args.check, p.args.diff, p.args.roles, p.args.limit, p.args.tags, p.args.forks, p.args.json, p.args.verbose],
    [true, true, ['a', 'b', 'c'], ['LB1', 'RS1'], ['x'], 5, true, true]);
});

Cli('usage errors exit 1 with a reason', async () => {
  for (const [argv, msg] of [[['site'], /missing inventory/], [[], /missing playbook/], [['a', 'b', '-i', 'x'], /expected one playbook/], [['site', '-i', 'x', '--bogus'], /bogus/], [['site', '-i', 'x', '-f', 'zero'], /--forks/]] as const) {
    const r = await cli([...argv]);
    assert.is(r.code, 1, argv.join(' '));
    assert.match(r.err, msg);
  }
});

Cli('--help and --version exit 0', async () => {
  assert.match((await cli(['--help'])).out, /Exit codes/);
  assert.match((await cli(['--version'])).out, /^play \d+\.\d+\.\d+/);
});

Cli('bare names resolve under playbooks/ and inventory/', () => {
  assert.is(resolveFile('simple', 'playbooks', fixtures), `${fixtures}playbooks/simple.ts`);
  assert.is(resolveFile('three.ts', 'inventory', fixtures), `${fixtures}inventory/three.ts`);
  assert.throws(() => resolveFile('nope', 'playbooks', fixtures), /no such playbook/);
  // A directory named like the folder is not an inventory: `-i inventory` means inventory/inventory.ts.
  assert.is(resolveFile('inventory', 'inventory', `${fixtures}../../`), resolveFile('inventory/inventory.ts', 'inventory', `${fixtures}../../`));
});

Cli('a bare name never falls back into play\'s own playbooks/ or inventory/: from another directory it is not found', () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'play-elsewhere-'));
  try {
    for (const [name, folder] of [['site', 'playbooks'], ['inventory', 'inventory']] as const) {
      const e = (() => { try { resolveFile(name, folder, elsewhere); } catch (err) { return err as Error; } return undefined; })();
      assert.ok(e, `${name} was found`);
      const looked = /looked for (.*)\)/.exec(e.message)![1]!.split(', ');
      assert.ok(looked.every((l) => l.startsWith(elsewhere)), looked.join(' '));
    }
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

Cli('from a directory holding neither, the playbook and the inventory are both reported, each with every path looked at', () => {
  const empty = mkdtempSync(join(tmpdir(), 'play-empty-'));
  try {
    const both = (() => { try { resolveRunFiles('site', 'inventory', empty); } catch (e) { return e; } return undefined; })();
    assert.instance(both, ValidationError);
    const problems = (both as ValidationError).problems;
    assert.equal(problems.map((p) => p.file), ['site', 'inventory']);
    assert.match(problems[0]!.message, `no such playbook (looked for ${empty}/site, ${empty}/site.ts, ${empty}/playbooks/site, ${empty}/playbooks/site.ts)`);
    assert.match(problems[1]!.message, `no such inventory (looked for ${empty}/inventory, ${empty}/inventory.ts, ${empty}/inventory/inventory, ${empty}/inventory/inventory.ts)`);
    // One missing: its own LoadError, as before.
    assert.throws(() => resolveRunFiles(`${fixtures}playbooks/simple.ts`, 'inventory', empty), (e: unknown) => e instanceof LoadError && e.file === 'inventory');
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

Cli('all good: exit 0, recap table and change summary per host', async () => {
  const r = await cli(at('simple.ts'), () => allOk);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /RECAP/);
  assert.match(r.out, /│ A\s+│ 0\s+│ 2\s+│ 0/);
  assert.match(r.out, /Changed:\n  A\n    - step one: run step-one/);
});

Cli('a failed task: exit 2; an unreachable host only: exit 4', async () => {
  const failed = await cli(at('simple.ts'), (h) => (h.name === 'B' ? [{ cmd: 'step-one', code: 1 }] : allOk));
  assert.is(failed.code, 2);
  const down = await cli(at('simple.ts'), (h) => (h.name === 'C' ? 'down' : allOk));
  assert.is(down.code, 4);
  assert.match(down.out, /C\s+unreachable\s+connect/);
});

Cli('--json: one object per line, recap last, secrets masked', async () => {
  const r = await cli([...at('simple.ts'), '--json', '-v'], () => [{ cmd: /echo/, stdout: 'tok-SECRET-42\n' }, ...allOk]);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.at(-1), { recap: {
    A: { ok: 0, changed: 2, failed: 0, skipped: 0, unreachable: 0 },
    B: { ok: 0, changed: 2, failed: 0, skipped: 0, unreachable: 0 },
    C: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0 },
  }, exit: 0 });
  assert.not.match(r.out, /tok-SECRET-42/);
  assert.match(r.out, /\*\*\*\*\*\*\*\*/);
});

Cli('--check applies nothing and says so', async () => {
  const r = await cli([...at('simple.ts'), '--check'], () => []);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /would change/);
  assert.match(r.out, /Would change:/);
});

Cli('--list-hosts and --list-tasks contact nothing', async () => {
  const hosts = await cli([...at('simple.ts'), '--list-hosts'], () => { throw new Error('contacted'); });
  assert.is(hosts.code, 0);
  assert.match(hosts.out, /play "web" \(2 host\(s\)\)\n  A 192\.0\.2\.1\n  B 192\.0\.2\.2/);
  const tasks = await cli([...at('simple.ts'), '--list-tasks', '--role', 'db']);
  assert.match(tasks.out, /C 192\.0\.2\.3\n    db: db step/);
  assert.not.match(tasks.out, /step one/);
});

Cli('a playbook with several mistakes: all listed, exit 1, nothing contacted', async () => {
  const r = await cli(at('bad.ts'), () => { throw new Error('contacted'); });
  assert.is(r.code, 1);
  assert.match(r.err, /unknown host or group "nosuchgroup"/);
  assert.match(r.err, /hosts A, B: task "command x": field bogus: unknown parameter/);
  assert.match(r.err, /field notify: no handler named "ghost"/);
});

Cli('a playbook that throws: exit 1 naming the file', async () => {
  const r = await cli(at('throws.ts'));
  assert.is(r.code, 1);
  assert.match(r.err, /throws\.ts: failed to load: this playbook is broken on purpose/);
});

Cli('the real bin/play.js (its own TypeScript loader) loads the seed playbook and inventory', async () => {
  const { execFile } = await import('node:child_process');
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, [`${repo}bin/play.js`, 'site.ts', '-i', 'inventory.ts', '--list-tasks'], { cwd: repo, env: { ...process.env, PLAY_LAB: '0' } },
    (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))));
  assert.match(out, /LB1 192\.168\.56\.101\n {6}director: interface enp0s8 exists\n {6}director: apt keepalived, ipvsadm/);
  assert.match(out, /controller\n {4}verify: verify LVS cluster/);
});

Cli.run();
