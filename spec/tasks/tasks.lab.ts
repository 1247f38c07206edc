/**
 * Each task kind over SSH against a real lab host (RS1): check mode leaves
 * the host byte-identical, apply converges, and planning again finds
 * nothing to do. The fixture tables prove the planners; this proves the
 * commands they emit on a real Debian host with systemd.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../../lib/core/task.ts';
import type { Transport } from '../../lib/core/transport.ts';
import { apt, command, file, service, sysctl, template } from '../../lib/tasks/index.ts';
import { connectLab, freshLab, labDown, snapshot } from '../support/lab.ts';
import { runOn } from './lab-converge.ts';

const Tasks = suite('tasks on a lab host');
let rs1: Transport;

/** Run tasks on RS1 in-process through the real SSH connector; the recorded results. */
const run = (tasks: () => Task[], check = false) => runOn('RS1', '192.168.56.103', tasks, check);

/** check (nothing changes on the host, changes predicted) → apply (changes) → apply again (no change). */
async function converges(name: string, tasks: () => Task[]) {
  const before = await snapshot(rs1);
  const planned = await run(tasks, true);
  assert.ok(planned.every((r) => r.status !== 'failed'), `${name} check: ${JSON.stringify(planned.filter((r) => r.status === 'failed'))}`);
  assert.ok(planned.some((r) => r.status === 'changed'), `${name}: check mode planned nothing`);
  assert.is(await snapshot(rs1), before, `${name}: check mode changed the host`);
  const applied = await run(tasks);
  assert.ok(applied.every((r) => r.status === 'changed' || r.status === 'ok'), `${name} apply: ${JSON.stringify(applied.map((r) => [r.task, r.status, r.error]))}`);
  const again = await run(tasks);
  assert.equal(again.filter((r) => r.status !== 'ok').map((r) => `${r.task}: ${r.status} ${r.changes.map((c) => c.summary).join('; ')}`), [], `${name}: not idempotent`);
}

Tasks('lab up', async () => {
  const lab = await freshLab();
  rs1 = await connectLab('RS1', lab);
});

Tasks('apt: install, then remove', async () => {
  await converges('apt present', () => [apt({ name: ['net-tools'], state: 'present' })]);
  assert.is((await rs1.run('dpkg-query -W -f=\'${Status}\' net-tools')).stdout, 'install ok installed');
  await converges('apt absent', () => [apt({ name: 'net-tools', state: 'absent' })]);
});

Tasks('file: directory, content with mode, backup on change, absent', async () => {
  await converges('file', () => [
    file({ path: '/srv/spec', state: 'directory', mode: '0750' }),
    file({ path: '/srv/spec/a.conf', content: 'one\n', mode: '0600' }),
  ]);
  assert.is((await rs1.run('stat -c %a /srv/spec /srv/spec/a.conf')).stdout, '750\n600\n');
  await converges('file backup', () => [file({ path: '/srv/spec/a.conf', content: 'two\n', backup: true })]);
  assert.match((await rs1.run('cat /srv/spec/a.conf.*~')).stdout, /^one\n$/);
  await converges('file absent', () => [file({ path: '/srv/spec', state: 'absent' })]);
  assert.is((await rs1.run('test -e /srv/spec')).code, 1);
});

Tasks('template: a failing validate leaves the destination untouched and no temp file', async () => {
  await rs1.run('mkdir -p /srv/t && printf old > /srv/t/conf');
  const results = await run(() => [template({
    src: new URL('./fixtures/greeting.njk', import.meta.url), dest: '/srv/t/conf', vars: { name: 'lab' }, validate: 'grep -q never-there %s',
  })]);
  assert.is(results[0]!.status, 'failed');
  assert.is((await rs1.run('cat /srv/t/conf; ls -A /srv/t')).stdout, 'oldconf\n');
});

Tasks('sysctl: running value and its persisted line', async () => {
  await converges('sysctl', () => [sysctl({ name: 'net.ipv4.conf.default.arp_ignore', value: 1, file: '/etc/sysctl.d/60-spec.conf' })]);
  assert.is((await rs1.run('sysctl -n net.ipv4.conf.default.arp_ignore; cat /etc/sysctl.d/60-spec.conf')).stdout, '1\nnet.ipv4.conf.default.arp_ignore = 1\n');
});

Tasks('service: nginx installed, stopped, then started and enabled', async () => {
  await converges('nginx', () => [apt({ name: 'nginx', state: 'present' }), service({ name: 'nginx', state: 'stopped', enabled: false })]);
  assert.is((await rs1.run('systemctl is-active nginx')).stdout.trim(), 'inactive');
  await converges('nginx started', () => [service({ name: 'nginx', state: 'started', enabled: true })]);
  assert.is((await rs1.run('systemctl is-active nginx; systemctl is-enabled nginx')).stdout, 'active\nenabled\n');
});

Tasks('command: creates guard', async () => {
  await converges('command', () => [command({ cmd: 'echo made > /srv/made', creates: '/srv/made' })]);
});

Tasks.after(async () => {
  await rs1?.close();
  await labDown();
});

Tasks.run();
