/**
 * play in a user's own project, the README's "Use play in your own project"
 * path: the packed package installed into a project made by `npm init -y`
 * and `tsc --init`, a role with a template, a playbook and an inventory of
 * the user's, type-checked with the project's own compiler options, then
 * run against an SSH server on 127.0.0.1 (in-process, real shell) with the
 * host key checked against the inventory's known_hosts file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { knownHostsLine } from '../../lib/transport/known-hosts.ts';
import { packedTarball, sh, tsc, userProject, type Ran, type UserProject } from '../support/packed.ts';
import { keyPair, startSshServer, type TestServer } from '../transport/ssh-server.ts';
import { writeGreetingProject } from './greeting-project.ts';

const hostKey = keyPair();
const clientKey = keyPair();

const Package = suite('play installed in a user project');
let project: UserProject;
let server: TestServer;
let root: string;

/** The last line of `--json`: `{"recap": {host: counts}, "exit": N}`. */
function recap(r: Ran): { recap: Record<string, { ok: number; changed: number; failed: number }>; exit: number } {
  const last = r.out.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`no JSON recap (exit ${r.code}):\n${r.out}\n${r.err}`);
  }
}

// uvu reports a failing hook as failed tests with no message: keep the reason for each test to show.
let setup: unknown;
const ready = () => { if (setup) throw setup; };

async function setUp(): Promise<void> {
  project = await userProject();
  server = await startSshServer({ hostKeys: [hostKey], clientKey });
  root = join(project.dir, 'host-root');
  mkdirSync(join(project.dir, 'ssh'));
  chmodSync(project.write('ssh/id_test', clientKey.private), 0o600);
  project.write('ssh/known_hosts', knownHostsLine('127.0.0.1', server.port, hostKey.blob));
  writeGreetingProject(project);
  project.write('inventory.ts', inventory({ greeting: 'hello', root }));
  // Every task kind in a role of the user's (type-checked, never run): bytes as a Uint8Array, `when` typed by the role's variables.
  project.write('roles/kinds.ts', `import { blockinfile, copy, defineRole, group, lineinfile, reboot, systemdUnit, ufw, user, waitFor } from 'playbook-ts';

export const kinds = defineRole<{ port: number; admin: string }>({
  name: 'kinds',
  tasks: ({ vars }) => [
    copy({ content: new Uint8Array([104, 105, 10]), dest: '/etc/hi', mode: '0644', when: ({ vars }) => vars.port > 0 }),
    lineinfile({ path: '/etc/hosts', line: '127.0.1.1 web', when: ({ vars }) => vars.admin !== '' }),
    blockinfile({ path: '/etc/motd', block: 'managed\\n' }),
    group({ name: 'ops' }),
    user({ name: vars.admin, groups: ['ops'], retries: 2, delay: 1 }),
    systemdUnit({ name: 'web.service', content: '[Service]\\nExecStart=/bin/true\\n' }),
    ufw({ state: 'enabled', rules: [{ port: vars.port, proto: 'tcp' }], runOnce: true }),
    waitFor({ port: vars.port, delegateTo: 'controller' }),
    reboot({ when: ({ vars }) => vars.port === 0 }),
  ],
});
`);
  // The LVS roles by explicit import, typed: part of every type check below.
  project.write('lvs.ts', `import { definePlaybook, type VarsOf } from 'playbook-ts';
import { director } from 'playbook-ts/roles/director';
import { realserver } from 'playbook-ts/roles/realserver';
import type { LvsVars } from 'playbook-ts/roles/lvs/cluster';

export const lvs = definePlaybook<LvsVars>({ name: 'lvs', plays: [{ name: 'directors', hosts: 'directors', roles: [director] }, { name: 'real servers', hosts: 'realservers', roles: [realserver] }] });
export type DirectorVars = VarsOf<typeof director>;
`);
}

Package.before(async () => {
  try {
    await setUp();
  } catch (e) {
    setup = e;
  }
});

Package.after(async () => {
  await server?.close();
  project?.remove();
});

/** The user's inventory, declared for the playbook: no type argument, its variables checked against the playbook's roles. */
function inventory(vars: Record<string, string>): string {
  return `import { defineInventory } from 'playbook-ts';
import site from './site.js';

export default defineInventory(site, {
  vars: ${JSON.stringify(vars)},
  defaults: { identityFile: './ssh/id_test', knownHostsFile: './ssh/known_hosts' },
  hosts: { web1: { address: '127.0.0.1', port: ${server.port}, groups: ['web'] } },
});
`;
}

Package('the tarball holds the built JavaScript, its types and the LICENSE, and none of the sources or the demo', async () => {
  ready();
  const listed = await sh('tar', ['tzf', await packedTarball()], { cwd: project.dir });
  const files = listed.out.split('\n').filter(Boolean);
  for (const f of ['package/LICENSE', 'package/bin/play.js', 'package/dist/lib/index.js', 'package/dist/lib/index.d.ts', 'package/dist/roles/director/index.js', 'package/dist/roles/director/templates/keepalived.conf.njk',
    'package/dist/lib/inventory/ansible.js', 'package/dist/lib/inventory/yaml.js', 'package/dist/lib/facts/host.js', 'package/dist/lib/tasks/copy.d.ts', 'package/dist/lib/tasks/reboot.js']) {
    assert.ok(files.includes(f), `${f} not packed`);
  }
  assert.equal(files.filter((f) => /^package\/(lib|roles|playbooks|inventory|spec)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts'))), []);
});

Package('the project type-checks with tsc --init\'s options: 0 errors; with skipLibCheck off too (play\'s public types need no @types/node)', async () => {
  ready();
  const r = await project.typecheck();
  assert.is(r.out + r.err, '');
  assert.is(r.code, 0);
  const strict = await sh(process.execPath, [tsc, '--noEmit', '-p', project.dir, '--skipLibCheck', 'false'], { cwd: project.dir });
  assert.is(strict.out + strict.err, '');
});

Package('a variable the playbook\'s role needs and the inventory lacks does not compile; nor does a `when` reading a variable the role has not (command, copy)', async () => {
  ready();
  project.write('inventory-missing.ts', inventory({ greeting: 'hello' }));
  project.write('roles/typo.ts', `import { command, defineRole } from 'playbook-ts';
export const typo = defineRole<{ greeting: string }>({ name: 'typo', tasks: () => [command({ cmd: ['true'], when: ({ vars }) => vars.greting === 'hi' })] });
`);
  project.write('roles/typo-copy.ts', `import { copy, defineRole } from 'playbook-ts';
export const typo = defineRole<{ greeting: string }>({ name: 'typo', tasks: () => [copy({ content: 'x', dest: '/tmp/x', when: ({ vars }) => vars.greting === 'hi' })] });
`);
  try {
    const r = await project.typecheck();
    assert.is.not(r.code, 0);
    assert.match(r.out, /inventory-missing\.ts\(\d+,\d+\): error TS2741: Property 'root' is missing/);
    assert.match(r.out, /roles\/typo\.ts\(\d+,\d+\): error TS2551: Property 'greting' does not exist on type 'Readonly<\{ greeting: string; \}>'/);
    assert.match(r.out, /roles\/typo-copy\.ts\(\d+,\d+\): error TS2551: Property 'greting' does not exist on type 'Readonly<\{ greeting: string; \}>'/);
    assert.is(r.out.trim().split('\n').filter((l) => /error TS/.test(l)).length, 3, r.out);
  } finally {
    rmSync(join(project.dir, 'inventory-missing.ts'));
    rmSync(join(project.dir, 'roles/typo.ts'));
    rmSync(join(project.dir, 'roles/typo-copy.ts'));
  }
});

Package('plain node imports the package, and the LVS roles by explicit import', async () => {
  ready();
  const r = await sh(process.execPath, ['--input-type=module', '-e', `
    const play = await import('playbook-ts');
    const { director } = await import('playbook-ts/roles/director');
    const { lvsGroups } = await import('playbook-ts/roles/lvs/cluster');
    console.log(typeof play.defineRole, typeof play.template, director.name, typeof lvsGroups);`], { cwd: project.dir });
  assert.is(r.err, '');
  assert.is(r.out.trim(), 'function function director function');
});

Package('--check changes nothing; a run converges; a re-run reports 0 changed', async () => {
  ready();
  const check = await project.play(['site.ts', '-i', 'inventory.ts', '--check', '--json']);
  assert.is(recap(check).exit, 0, check.err);
  assert.ok(recap(check).recap.web1!.changed >= 1, check.out);
  assert.not.ok(existsSync(root), 'check mode created the directory');

  const run = await project.play(['site.ts', '-i', 'inventory.ts', '--json']);
  assert.is(recap(run).exit, 0, run.err);
  assert.is(recap(run).recap.web1!.changed, 2, run.out);
  assert.is(readFileSync(join(root, 'motd'), 'utf8'), 'hello from web1\n');

  const again = await project.play(['site.ts', '-i', 'inventory.ts', '--json']);
  assert.is(recap(again).exit, 0, again.err);
  assert.is(recap(again).recap.web1!.changed, 0, again.out);
  assert.is(recap(again).recap.web1!.failed, 0, again.out);
});

Package('an untyped inventory lacking a variable the role needs: exit 1, the variable named, never a TypeError', async () => {
  ready();
  project.write('inventory-untyped.ts', `import { defineInventory } from 'playbook-ts';
export default defineInventory({ vars: { greeting: 'hello' }, hosts: { web1: { address: '127.0.0.1', port: ${server.port}, groups: ['web'] } } });
`);
  try {
    const r = await project.play(['site.ts', '-i', 'inventory-untyped.ts', '--check']);
    assert.is(r.code, 1, r.err);
    assert.match(r.err, /inventory-untyped\.ts: host web1: field root: variable root is missing \(needed by role motd\)/);
    assert.not.match(r.err, /TypeError|Cannot read properties/);
  } finally {
    rmSync(join(project.dir, 'inventory-untyped.ts'));
  }
});

Package('an Ansible inventory (hosts.yml, group_vars/) runs the playbook: yaml loads from the installed package, ~/.ssh/config fills in the key and known_hosts', async () => {
  ready();
  project.write('ansible/hosts.yml', `all:
  children:
    web:
      hosts:
        web1: { ansible_host: 127.0.0.1, ansible_port: ${server.port} }
`);
  project.write('ansible/group_vars/web.yml', `greeting: hello\nroot: ${root}\n`);
  const home = join(project.dir, 'home');
  project.write('home/.ssh/config', `Host 127.0.0.1\n  IdentityFile ${join(project.dir, 'ssh/id_test')}\n  UserKnownHostsFile ${join(project.dir, 'ssh/known_hosts')}\n`);
  try {
    const listed = await project.play(['site.ts', '-i', 'ansible/hosts.yml', '--list-tasks'], { env: { HOME: home } });
    assert.is(listed.code, 0, listed.err);
    assert.match(listed.out, /motd: template \S+\/host-root\/motd/);
    const check = await project.play(['site.ts', '-i', 'ansible/hosts.yml', '--check', '--json'], { env: { HOME: home } });
    assert.is(recap(check).exit, 0, check.err + check.out);
    assert.is(recap(check).recap.web1!.failed, 0, check.out);
  } finally {
    rmSync(join(project.dir, 'ansible'), { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
});

Package('the project\'s tsconfig `paths` load as they type-check', async () => {
  ready();
  const tsconfig = join(project.dir, 'tsconfig.json');
  const original = readFileSync(tsconfig, 'utf8');
  assert.match(original, '"skipLibCheck": true,');
  writeFileSync(tsconfig, original.replace('"skipLibCheck": true,', '"skipLibCheck": true,\n    "paths": { "@roles/*": ["./roles/*"] },'));
  project.write('site-alias.ts', `import { definePlaybook } from 'playbook-ts';
import { motd } from '@roles/motd/index.js';

export default definePlaybook({ name: 'site', plays: [{ name: 'greet', hosts: 'web', roles: [motd] }] });
`);
  try {
    const typed = await project.typecheck();
    assert.is(typed.out, '');
    const listed = await project.play(['site-alias.ts', '-i', 'inventory.ts', '--list-tasks']);
    assert.is(listed.code, 0, listed.err);
    assert.match(listed.out, /motd: template \S+\/host-root\/motd/);
  } finally {
    writeFileSync(tsconfig, original);
    rmSync(join(project.dir, 'site-alias.ts'));
  }
});

Package('from an empty directory `play site -i inventory` exits 1 naming every path it looked at', async () => {
  ready();
  const empty = join(project.dir, 'empty');
  mkdirSync(empty);
  const r = await project.play(['site', '-i', 'inventory'], { cwd: empty });
  assert.is(r.code, 1, r.err);
  assert.match(r.err, `site: no such playbook (looked for ${empty}/site, ${empty}/site.ts, ${empty}/playbooks/site, ${empty}/playbooks/site.ts)`);
  assert.match(r.err, `inventory: no such inventory (looked for ${empty}/inventory, ${empty}/inventory.ts, ${empty}/inventory/inventory, ${empty}/inventory/inventory.ts)`);
  assert.is(r.out, '');
});

Package.run();
