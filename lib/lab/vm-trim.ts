/**
 * A lighter VM tree, for a faster `up --ipvs` under software emulation,
 * where every instruction costs ~20× its native time. Two costs were not the
 * product's: each `up` writes the whole tree into a fresh disk image
 * (`mkfs.ext4 -d`, ~7 s for 695 MB, 396 MB of it kernel modules for hardware
 * a lab VM has not got), and each boot loaded drivers for the PC's legacy
 * devices (floppy, IDE, PC speaker, KVM) and ran services a throwaway VM
 * has no use for, on its one emulated CPU, ahead of sshd. Nothing a play
 * installs, configures or checks is touched: the networking stack's
 * modules (IPVS, nftables, everything under net/ but radios), the file
 * systems, and the virtio drivers stay whole.
 */
import { existsSync, readdirSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInTree } from './base-tree.ts';
import type { LabRelease } from './release.ts';

/** The drivers a VM with virtio disk, NIC and RNG can use: the rest of drivers/ goes. */
const KEPT_DRIVERS = ['virtio', 'block', 'char', 'net', 'md'];
/** Under the kept drivers and elsewhere: hardware the VM has not got (radios, physical NICs, sound, nested KVM). */
const DROPPED = [
  'sound', 'arch/x86/kvm', 'net/wireless', 'net/mac80211', 'net/bluetooth', 'drivers/block/floppy.ko',
  ...['wireless', 'ethernet', 'usb', 'can', 'wwan', 'ieee802154', 'hamradio', 'arcnet', 'fddi', 'dsa', 'phy', 'pcs', 'mdio', 'wan', 'plip', 'slip']
    .map((d) => `drivers/net/${d}`),
];

/**
 * Units masked in the VM tree: each took 0.5–10 s of the one emulated CPU
 * at boot (`systemd-analyze blame`) and none is used by a lab VM — no ext4
 * scrubbing of a disk thrown away at `down`, no binfmt, hugepages, debug or
 * trace file systems, no apt timers that could take dpkg's lock in the
 * middle of a play's `apt` task.
 */
const MASKED = [
  'e2scrub_reap.service', 'e2scrub_all.timer', 'systemd-binfmt.service', 'proc-sys-fs-binfmt_misc.automount',
  'dev-hugepages.mount', 'sys-kernel-debug.mount', 'sys-kernel-tracing.mount', 'sys-fs-fuse-connections.mount',
  'sys-kernel-config.mount', 'systemd-network-generator.service', 'apt-daily.timer', 'apt-daily-upgrade.timer',
  'modprobe@drm.service', 'modprobe@fuse.service', 'modprobe@efi_pstore.service', 'modprobe@loop.service',
  'modprobe@dm_mod.service', 'modprobe@configfs.service',
];

/**
 * Trim the VM tree at `root`: drop the modules for absent hardware (and
 * refresh modules.dep), mask the boot units above.
 *
 * @example
 * ```ts
 * import { trimVmTree } from './vm-trim.ts';
 * await trimVmTree('bookworm', '/var/cache/play-lab/vm.tmp/rootfs');
 * ```
 */
export async function trimVmTree(release: LabRelease, root: string): Promise<void> {
  const modules = join(root, 'usr/lib/modules');
  for (const version of readdirSync(modules)) {
    const kernel = join(modules, version, 'kernel');
    if (!existsSync(kernel)) continue;
    for (const d of readdirSync(join(kernel, 'drivers'))) {
      if (!KEPT_DRIVERS.includes(d)) rmSync(join(kernel, 'drivers', d), { recursive: true, force: true });
    }
    for (const p of DROPPED) rmSync(join(kernel, p), { recursive: true, force: true });
    await runInTree(release, `refreshing the VM tree's module list (${version})`, root, ['depmod', version]);
  }
  const units = join(root, 'etc/systemd/system');
  mkdirSync(units, { recursive: true });
  for (const u of MASKED) {
    rmSync(join(units, u), { force: true });
    symlinkSync('/dev/null', join(units, u));
  }
  // sshd's unit checks its config (`sshd -t`) before starting it: a second
  // sshd start-up on the boot's critical path; the config is the lab's own.
  mkdirSync(join(units, 'ssh.service.d'), { recursive: true });
  writeFileSync(join(units, 'ssh.service.d/play-lab.conf'), '# play lab: skip the config test run before sshd starts (the config is the lab\'s)\n[Service]\nExecStartPre=\n');
}
