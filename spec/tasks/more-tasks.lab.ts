/**
 * The task kinds of issue #18 over SSH against a real lab host (RS1): for
 * each, check mode leaves the host byte-identical, apply converges, and the
 * re-plan is a no-op that says why. The fixture tables prove the planners;
 * this proves their commands on Debian with systemd (useradd, ufw, bash's
 * /dev/tcp, systemctl).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { apt, blockinfile, copy, file, group, lineinfile, systemdUnit, ufw, user, waitFor } from '../../lib/tasks/index.ts';
import { connectLab, freshLab, labDown } from '../support/lab.ts';
import { converges, runOn } from './lab-converge.ts';

const More = suite('issue #18 tasks on a lab host');
const RS1 = { name: 'RS1', address: '192.168.56.103' };
let rs1: Transport;
const on = (label: string, tasks: Parameters<typeof converges>[3]) => converges(rs1, RS1, label, tasks);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlayLabSpecKeyPlayLabSpecKeyPlayLabSpec spec@lab';

More('lab up', async () => {
  const lab = await freshLab();
  rs1 = await connectLab('RS1', lab);
});

More('copy: binary bytes with a mode; the same bytes again are a no-op', async () => {
  const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0xff, 0xfe, 0x0a, 0x00]);
  await on('copy', () => [copy({ content: bytes, dest: '/usr/local/bin/spec-tool', mode: '0755' })]);
  assert.is((await rs1.run('od -An -tx1 /usr/local/bin/spec-tool | tr -d " \\n"; stat -c " %a" /usr/local/bin/spec-tool')).stdout.trim(), '7f454c4600fffe0a00 755');
});

More('lineinfile and blockinfile: edits on one file compose', async () => {
  await rs1.run(`printf 'Port 22\\n#PasswordAuthentication yes\\n' > /etc/spec-sshd.conf`);
  await on('lineinfile/blockinfile', () => [
    lineinfile({ path: '/etc/spec-sshd.conf', regexp: /^#?PasswordAuthentication/, line: 'PasswordAuthentication no' }),
    blockinfile({ path: '/etc/spec-sshd.conf', block: 'Match User backup\n  ForceCommand internal-sftp\n' }),
  ]);
  assert.is((await rs1.run('cat /etc/spec-sshd.conf')).stdout, 'Port 22\nPasswordAuthentication no\n# BEGIN PLAY MANAGED BLOCK\nMatch User backup\n  ForceCommand internal-sftp\n# END PLAY MANAGED BLOCK\n');
});

More('group and user: created with uid, groups, shell and a key; then changed; then removed', async () => {
  await on('user', () => [
    group({ name: 'specteam', gid: 2345 }),
    user({ name: 'specuser', uid: 2345, groups: ['specteam'], shell: '/bin/bash', authorizedKeys: [KEY] }),
  ]);
  // useradd -U: the user's own group takes the next free gid (2345 is specteam's).
  assert.match((await rs1.run('getent passwd specuser; id -Gn specuser; stat -c "%a %U" /home/specuser/.ssh /home/specuser/.ssh/authorized_keys; cat /home/specuser/.ssh/authorized_keys')).stdout,
    new RegExp(`^specuser:x:2345:\\d+::/home/specuser:/bin/bash\nspecuser specteam\n700 specuser\n600 specuser\n${KEY}\n$`));
  await on('user change', () => [user({ name: 'specuser', shell: '/bin/sh', groups: [] })]);
  await on('user absent', () => [user({ name: 'specuser', state: 'absent', remove: true }), group({ name: 'specteam', state: 'absent' })]);
  assert.is((await rs1.run('getent passwd specuser; test -e /home/specuser')).code, 1);
});

More('systemdUnit: a unit written, reloaded, enabled, started; a changed unit restarts; absent removes it', async () => {
  const unit = (msg: string) => `[Service]\nType=simple\nExecStart=/bin/sh -c 'echo ${msg}; exec sleep infinity'\n[Install]\nWantedBy=multi-user.target\n`;
  await on('systemdUnit', () => [systemdUnit({ name: 'play-spec', content: unit('one'), state: 'started', enabled: true })]);
  const pid = (await rs1.run('systemctl show -p MainPID --value play-spec')).stdout.trim();
  await on('systemdUnit changed', () => [systemdUnit({ name: 'play-spec', content: unit('two'), state: 'started', enabled: true })]);
  assert.is.not((await rs1.run('systemctl show -p MainPID --value play-spec')).stdout.trim(), pid, 'restarted on the new definition');
  await on('systemdUnit absent', () => [systemdUnit({ name: 'play-spec', state: 'absent' })]);
  assert.is((await rs1.run('test -e /etc/systemd/system/play-spec.service')).code, 1);
});

More('waitFor: a port that answers is a no-op; one that never does fails within its bound', async () => {
  await on('waitFor setup', () => [apt({ name: 'nginx', state: 'present' }), file({ path: '/var/www/html/spec.txt', content: 'ok\n' })]);
  const noop = await runOn(RS1.name, RS1.address, () => [waitFor({ port: 80, timeout: 10 }), waitFor({ url: 'http://192.168.56.103/spec.txt', from: 'controller', timeout: 10 })]);
  assert.equal(noop.map((r) => r.status), ['ok', 'ok']);
  const t0 = Date.now();
  const never = await runOn(RS1.name, RS1.address, () => [waitFor({ port: 9, timeout: 2 })]);
  assert.is(never[0]!.status, 'failed');
  assert.ok(Date.now() - t0 < 15_000, 'bounded');
});

More('ufw: without ufw installed, onlyWhenActive is a no-op that says so; with ufw, a rule converges', async () => {
  const installed = (await rs1.run('command -v ufw')).code === 0;
  const results = await runOn(RS1.name, RS1.address, () => [ufw({ rules: [{ port: 80 }], onlyWhenActive: true })]);
  assert.is(results[0]!.status, 'ok');
  if (!installed) {
    assert.equal(results[0]!.notes, ['ufw is not installed: rules left alone']);
    return;
  }
  await on('ufw', () => [ufw({ rules: [{ port: 22, action: 'limit' }, { port: 8080, comment: 'spec' }] })]);
  await on('ufw absent', () => [ufw({ rules: [{ port: 8080, state: 'absent' }] })]);
});

More.after(async () => {
  await rs1?.close();
  await labDown();
});

More.run();
