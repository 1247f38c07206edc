/**
 * `up`, `down` and `status`: the order in which the pieces are put together
 * and taken apart. Every step that creates something records it first in
 * the lab state, so `down` (or the next `up`) can undo a crashed run.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.ts';
import { allOrThrow } from './exec.ts';
import { BRIDGE, IDENTITY_FILE, KNOWN_HOSTS_FILE, RUN_DIR, REPO_DIR, hostDir } from './paths.ts';
import { ensurePrereqs, requireRoot } from './prereqs.ts';
import { ensureBaseLists, ensureBaseTree } from './base-tree.ts';
import { ensureOfflineRepo } from './offline-repo.ts';
import { ensureVmTree, buildVmDisk, startVm, stopVm, writeVmNetworkFiles } from './vm.ts';
import { CONTAINER_LOWER, removeOwnCgroups, removePropagateDir, startContainer, stopContainer } from './container.ts';
import { mountOverlay, overlayPaths, unmountUnder, mountsUnder } from './overlay.ts';
import { writeHostFiles } from './host-files.ts';
import { generateIdentity, tcpOpen, waitForSsh, writeKnownHosts } from './ssh.ts';
import {
  checkRoutesToBridge, checkSubnetFree, createBridge, createHostNetns, createTap, deleteLink, deleteNetns,
  listLabLinks, listLabNetns, type LabNet,
} from './network.ts';
import { firstChild, isAlive } from './procs.ts';
import { machineName, validateHosts, type LabHostSpec } from './spec.ts';
import { readLabProfile, readLabState, writeLabProfile, writeLabState, type HostState, type LabProfile, type LabState } from './state.ts';

const INOTIFY = '/proc/sys/fs/inotify/max_user_instances';
/** SSH readiness budgets: LAB.md measured 4.1 s for 4 containers and 30–37 s per VM. */
const CONTAINER_SSH_TIMEOUT_MS = 60_000;
const VM_SSH_TIMEOUT_MS = 180_000;

const noLog = (_line: string) => {};

/**
 * Bring a lab up: one host per spec, reachable over real SSH as root with the
 * returned profile's key and known_hosts. Any lab left from an earlier run is
 * torn down first; if `up` fails half-way it tears down what it built.
 */
export async function labUp(o: { hosts: LabHostSpec[]; ipvs?: boolean; log?: (line: string) => void }): Promise<LabProfile> {
  const log = o.log ?? noLog;
  const ipvs = o.ipvs ?? false;
  requireRoot();
  const net = validateHosts(o.hosts);
  const vms = ipvs && o.hosts.some((h) => h.director);
  await ensurePrereqs({ vms, log });

  if (readLabState() || existsSync(RUN_DIR) || (await listLabNetns()).length || (await listLabLinks()).length) {
    log('removing a lab left from an earlier run');
    await teardown(log);
  }

  // Before building or creating anything: is the subnet ours to use?
  await checkSubnetFree(net.subnet);

  await ensureBaseTree(log);
  const repoHash = await ensureOfflineRepo(log);
  await ensureBaseLists(REPO_DIR, repoHash, log);
  if (vms) await ensureVmTree(repoHash, log);

  const started = Date.now();
  const state: LabState = {
    hosts: o.hosts.map((h) => ({
      name: h.name, machine: machineName(h.name), address: h.address, iface: h.iface,
      kind: ipvs && h.director ? 'vm' : 'container', director: h.director,
    })),
  };
  try {
    mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
    writeLabState(state);
    raiseInotifyLimit(state, o.hosts.length);
    await createBridge(net);
    // LAB.md "Network safety": every host address must route to the bridge
    // before anything connects to it.
    await checkRoutesToBridge(o.hosts.map((h) => h.address));

    const identityPub = await generateIdentity(IDENTITY_FILE);
    const hostKeys = await allOrThrow('preparing the lab hosts', state.hosts.map((h) => prepareHost(h, net, identityPub)));
    writeKnownHosts(KNOWN_HOSTS_FILE, state.hosts.map((h, i) => ({ address: h.address, hostKey: hostKeys[i]! })));

    await allOrThrow('starting the lab hosts', state.hosts.map((h) => startHost(h, state, log)));
    const profile: LabProfile = {
      identityFile: IDENTITY_FILE,
      knownHostsFile: KNOWN_HOSTS_FILE,
      hosts: state.hosts.map((h) => ({ name: h.name, address: h.address, kind: h.kind })),
      bridge: BRIDGE,
      subnet: net.subnet,
      ipvs,
    };
    writeLabProfile(profile);
    log(`lab up: ${state.hosts.length} hosts on ${BRIDGE} (${net.subnet}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return profile;
  } catch (e) {
    log(`lab up failed; tearing down what was built`);
    try { await teardown(log); } catch (down) { log(`teardown after the failure also failed: ${(down as Error).message}`); }
    throw e;
  }
}

/** Write a host's own files into its upper dir and build its network. Returns its public host key. */
async function prepareHost(h: HostState, net: LabNet, identityPub: string): Promise<string> {
  const dir = hostDir(h.machine);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { upper } = overlayPaths(dir);
  const hostKey = await writeHostFiles({ upper, machine: h.machine, identityPub, vrrpOnly: h.kind === 'container' && h.director });
  if (h.kind === 'vm') {
    writeVmNetworkFiles(upper, { iface: h.iface, address: h.address, prefixLen: net.prefixLen });
  } else {
    await createHostNetns({ machine: h.machine, iface: h.iface, address: h.address, net });
  }
  return hostKey;
}

/** Start one host and wait until it answers SSH. */
async function startHost(h: HostState, state: LabState, log: (line: string) => void): Promise<void> {
  const dir = hostDir(h.machine);
  const t0 = Date.now();
  const logFile = join(dir, h.kind === 'vm' ? 'qemu.log' : 'console.log');
  if (h.kind === 'vm') {
    const disk = await buildVmDisk(h.machine, dir);
    const tap = await createTap(h.machine, h.address);
    h.proc = startVm({ machine: h.machine, disk, tap, address: h.address, consoleLog: join(dir, 'console.log'), logFile });
  } else {
    const root = await mountOverlay(h.machine, CONTAINER_LOWER, dir);
    h.proc = startContainer({ machine: h.machine, root, logFile });
  }
  writeLabState(state);
  const proc = h.proc;
  const consoleLog = join(dir, 'console.log');
  try {
    await waitForSsh({
      machine: h.machine, address: h.address, identityFile: IDENTITY_FILE, knownHostsFile: KNOWN_HOSTS_FILE,
      timeoutMs: h.kind === 'vm' ? VM_SSH_TIMEOUT_MS : CONTAINER_SSH_TIMEOUT_MS,
      alive: () => isAlive(proc), logHint: consoleLog,
    });
  } catch (e) {
    throw new LabError(`${(e as Error).message}\n--- last lines of ${consoleLog} ---\n${tail(consoleLog, 15)}${h.kind === 'vm' ? `\n--- ${logFile} ---\n${tail(logFile, 5)}` : ''}`);
  }
  if (h.kind === 'container') {
    const init = firstChild(proc);
    if (init) { h.init = init; writeLabState(state); }
  }
  log(`${h.name} (${h.machine}, ${h.kind}) answers SSH at ${h.address} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * LAB.md: past ~17 nspawn hosts, fs.inotify.max_user_instances (default 128)
 * runs out. Raise it for big labs, remembering the old value for `down`.
 */
function raiseInotifyLimit(state: LabState, hosts: number): void {
  // Measured: 50 hosts used 514 instances machine-wide (≈10 per booted host
  // plus the machine's own), so leave a margin over that.
  const needed = 128 + 12 * hosts;
  const current = Number(readFileSync(INOTIFY, 'utf8').trim());
  if (current >= needed) return;
  state.inotifyRestore = current;
  writeLabState(state);
  writeFileSync(INOTIFY, String(needed));
}

/** Tear down the lab that is up, and anything a crashed run left behind. Leaves nothing: see {@link teardown}. */
export async function labDown(o: { log?: (line: string) => void } = {}): Promise<void> {
  requireRoot();
  const log = o.log ?? noLog;
  const t0 = Date.now();
  await teardown(log);
  log(`lab down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Remove every trace of a lab: recorded processes (only those, checked by
 * start time), overlay mounts under RUN_DIR, nspawn propagation dirs,
 * `playlab-*` namespaces, `plab-*` links, the bridge, a raised inotify limit,
 * and RUN_DIR itself. Goes on past failures and reports them all at the end.
 */
async function teardown(log: (line: string) => void): Promise<void> {
  const state = readLabState();
  const problems: string[] = [];
  const hosts = state?.hosts ?? [];
  const stops = await Promise.allSettled(hosts.map((h) => (h.kind === 'vm' ? stopVm(h.proc) : stopContainer(h))));
  stops.forEach((s, i) => { if (s.status === 'rejected') problems.push(`stopping ${hosts[i]!.machine}: ${(s.reason as Error).message}`); });
  for (const h of hosts) {
    removePropagateDir(h.machine);
    if (h.kind !== 'vm') removeOwnCgroups(h.machine);
  }
  problems.push(...(await unmountUnder(RUN_DIR)));
  for (const ns of await listLabNetns()) {
    const p = await deleteNetns(ns);
    if (p) problems.push(p);
  }
  // Host ends first (most vanish with their namespace), then the bridge.
  const links = await listLabLinks();
  for (const l of [...links.filter((l) => l !== BRIDGE), ...links.filter((l) => l === BRIDGE)]) {
    const p = await deleteLink(l);
    if (p) problems.push(p);
  }
  if (state?.inotifyRestore !== undefined) {
    try { writeFileSync(INOTIFY, String(state.inotifyRestore)); } catch (e) { problems.push(`restoring ${INOTIFY}: ${(e as Error).message}`); }
  }
  // Never delete through a mount: rm would walk into the lower tree's view.
  const stillMounted = mountsUnder(RUN_DIR);
  if (stillMounted.length) problems.push(`still mounted, so ${RUN_DIR} was kept: ${stillMounted.join(', ')}`);
  else rmSync(RUN_DIR, { recursive: true, force: true });
  if (hosts.length) log(`stopped ${hosts.map((h) => h.machine).join(', ')}`);
  if (problems.length) throw new LabError(`lab teardown left things behind:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/** Human-readable state of the lab: each host up or down with its address, and whether IPVS is there. */
export async function labStatus(): Promise<string> {
  const profile = readLabProfile();
  const state = readLabState();
  if (!profile) {
    const leftovers = [...(await listLabNetns()), ...(await listLabLinks())];
    return leftovers.length || state
      ? `no lab is up, but a crashed run left: ${[...leftovers, ...(state ? [RUN_DIR] : [])].join(', ')} (\`play lab down\` removes them)`
      : 'no lab is up';
  }
  // Probe only addresses that route to the bridge: nothing but lab hosts is ever contacted.
  let routed = true;
  try { await checkRoutesToBridge(profile.hosts.map((h) => h.address)); } catch { routed = false; }
  const lines = [`lab on ${profile.bridge} (${profile.subnet})${routed ? '' : ` — WARNING: its addresses no longer route to ${profile.bridge}; hosts not probed`}`];
  for (const h of profile.hosts) {
    const s = state?.hosts.find((x) => x.name === h.name);
    const running = !!s?.proc && isAlive(s.proc);
    const ssh = running && routed && (await tcpOpen(h.address, 22, 1000));
    const what = !running ? 'down' : ssh ? 'up' : 'running, SSH not answering';
    lines.push(`  ${h.name.padEnd(8)} ${h.address.padEnd(15)} ${h.kind.padEnd(9)} ${what}${s ? `  (${s.machine}, ${s.iface}${s.director ? ', director' : ''})` : ''}`);
  }
  const machineHasIpvs = existsSync('/proc/net/ip_vs');
  if (profile.ipvs) lines.push('IPVS: present on the directors (qemu VMs running Debian\'s kernel); containers share this machine\'s kernel');
  else if (machineHasIpvs) lines.push('IPVS: present (this machine\'s kernel has it)');
  else lines.push('IPVS: absent (this machine\'s kernel has no IPVS; keepalived on directors runs VRRP-only via the lab\'s drop-in)');
  lines.push(`key: ${profile.identityFile}  known_hosts: ${profile.knownHostsFile}`);
  return lines.join('\n');
}

