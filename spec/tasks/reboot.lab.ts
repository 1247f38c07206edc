/**
 * reboot against a real VM: `play lab up --ipvs` makes the directors qemu
 * VMs (a container cannot reboot: systemd-nspawn exits when its init asks
 * to). LB1 reboots, answers again with a new boot id and the same host key,
 * and the next task runs over the new connection.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { command, reboot } from '../../lib/tasks/index.ts';
import { connectLab, freshLab, labDown } from '../support/lab.ts';
import { runOn } from './lab-converge.ts';

const Reboot = suite('reboot on a lab VM');
const LB1 = { name: 'LB1', address: '192.168.56.101' };

Reboot('lab up --ipvs', async () => {
  await freshLab({ ipvs: true });
});

Reboot('check mode reports the reboot and does not do it', async () => {
  const t = await connectLab('LB1');
  const before = (await t.run('cat /proc/sys/kernel/random/boot_id')).stdout;
  const r = await runOn(LB1.name, LB1.address, () => [reboot({ timeout: 300 })], true);
  assert.equal(r.map((x) => x.status), ['changed']);
  assert.is((await t.run('cat /proc/sys/kernel/random/boot_id')).stdout, before);
  await t.close();
});

Reboot('reboot: back with a new boot id, and the next task runs on the new connection', async () => {
  const t = await connectLab('LB1');
  const before = (await t.run('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
  await t.close();
  const r = await runOn(LB1.name, LB1.address, () => [
    reboot({ timeout: 300, testCommand: 'systemctl is-system-running --wait || true' }),
    command({ cmd: 'cat /proc/sys/kernel/random/boot_id', register: 'boot', changedWhen: () => false }),
  ]);
  assert.equal(r.map((x) => x.status), ['changed', 'ok'], JSON.stringify(r.map((x) => x.error)));
  assert.is.not(r[1]!.stdout!.trim(), before);
});

Reboot.after(async () => {
  await labDown();
});

Reboot.run();
