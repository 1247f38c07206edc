/**
 * `up`, `down` and `status`: the order in which the pieces are put together
 * and taken apart. Every step that creates something records it first in
 * the lab state, so `down` (or the next `up`) can undo a crashed run.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError, NoLabError } from './errors.ts';
import { allOrThrow } from './exec.ts';
import { BRIDGE, IDENTITY_FILE, KNOWN_HOSTS_FILE, RUN_DIR, hostDir } from './paths.ts';
import { DEFAULT_RELEASE, type LabRelease } from './release.ts';
import { ensurePrereqs, requireRoot } from './prereqs.ts';
import { ensureBaseLists, ensureBaseTree } from './base-tree.ts';
import { ensureOfflineRepo } from './offline-repo.ts';
import { ensureVmTree, stopVm, writeVmNetworkFiles } from './vm.ts';
import { rebootHost, startHost } from './host-boot.ts';
import { removeOwnCgroups, removePropagateDir, stopContainer } from './container.ts';
import { overlayPaths, unmountUnder, mountsUnder } from './overlay.ts';
import { writeHostFiles } from './host-files.ts';
import { generateIdentity, tcpOpen, writeKnownHosts } from './ssh.ts';
import {
  checkRoutesToBridge, checkSubnetFree, createBridge, createHostNetns, deleteLink, deleteNetns,
  linkName, listLabLinks, listLabNetns, type LabNet,
} from './network.ts';
import { isAlive } from './procs.ts';
import { DEFAULT_CUT_SECONDS, cutsInForce, makeCut, healHost, removeFaultTable, type CutInForce } from './faults.ts';
import { machineName, netOf, validateHosts, type LabHostSpec } from './spec.ts';
import { labRelease, readLabProfile, readLabState, writeLabProfile, writeLabState, type HostState, type LabProfile, type LabState } from './state.ts';

const INOTIFY = '/proc/sys/fs/inotify/max_user_instances';

const noLog = (_line: string) => {};

/**
 * Bring a lab up: one host per spec, reachable over real SSH as root with the
 * returned profile's key and known_hosts. Any lab left from an earlier run is
 * torn down first; if `up` fails half-way it tears down what it built.
 * `release` (default bookworm) picks the Debian release of every host,
 * containers and VMs alike, each release's trees cached apart (release.ts).
 */
export async function labUp(o: {
  hosts: LabHostSpec[]; ipvs?: boolean; release?: LabRelease; log?: (line: string) => void;
  /** Recorded in the lab's state (see {@link LabState.owner}). */
  owner?: LabState['owner'];
}): Promise<LabProfile> {
  const log = o.log ?? noLog;
  const ipvs = o.ipvs ?? false;
  const release = o.release ?? DEFAULT_RELEASE;
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

  await ensureBaseTree(release, log);
  const repoHash = await ensureOfflineRepo(release, log);
  await ensureBaseLists(release, repoHash, log);
  if (vms) await ensureVmTree(release, repoHash, log);

  const started = Date.now();
  const state: LabState = {
    release,
    ...(o.owner ? { owner: o.owner } : {}),
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
    const hostKeys = await allOrThrow('preparing the lab hosts', state.hosts.map((h) => prepareHost(h, net, identityPub, release)));
    writeKnownHosts(KNOWN_HOSTS_FILE, state.hosts.map((h, i) => ({ address: h.address, hostKey: hostKeys[i]! })));

    await allOrThrow('starting the lab hosts', state.hosts.map((h) => startHost(h, state, log)));
    const profile: LabProfile = {
      identityFile: IDENTITY_FILE,
      knownHostsFile: KNOWN_HOSTS_FILE,
      hosts: state.hosts.map((h) => ({ name: h.name, address: h.address, kind: h.kind })),
      bridge: BRIDGE,
      subnet: net.subnet,
      ipvs,
      release,
    };
    writeLabProfile(profile);
    log(`lab up: ${state.hosts.length} ${release} hosts on ${BRIDGE} (${net.subnet}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return profile;
  } catch (e) {
    log(`lab up failed; tearing down what was built`);
    try { await teardown(log); } catch (down) { log(`teardown after the failure also failed: ${(down as Error).message}`); }
    throw e;
  }
}

/** Write a host's own files into its upper dir and build its network. Returns its public host key. */
async function prepareHost(h: HostState, net: LabNet, identityPub: string, release: LabRelease): Promise<string> {
  const dir = hostDir(h.machine);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { upper } = overlayPaths(dir);
  const hostKey = await writeHostFiles({ upper, machine: h.machine, identityPub, vrrpOnly: h.kind === 'container' && h.director, release });
  if (h.kind === 'vm') {
    writeVmNetworkFiles(upper, { iface: h.iface, address: h.address, prefixLen: net.prefixLen });
  } else {
    await createHostNetns({ machine: h.machine, iface: h.iface, address: h.address, net });
  }
  return hostKey;
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
  const table = await removeFaultTable();
  if (table) problems.push(table);
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
  const lines = [`lab on ${profile.bridge} (${profile.subnet}), Debian ${labRelease(profile)}${routed ? '' : ` — WARNING: its addresses no longer route to ${profile.bridge}; hosts not probed`}`];
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
  const cuts = await cutsInForce();
  if (cuts.length) lines.push(...describeCuts(cuts, state?.hosts ?? []));
  lines.push(`key: ${profile.identityFile}  known_hosts: ${profile.knownHostsFile}`);
  return lines.join('\n');
}


/** The lab that is up, or a NoLabError. */
function requireLab(): { state: LabState; profile: LabProfile } {
  requireRoot();
  const state = readLabState();
  const profile = readLabProfile();
  if (!state || !profile) throw new NoLabError('no lab is up (`play lab up` first)');
  return { state, profile };
}

/** Lab hosts by name (as the inventory spells it, its machine name, or its address), all or a LabError naming the unknown ones. */
function pickHosts(state: LabState, names: readonly string[]): HostState[] {
  const found = names.map((n) => state.hosts.find((h) => h.name === n || h.machine === n.toLowerCase() || h.address === n));
  const unknown = names.filter((_, i) => !found[i]);
  if (unknown.length) throw new LabError(`no lab host ${unknown.map((n) => `"${n}"`).join(', ')}; the lab has ${state.hosts.map((h) => h.name).join(', ')}`);
  return found as HostState[];
}

/**
 * Reboot lab hosts, all at once, as machines reboot (see {@link rebootHost}):
 * what a play persisted comes back, what it only set at run time does not.
 *
 * @example
 * ```ts
 * import { labReboot } from './lab.ts';
 * await labReboot(['RS1'], { log: console.log });
 * ```
 */
export async function labReboot(names: readonly string[], o: { log?: (line: string) => void } = {}): Promise<void> {
  const { state, profile } = requireLab();
  const hosts = pickHosts(state, names);
  await checkRoutesToBridge(hosts.map((h) => h.address));
  await allOrThrow('rebooting lab hosts', hosts.map((h) => rebootHost(h, state, netOf(profile.subnet), o.log ?? noLog)));
}

/**
 * Cut a lab host off, for `seconds` at most: all its traffic, or only VRRP
 * (`vrrpOnly`: split brain between directors), to everyone or to one peer.
 *
 * @example
 * ```ts
 * import { labCut } from './lab.ts';
 * await labCut('LB1', { vrrpOnly: true, from: 'LB2', seconds: 60 });
 * ```
 */
export async function labCut(name: string, o: { vrrpOnly?: boolean; from?: string; seconds?: number }): Promise<string> {
  const { state } = requireLab();
  const [host, peer] = pickHosts(state, o.from === undefined ? [name] : [name, o.from]);
  if (peer && peer.name === host!.name) throw new LabError(`--from names ${name} itself`);
  const seconds = o.seconds ?? DEFAULT_CUT_SECONDS;
  await makeCut({ host: host!.name, machine: host!.machine, vrrpOnly: !!o.vrrpOnly, from: peer && { host: peer.name, machine: peer.machine }, seconds });
  return `cut ${host!.name}${peer ? ` from ${peer.name}` : ''}: ${o.vrrpOnly ? 'VRRP dropped' : 'all traffic dropped'} for ${seconds} s at most (\`play lab heal ${host!.name}\` ends it sooner)`;
}

/** Undo every cut that involves these hosts. */
export async function labHeal(names: readonly string[]): Promise<string> {
  const { state } = requireLab();
  const hosts = pickHosts(state, names);
  const undone = await Promise.all(hosts.map((h) => healHost(h.machine)));
  return hosts.map((h, i) => `${h.name}: ${undone[i] ? `${undone[i]} cut(s) undone` : 'was not cut'}`).join('\n');
}

function describeCuts(cuts: readonly CutInForce[], hosts: readonly HostState[]): string[] {
  const nameOf = (port: string) => hosts.find((h) => linkName(h.machine) === port)?.name ?? port;
  return cuts.map((c) => `cut: ${c.ports.map(nameOf).join(' → ')} ${c.set.startsWith('vrrp') ? 'VRRP' : 'all traffic'} (${c.secondsLeft} s left)`);
}
