/**
 * play installed in a user's project and run against a real lab host: the
 * packed package in a project made by `npm init -y` and `tsc --init`, the
 * user's role with a template and playbook (./greeting-project.ts), and an
 * inventory of the user's naming RS1 with the key and the known_hosts file
 * it was given (copied into the project: nothing from play's own files or
 * $HOME). `--check` leaves RS1 as it was, a run converges, a re-run reports
 * 0 changed.
 */
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { connectLab, freshLab, labDown, snapshot } from '../support/lab.ts';
import { userProject, type Ran, type UserProject } from '../support/packed.ts';
import { writeGreetingProject } from './greeting-project.ts';

const OnLab = suite('play installed in a user project, run against a lab host');
let project: UserProject;
let rs1: Transport;
const ROOT = '/usr/local/share/user-project-greeting';

const recap = (r: Ran): { recap: Record<string, { changed: number; failed: number }>; exit: number } => JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}');

OnLab('lab up, and the user\'s project with play installed from its tarball', async () => {
  const lab = await freshLab();
  rs1 = await connectLab('RS1', lab);
  await rs1.run(`rm -rf ${ROOT}`);
  project = await userProject('play-user-lab-');
  writeGreetingProject(project);
  mkdirSync(join(project.dir, 'ssh'));
  copyFileSync(lab.identityFile, join(project.dir, 'ssh/id_lab'));
  chmodSync(join(project.dir, 'ssh/id_lab'), 0o600);
  copyFileSync(lab.knownHostsFile, join(project.dir, 'ssh/known_hosts'));
  project.write('inventory.ts', `import { defineInventory } from 'playbook-ts';
import site from './site.js';

export default defineInventory(site, {
  vars: { greeting: 'hello', root: '${ROOT}' },
  defaults: { identityFile: './ssh/id_lab', knownHostsFile: './ssh/known_hosts' },
  hosts: { RS1: { address: '192.168.56.103', groups: ['web'] } },
});
`);
  const t = await project.typecheck();
  assert.is(t.code, 0, t.out + t.err);
});

OnLab('--check changes nothing on RS1; a run converges; a re-run reports 0 changed', async () => {
  const before = await snapshot(rs1);
  const check = await project.play(['site.ts', '-i', 'inventory.ts', '--check', '--json']);
  assert.is(recap(check).exit, 0, check.err + check.out);
  assert.ok(recap(check).recap.RS1!.changed >= 1, check.out);
  assert.is(await snapshot(rs1), before, 'check mode changed RS1');

  const run = await project.play(['site.ts', '-i', 'inventory.ts', '--json']);
  assert.is(recap(run).exit, 0, run.err + run.out);
  assert.is(recap(run).recap.RS1!.changed, 2, run.out);
  assert.is((await rs1.run(`cat ${ROOT}/motd`)).stdout, 'hello from RS1\n');

  const again = await project.play(['site.ts', '-i', 'inventory.ts', '--json']);
  assert.is(recap(again).exit, 0, again.err + again.out);
  assert.is(recap(again).recap.RS1!.changed, 0, again.out);
});

OnLab.after(async () => {
  await rs1?.run(`rm -rf ${ROOT}`).catch(() => undefined);
  await rs1?.close();
  project?.remove();
  await labDown();
});
OnLab.run();
