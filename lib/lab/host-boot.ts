/**
 * Booting one lab host, the first time (`up`) and again (`reboot`), and
 * waiting until it answers SSH as a booted machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.ts';
import { exec } from './exec.ts';
import { IDENTITY_FILE, KNOWN_HOSTS_FILE, hostDir } from './paths.ts';
import { buildVmDisk, startVm } from './vm.ts';
import { containerLower, removePropagateDir, startContainer, stopContainer } from './container.ts';
import { mountOverlay, mountsUnder, overlayPaths } from './overlay.ts';
import { sshArgs, waitForSsh } from './ssh.ts';
import { createHostNetns, createTap, deleteLink, deleteNetns, linkName, netnsName, type LabNet } from './network.ts';
import { firstChild, isAlive } from './procs.ts';
import { labRelease, writeLabState, type HostState, type LabState } from './state.ts';

/** SSH readiness budgets: LAB.md measured 4.1 s for 4 containers and 30–37 s per VM (72–81 s for three at once). */
const CONTAINER_SSH_TIMEOUT_MS = 60_000;
const VM_SSH_TIMEOUT_MS = 180_000;
/** A container's systemd stops its services in order before nspawn exits: what a host's shutdown may take. */
const CONTAINER_SHUTDOWN_MS = 60_000;

/** Start one host for the first time (its disk and, for a VM, its tap are made here) and wait until it answers SSH. */
export async function startHost(h: HostState, state: LabState, log: (line: string) => void): Promise<void> {
  const dir = hostDir(h.machine);
  const t0 = Date.now();
  if (h.kind === 'vm') {
    const disk = await buildVmDisk(labRelease(state), h.machine, dir);
    const tap = await createTap(h.machine, h.address);
    h.proc = startVm({ release: labRelease(state), machine: h.machine, disk, tap, address: h.address, consoleLog: join(dir, 'console.log'), logFile: join(dir, 'qemu.log') });
  } else {
    const root = await mountOverlay(h.machine, containerLower(labRelease(state)), dir);
    h.proc = startContainer({ release: labRelease(state), machine: h.machine, root, logFile: join(dir, 'console.log') });
  }
  writeLabState(state);
  await waitBooted(h, state);
  log(`${h.name} (${h.machine}, ${h.kind}) answers SSH at ${h.address} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Reboot one host, as a machine reboots: its systemd is asked to (services
 * stop in order), then it boots on the same disk — packages, /etc, host keys
 * and enabled units kept; /run, addresses and sysctls gone.
 *
 * - A VM reboots itself: qemu resets the guest on the same disk image.
 * - A container: nspawn exits on a reboot request and does not restart by
 *   itself (LAB.md), so the lab starts it again on its overlay. Its network
 *   namespace is made anew first: the addresses on its `lo` and its net.*
 *   sysctls are the namespace's, and would otherwise survive a reboot that
 *   no real machine survives with them. A container that is already down
 *   (it rebooted itself, or crashed) is only started.
 */
export async function rebootHost(h: HostState, state: LabState, net: LabNet, log: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  const ssh = (command: string, timeoutMs: number) =>
    exec('ssh', [...sshArgs({ identityFile: IDENTITY_FILE, knownHostsFile: KNOWN_HOSTS_FILE, address: h.address, batch: true }), command], { timeoutMs });
  const up = !!h.proc && isAlive(h.proc);
  if (h.kind === 'vm') {
    if (!up) throw new LabError(`${h.name}'s VM is not running: a VM cannot be rebooted back from down (\`play lab up\` builds the lab anew)`);
    const before = (await ssh('cat /proc/sys/kernel/random/boot_id', 30_000)).stdout.trim();
    if (!before) throw new LabError(`${h.name} (${h.address}) does not answer SSH: cannot ask it to reboot`);
    // The connection drops as the machine goes down: ssh's own exit status says nothing.
    await ssh('systemctl reboot', 30_000);
    await waitBooted(h, state, before);
  } else {
    if (up) {
      await ssh('systemctl reboot', 30_000);
      const deadline = Date.now() + CONTAINER_SHUTDOWN_MS;
      while (isAlive(h.proc!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (isAlive(h.proc!)) {
        log(`${h.name} did not shut down within ${CONTAINER_SHUTDOWN_MS / 1000} s: powering it off`);
        await stopContainer(h);
      }
    }
    delete h.init;
    removePropagateDir(h.machine);
    const problem = await deleteNetns(netnsName(h.machine));
    if (problem && !/No such file/.test(problem)) throw new LabError(`rebooting ${h.name}: ${problem}`);
    // Its veth pair goes with the namespace; a pair that outlived it (a process still in it) would block the new one.
    const stale = await deleteLink(linkName(h.machine));
    if (stale) throw new LabError(`rebooting ${h.name}: ${stale}`);
    await createHostNetns({ machine: h.machine, iface: h.iface, address: h.address, net });
    const dir = hostDir(h.machine);
    const { merged } = overlayPaths(dir);
    const root = mountsUnder(merged).includes(merged) ? merged : await mountOverlay(h.machine, containerLower(labRelease(state)), dir);
    h.proc = startContainer({ release: labRelease(state), machine: h.machine, root, logFile: join(dir, 'console.log') });
    writeLabState(state);
    await waitBooted(h, state);
  }
  log(`${h.name} rebooted: answers SSH again after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Wait until the host answers SSH as a booted machine; with `oldBootId`,
 * until it answers with another boot id (a VM that has not gone down yet
 * still answers with the old one).
 */
async function waitBooted(h: HostState, state: LabState, oldBootId?: string): Promise<void> {
  const dir = hostDir(h.machine);
  const consoleLog = join(dir, 'console.log');
  const proc = h.proc!;
  const o = {
    machine: h.machine, address: h.address, identityFile: IDENTITY_FILE, knownHostsFile: KNOWN_HOSTS_FILE,
    timeoutMs: h.kind === 'vm' ? VM_SSH_TIMEOUT_MS : CONTAINER_SSH_TIMEOUT_MS,
    alive: () => isAlive(proc), logHint: consoleLog,
  };
  try {
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      await waitForSsh({ ...o, timeoutMs: Math.max(1000, deadline - Date.now()) });
      if (oldBootId === undefined) break;
      const now = await exec('ssh', [...sshArgs({ ...o, batch: true }), 'cat /proc/sys/kernel/random/boot_id'], { timeoutMs: 30_000 });
      if (now.code === 0 && now.stdout.trim() && now.stdout.trim() !== oldBootId) break;
      if (Date.now() > deadline) throw new LabError(`${h.machine} (${h.address}) still runs its old boot after ${o.timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (e) {
    const qemuLog = join(dir, 'qemu.log');
    throw new LabError(`${(e as Error).message}\n--- last lines of ${consoleLog} ---\n${tail(consoleLog, 15)}${h.kind === 'vm' ? `\n--- ${qemuLog} ---\n${tail(qemuLog, 5)}` : ''}`);
  }
  if (h.kind === 'container') {
    const init = firstChild(proc);
    if (init) { h.init = init; writeLabState(state); }
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
