/**
 * `--ipvs`: directors become qemu VMs under software emulation running
 * Debian's own kernel, where IPVS works (this machine's kernel has none and
 * cannot load modules; /dev/kvm is unusable for a stock kernel: LAB.md).
 * The VM tree is the cached base tree plus linux-image-amd64, built once;
 * each `up` makes every VM a fresh ext4 image of that tree with the host's
 * own files on top, so runs start clean.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, mkdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.ts';
import { must } from './exec.ts';
import { REPO_MOUNT } from './paths.ts';
import { downloadDebs, ensureReleaseLists } from './offline-repo.ts';
import { releaseCache, type LabRelease } from './release.ts';
import { baseFingerprint, runInTree } from './base-tree.ts';
import { mountOverlay, unmountUnder, overlayPaths } from './overlay.ts';
import { put } from './host-files.ts';
import { trimVmTree } from './vm-trim.ts';
import { macFor } from './network.ts';
import { startDetached, stopRecorded, type ProcRecord } from './procs.ts';

/** A release's cached VM tree, kernel and initrd. */
export function vmFiles(release: LabRelease): { rootfs: string; kernel: string; initrd: string; stamp: string } {
  const dir = releaseCache(release).vm;
  return { rootfs: join(dir, 'rootfs'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), stamp: join(dir, 'stamp') };
}
const VM_VERSION = 'vm-v2 linux-image-amd64 modules=list trimmed';
/** Guest memory. With tb-size=512 each qemu stays near 1 GiB RSS (lib/lab/README.md). */
export const VM_MEMORY_MIB = 512;
/** Sparse size of each VM's disk image: the trimmed tree is ~0.4 GB; room for what a play installs. */
const DISK_SIZE = 2 * 1024 ** 3;

/**
 * Only what it takes to mount the root disk; the NIC's driver loads after
 * the switch to the real root, where udev names it from the host's .link
 * file. A small initrd also boots faster under emulation.
 */
const INITRAMFS_MODULES = ['virtio_pci', 'virtio_blk', 'ext4'];

/** Build the cached VM tree, kernel and initrd unless current for this base tree and repo. */
export async function ensureVmTree(release: LabRelease, repoHash: string, log: (line: string) => void): Promise<void> {
  const cache = releaseCache(release);
  const f = vmFiles(release);
  const version = `${VM_VERSION} on ${baseFingerprint(release)} repo=${repoHash}`;
  if (existsSync(f.stamp) && readFileSync(f.stamp, 'utf8') === version && existsSync(f.kernel) && existsSync(f.initrd)) return;
  log(`building the VM tree (${release}): base tree + Debian kernel (once)`);
  const started = Date.now();
  const tmp = join(cache.dir, 'vm.tmp');
  const root = join(tmp, 'rootfs');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await must('copying the base tree for the VMs', 'cp', ['-a', '--reflink=auto', cache.baseRootfs, root]);

  // Written before initramfs-tools is installed (its postinst builds the
  // initrd once); --force-confold below keeps our `modules` conffile.
  mkdirSync(join(root, 'etc/initramfs-tools/conf.d'), { recursive: true });
  writeFileSync(join(root, 'etc/initramfs-tools/conf.d/play-lab.conf'), 'MODULES=list\n');
  writeFileSync(join(root, 'etc/initramfs-tools/modules'), `${INITRAMFS_MODULES.join('\n')}\n`);
  const debs = join(tmp, 'debs');
  await ensureReleaseLists(release, log);
  await downloadDebs(release, join(root, 'var/lib/dpkg/status'), debs, ['linux-image-amd64', 'initramfs-tools', 'kmod'], { recommends: false });
  await runInTree(release, 'installing the Debian kernel into the VM tree', root,
    ['sh', '-c', 'apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold /debs/*.deb && apt-get clean'], [`${debs}:/debs`]);

  // Static addressing per VM comes from its own .network file (vm upper dir).
  await must('enabling systemd-networkd in the VM tree', 'systemctl', ['--root', root, 'enable', 'systemd-networkd.service']);
  await trimVmTree(release, root);
  writeFileSync(join(root, 'etc/fstab'), '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  // VMs cannot bind-mount the repo: it travels inside the image instead.
  await must('copying the offline repo into the VM tree', 'cp', ['-a', `${cache.repo}/.`, join(root, REPO_MOUNT.slice(1))]);

  const boot = readdirSync(join(root, 'boot'));
  const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
  const initrd = boot.find((f) => f.startsWith('initrd.img-'));
  if (!vmlinuz || !initrd) throw new LabError(`the VM tree has no kernel or initrd in /boot (found: ${boot.join(' ')})`);
  copyFileSync(join(root, 'boot', vmlinuz), join(tmp, 'vmlinuz'));
  copyFileSync(join(root, 'boot', initrd), join(tmp, 'initrd.img'));
  rmSync(debs, { recursive: true, force: true });
  rmSync(cache.vm, { recursive: true, force: true });
  renameSync(tmp, cache.vm);
  writeFileSync(f.stamp, version);
  log(`VM tree built in ${((Date.now() - started) / 1000).toFixed(1)} s (${vmlinuz})`);
}

/**
 * The VM's network files: a .link file that names the NIC (found by its
 * fixed MAC) as the spec says, and a static address for systemd-networkd.
 * No gateway: a lab host reaches its subnet and nothing else.
 */
export function writeVmNetworkFiles(upper: string, o: { iface: string; address: string; prefixLen: number }): void {
  const mac = macFor(o.address);
  put(upper, '/etc/systemd/network/10-play-lab.link', `[Match]\nMACAddress=${mac}\n\n[Link]\nName=${o.iface}\n`);
  put(upper, '/etc/systemd/network/10-play-lab.network', [
    '[Match]', `MACAddress=${mac}`, '',
    '[Network]', `Address=${o.address}/${o.prefixLen}`, 'IPv6AcceptRA=no', '',
  ].join('\n'));
}

/** Make the VM's disk: a fresh ext4 image of the VM tree with the host's upper dir on top (`mkfs.ext4 -d`). */
export async function buildVmDisk(release: LabRelease, machine: string, hostDir: string): Promise<string> {
  const merged = await mountOverlay(machine, vmFiles(release).rootfs, hostDir);
  const disk = join(hostDir, 'disk.img');
  try {
    writeFileSync(disk, '');
    truncateSync(disk, DISK_SIZE);
    await must(`making the disk image of ${machine}`, 'mkfs.ext4', ['-q', '-F', '-L', 'playlab', '-d', merged, disk]);
  } finally {
    await unmountUnder(merged);
  }
  rmSync(overlayPaths(hostDir).work, { recursive: true, force: true });
  return disk;
}

/** Boot a VM on `disk`, its NIC on tap device `tap`, serial console to `consoleLog`. */
export function startVm(o: {
  release: LabRelease; machine: string; disk: string; tap: string; address: string; consoleLog: string; logFile: string;
}): ProcRecord {
  const f = vmFiles(o.release);
  return startDetached('qemu-system-x86_64', [
    '-name', o.machine,
    '-nodefaults', '-no-user-config',
    // Software emulation (no usable KVM). tb-size=512 (MiB of translated code)
    // boots 31 → 27 s and runs apt 43 → 39 s against tb-size=64, for ~1 GiB RSS
    // per VM instead of ~0.35 GiB; 1024 was no faster. -smp 2 made two VMs
    // installing side by side slower (47 s vs 40 s) on the controller's 2 cores.
    '-accel', 'tcg,tb-size=512',
    '-m', String(VM_MEMORY_MIB), '-smp', '1',
    '-display', 'none', '-monitor', 'none',
    '-serial', `file:${o.consoleLog}`,
    '-kernel', f.kernel, '-initrd', f.initrd,
    // norandmaps: TCG finds code it translated before by virtual address, so
    // with ASLR each new process is translated afresh; without, a fork+exec
    // costs a third (a director's fact batch 2.3 → 0.8 s). A lab VM on its own bridge.
    '-append', 'root=/dev/vda rw console=ttyS0 quiet norandmaps',
    // The image is rebuilt each run, so writes need not survive a crash.
    '-drive', `file=${o.disk},format=raw,if=virtio,cache=unsafe`,
    // LAB.md: a tap device on the lab bridge, never user-mode networking.
    '-nic', `tap,ifname=${o.tap},script=no,downscript=no,model=virtio-net-pci,mac=${macFor(o.address)}`,
    // sshd needs entropy early in boot.
    '-device', 'virtio-rng-pci',
  ], { logFile: o.logFile });
}

/** Stop a VM: its disk is thrown away, so qemu's SIGTERM (immediate exit) is enough. */
export async function stopVm(proc: ProcRecord | undefined): Promise<void> {
  if (proc) await stopRecorded(proc, 'SIGTERM', 10_000);
}
