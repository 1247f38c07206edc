/**
 * `play lab up --ipvs`: the directors are qemu VMs running Debian's kernel
 * (IPVS works there), the real servers stay containers, all on one bridge
 * and reached by the same SSH. Tears the lab down in an `after` hook.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_LAB_HOSTS, labDown, labStatus, labUp, type LabProfile } from '../../lib/lab/index.ts';
import { rssMiB, type ProcRecord } from '../../lib/lab/procs.ts';
import { readLabState } from '../../lib/lab/state.ts';
import { assertNothingLeft, downOnSignal, recordedProcs, requireRootForLab, sshOk } from './support.ts';

requireRootForLab();
downOnSignal();

const Ipvs = suite('play lab --ipvs: directors as qemu VMs');
const log = (line: string) => console.log(`    lab: ${line}`);
let profile: LabProfile | undefined;
function lab(): LabProfile {
  if (!profile) throw new Error('the lab is not up (the first test failed)');
  return profile;
}
const directors = DEFAULT_LAB_HOSTS.filter((h) => h.director);

Ipvs.after(async () => {
  await labDown({ log });
});

Ipvs('up --ipvs: directors are VMs, real servers containers, all answer SSH', async () => {
  const t0 = Date.now();
  profile = await labUp({ hosts: DEFAULT_LAB_HOSTS, ipvs: true, log });
  log(`up --ipvs took ${((Date.now() - t0) / 1000).toFixed(1)} s (includes any one-time cache build)`);
  assert.equal(profile.hosts.map((h) => [h.name, h.kind]), DEFAULT_LAB_HOSTS.map((h) => [h.name, h.director ? 'vm' : 'container']));
  assert.is(profile.ipvs, true);
  for (const h of readLabState()?.hosts.filter((x) => x.kind === 'vm') ?? []) {
    log(`${h.machine}: qemu resident memory ${h.proc ? rssMiB(h.proc) : '?'} MiB`);
  }
});

Ipvs('every host has its hostname, address and interface name', async () => {
  for (const h of DEFAULT_LAB_HOSTS) {
    const out = await sshOk(lab(), h.address, `hostname; ip -o -4 addr show dev ${h.iface}`);
    const [hostname, addr] = out.trim().split('\n');
    assert.is(hostname, h.name.toLowerCase());
    assert.match(addr ?? '', new RegExp(`inet ${h.address.replace(/\./g, '\\.')}/24`));
  }
});

Ipvs('directors run Debian\'s kernel, install ipvsadm offline, and `ipvsadm -Ln` works', async () => {
  await Promise.all(directors.map(async (h) => {
    const kernel = (await sshOk(lab(), h.address, 'uname -r')).trim();
    assert.match(kernel, /-amd64$/, `${h.name} runs Debian's kernel`);
    await sshOk(lab(), h.address, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q ipvsadm');
    const out = await sshOk(lab(), h.address, 'modprobe ip_vs && ipvsadm -Ln');
    assert.match(out, /IP Virtual Server version/);
    // No VRRP-only drop-in on a kernel with IPVS.
    await sshOk(lab(), h.address, 'test ! -e /etc/systemd/system/keepalived.service.d/play-lab-vrrp-only.conf');
  }));
});

Ipvs('a director VM reaches a real server container over the bridge', async () => {
  const rs1 = DEFAULT_LAB_HOSTS.find((h) => h.name === 'RS1')!;
  await sshOk(lab(), directors[0]!.address, `ping -c 1 -W 5 ${rs1.address}`);
});

Ipvs('status reports the VMs up and IPVS present', async () => {
  const text = await labStatus();
  for (const h of directors) assert.match(text, new RegExp(`${h.name}\\s+\\S+\\s+vm\\s+up`));
  assert.match(text, /IPVS: present/);
});

Ipvs('down leaves nothing behind (no qemu, no tap)', async () => {
  const procs: ProcRecord[] = recordedProcs();
  const t0 = Date.now();
  await labDown({ log });
  log(`down took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await assertNothingLeft(DEFAULT_LAB_HOSTS.map((h) => h.name.toLowerCase()), procs);
  profile = undefined;
});

Ipvs.run();
