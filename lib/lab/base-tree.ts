/**
 * The one Debian tree per release every lab host is an overlay of. Built once
 * with debootstrap (LAB.md: 54 s, 330 MB for bookworm) and cached apart per
 * release (release.ts); rebuilt only when missing or when {@link baseVersion}
 * changes.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, renameSync, rmdirSync, writeFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { REPO_MOUNT } from './paths.ts';
import { buildMachine, releaseCache, releaseSuite, type LabRelease } from './release.ts';
import { must } from './exec.ts';
import { debianMirror } from './mirror.ts';

/** LAB.md's list: what a host needs to boot systemd, answer SSH and run Ansible-like tasks. */
const INCLUDE = [
  'systemd-sysv', 'dbus', 'libpam-systemd', 'libnss-systemd', 'openssh-server', 'iproute2',
  'procps', 'curl', 'python3', 'sudo', 'ca-certificates', 'iputils-ping',
];
/** Change "base-v3" to force every cached tree to be rebuilt (bookworm's string is the one it always was). */
export function baseVersion(release: LabRelease): string {
  return `base-v3 ${releaseSuite(release)} minbase ${INCLUDE.join(',')}`;
}

function readStamp(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/**
 * What the offline repo and the VM tree were built against: the base tree's
 * version and its dpkg status (a rebuilt tree may hold newer packages, and
 * the repo holds only what the tree lacks).
 */
export function baseFingerprint(release: LabRelease): string {
  const status = readFileSync(join(releaseCache(release).baseRootfs, 'var/lib/dpkg/status'));
  return `${baseVersion(release)} status=${createHash('sha256').update(status).digest('hex').slice(0, 16)}`;
}

/** Build the base tree unless the cached one is current. Returns true if it was (re)built. */
export async function ensureBaseTree(release: LabRelease, log: (line: string) => void): Promise<boolean> {
  const cache = releaseCache(release);
  const stamp = join(cache.base, 'stamp');
  const version = baseVersion(release);
  if (readStamp(stamp) === version && existsSync(join(cache.baseRootfs, 'etc/os-release'))) return false;
  const suite = releaseSuite(release);
  const mirror = debianMirror(suite);
  const tmp = join(cache.dir, 'base.tmp');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`building the base tree with debootstrap (${suite}, minbase; about a minute, once)`);
  const started = Date.now();
  await must(`debootstrap of the lab base tree (${suite})`, 'debootstrap', [
    '--variant=minbase', `--include=${INCLUDE.join(',')}`, suite, join(tmp, 'rootfs'), mirror,
  ]);
  configureBaseTree(join(tmp, 'rootfs'));
  rmSync(cache.base, { recursive: true, force: true });
  renameSync(tmp, cache.base);
  writeFileSync(stamp, version);
  log(`base tree built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

/** Make a freshly debootstrapped tree fit to be every lab host's lower layer. */
function configureBaseTree(root: string): void {
  // LAB.md: without lingering, root's user manager stops 10 s after the last
  // session and can hang for 90 s, stalling every new SSH session (3 of 17 runs).
  mkdirSync(join(root, 'var/lib/systemd/linger'), { recursive: true });
  writeFileSync(join(root, 'var/lib/systemd/linger/root'), '');

  // Measured here: powering a container off after SSH sessions, the stop of
  // root's user manager hung (same cgroup-kill failure as above) until nspawn
  // was killed, in ~1 of 4 hosts, so `down` took 15 s instead of 0.3 s.
  // Capped at 3 s, the worst host stops in ~3.3 s.
  mkdirSync(join(root, 'etc/systemd/system/user@.service.d'), { recursive: true });
  writeFileSync(join(root, 'etc/systemd/system/user@.service.d/play-lab.conf'), [
    '# play lab: bound the stop of user managers at power-off (it can hang in nspawn).',
    '[Service]',
    'TimeoutStopSec=3s',
    '',
  ].join('\n'));

  // Host keys are per host, generated before boot into each overlay's upper
  // dir; the ones openssh-server's postinst made here would be shared by all.
  for (const f of readdirSync(join(root, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) unlinkSync(join(root, 'etc/ssh', f));
  }
  // One host key type, so known_hosts holds exactly one entry per address and
  // every client (OpenSSH, ssh2) negotiates the key that entry names.
  writeFileSync(join(root, 'etc/ssh/sshd_config.d/play-lab.conf'), [
    '# play lab: one ed25519 host key per host (generated before boot), key-only root login.',
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'UseDNS no',
    '',
  ].join('\n'));

  // Each host gets its own machine-id in its upper dir. An empty one here
  // would make systemd treat every boot as a first boot (presets, firstboot).
  writeFileSync(join(root, 'etc/machine-id'), '');
  rmSync(join(root, 'var/lib/dbus/machine-id'), { force: true });

  // debootstrap copied the machine's resolv.conf; lab hosts resolve nothing
  // (their names are in /etc/hosts) and must not try the machine's resolver.
  writeFileSync(join(root, 'etc/resolv.conf'), '# play lab: no DNS; hosts reach only the lab subnet\n');

  // The hosts' only package source: the lab's offline repo, bind-mounted (or
  // copied, for VMs) at REPO_MOUNT. Lab hosts have no route to any registry.
  mkdirSync(join(root, REPO_MOUNT.slice(1)), { recursive: true });
  writeFileSync(join(root, 'etc/apt/sources.list'), `deb [trusted=yes] file:${REPO_MOUNT} ./\n`);
  for (const f of readdirSync(join(root, 'etc/apt/sources.list.d'))) unlinkSync(join(root, 'etc/apt/sources.list.d', f));
  rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
}

/**
 * Run a command inside a cached tree (not booted), the way a chroot would but
 * with /proc, /sys and /dev set up and no network. `--register=no
 * --keep-unit`: PID 1 of this machine is not systemd (LAB.md).
 */
export async function runInTree(
  release: LabRelease, what: string, tree: string, argv: readonly string[], binds: readonly string[] = [],
): Promise<string> {
  const machine = buildMachine(release);
  try {
    return await must(what, 'systemd-nspawn', [
      '-q', '-D', tree, '-M', machine, '--register=no', '--keep-unit', '--private-network', '--pipe',
      '--link-journal=no', '--resolv-conf=off', '--timezone=off',
      '--setenv=DEBIAN_FRONTEND=noninteractive', ...binds.map((b) => `--bind-ro=${b}`), '--', ...argv,
    ]);
  } finally {
    // nspawn leaves its propagation directory behind (LAB.md).
    try { rmdirSync(`/run/systemd/nspawn/propagate/${machine}`); } catch { /* absent */ }
  }
}

/** Fill the base tree's apt lists from the offline repo, so hosts can install without `apt-get update` first. */
export async function ensureBaseLists(release: LabRelease, repoHash: string, log: (line: string) => void): Promise<void> {
  const cache = releaseCache(release);
  const listsStamp = join(cache.base, 'lists-stamp');
  if (readStamp(listsStamp) === repoHash) return;
  log('indexing the offline repo inside the base tree (apt-get update)');
  await runInTree(release, 'apt-get update in the base tree', cache.baseRootfs, ['apt-get', 'update', '-q'], [`${cache.repo}:${REPO_MOUNT}`]);
  writeFileSync(listsStamp, repoHash);
}
