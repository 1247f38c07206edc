/**
 * A lab host as a systemd-nspawn container: systemd is PID 1, so systemctl,
 * journalctl and apt's service restarts behave as on a real VM. Each flag
 * below was needed on these machines for a measured reason (LAB.md).
 */
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { quote } from '../core/shell.ts';
import { REPO_MOUNT } from './paths.ts';
import { releaseCache, type LabRelease } from './release.ts';
import { netnsName } from './network.ts';
import { signalAndWait, startDetached, stopRecorded, type ProcRecord } from './procs.ts';

/** Start a booted container on `root` inside the host's network namespace. */
export function startContainer(o: { release: LabRelease; machine: string; root: string; logFile: string }): ProcRecord {
  const procs = ownCgroups(o.machine).map((dir) => join(dir, 'cgroup.procs'));
  // nspawn joins the cgroup it starts in: a shell enters this container's own, then becomes nspawn.
  const enter = `for f in ${procs.map((f) => quote(f)).join(' ')}; do echo $$ > "$f"; done; exec systemd-nspawn "$@"`;
  return startDetached('/bin/sh', ['-ec', enter, 'sh', 
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
    `--bind-ro=${releaseCache(o.release).repo}:${REPO_MOUNT}`,
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

/** The tree a container's overlay sits on: its release's base tree. */
export function containerLower(release: LabRelease): string {
  return releaseCache(release).baseRootfs;
}

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
  removeOwnCgroups(o.machine);
}

/**
 * The cgroup hierarchies systemd uses here: the named v1 `systemd` one and
 * the v2 one (hybrid), or v2 alone.
 */
function hierarchies(): string[] {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  return ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((d) => existsSync(join(d, 'cgroup.procs')));
}

/**
 * A cgroup of the container's own in each hierarchy, made empty. With
 * `--keep-unit` and no systemd as PID 1, nspawn puts its payload under the
 * cgroup it was started in; started from one process, every container shared
 * `/payload`, so two containers starting the same unit at once (RS1 and RS2
 * starting nginx) raced on one `system.slice/nginx.service` cgroup and one of
 * them failed with status=219/CGROUP.
 */
function ownCgroups(machine: string): string[] {
  return hierarchies().map((h) => {
    const dir = join(h, 'play-lab', machine);
    removeTree(dir);
    mkdirSync(dir, { recursive: true });
    return dir;
  });
}

/** Remove a container's cgroups once its processes are gone (and the parent, when it was the last). */
export function removeOwnCgroups(machine: string): void {
  for (const h of hierarchies()) {
    removeTree(join(h, 'play-lab', machine));
    try { rmdirSync(join(h, 'play-lab')); } catch { /* other containers' cgroups, or absent */ }
  }
}

/** cgroup directories go bottom-up with rmdir (their files cannot be unlinked). */
function removeTree(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeTree(join(dir, e.name));
  try { rmdirSync(dir); } catch { /* a process is still in it: left for the next start or down */ }
}

/** LAB.md: nspawn leaves /run/systemd/nspawn/propagate/NAME behind. */
export function removePropagateDir(machine: string): void {
  for (const d of [join('/run/systemd/nspawn/propagate', machine), join('/run/systemd/nspawn/unix-export', machine)]) {
    try { rmdirSync(d); } catch { /* absent */ }
  }
}
