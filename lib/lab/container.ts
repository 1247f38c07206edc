/**
 * A lab host as a systemd-nspawn container: systemd is PID 1, so systemctl,
 * journalctl and apt's service restarts behave as on a real VM. Each flag
 * below was needed on these machines for a measured reason (LAB.md).
 */
import { join } from 'node:path';
import { rmdirSync } from 'node:fs';
import { BASE_ROOTFS, REPO_DIR, REPO_MOUNT } from './paths.ts';
import { netnsName } from './network.ts';
import { signalAndWait, startDetached, stopRecorded, type ProcRecord } from './procs.ts';

/** Start a booted container on `root` inside the host's network namespace. */
export function startContainer(o: { machine: string; root: string; logFile: string }): ProcRecord {
  return startDetached('systemd-nspawn', [
    '--quiet',
    '--boot',
    `--directory=${o.root}`,
    `--machine=${o.machine}`,
    // This machine's PID 1 is not systemd: without --keep-unit nspawn fails
    // with "Failed to open system bus"; --register=no skips machined.
    '--register=no', '--keep-unit',
    // The namespace the lab built (veth named as the spec says, fixed MAC).
    `--network-namespace-path=/run/netns/${netnsName(o.machine)}`,
    // Without it: "RTNETLINK answers: Operation not permitted" when
    // keepalived adds the VIP.
    '--capability=CAP_NET_ADMIN',
    // `down` sends SIGTERM to nspawn, which passes this on to the container's
    // init: SIGRTMIN+4 is systemd's "poweroff" (LAB.md: 1.4 s).
    '--kill-signal=SIGRTMIN+4',
    `--bind-ro=${REPO_DIR}:${REPO_MOUNT}`,
    // The host's journal and resolver are not the container's business.
    '--link-journal=no', '--resolv-conf=off', '--timezone=off',
    // No terminal: copy the console to the log file, read no input.
    '--console=read-only',
  ], {
    logFile: o.logFile,
    // LAB.md: makes /proc/sys/net writable, so `sysctl -p FILE` and
    // keepalived can set net.* keys; every other key stays read-only.
    env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network' },
  });
}

/** The tree a container's overlay sits on. */
export const CONTAINER_LOWER = BASE_ROOTFS;

/**
 * Power a container off: SIGTERM to nspawn (→ SIGRTMIN+4 to its init). If it
 * is still up after the grace time, SIGKILL its init (which ends its whole
 * PID namespace), then nspawn.
 */
export async function stopContainer(o: { machine: string; proc?: ProcRecord; init?: ProcRecord }): Promise<void> {
  if (o.proc && !(await signalAndWait(o.proc, 'SIGTERM', 15_000))) {
    if (o.init) await signalAndWait(o.init, 'SIGKILL', 5000);
    await stopRecorded(o.proc, 'SIGKILL', 5000);
  }
  if (o.init) await stopRecorded(o.init, 'SIGKILL', 5000);
  removePropagateDir(o.machine);
}

/** LAB.md: nspawn leaves /run/systemd/nspawn/propagate/NAME behind. */
export function removePropagateDir(machine: string): void {
  for (const d of [join('/run/systemd/nspawn/propagate', machine), join('/run/systemd/nspawn/unix-export', machine)]) {
    try { rmdirSync(d); } catch { /* absent */ }
  }
}
