/**
 * The lab needs root and a few Debian packages. Missing packages are installed
 * with apt-get (after one `apt-get update`, only when something is missing).
 */
import { existsSync } from 'node:fs';
import { LabPrerequisiteError } from './errors.ts';
import { exec, must } from './exec.ts';

/** A program the lab runs, and the Debian package that ships it. */
interface Need {
  program: string;
  pkg: string;
}

const ALWAYS: Need[] = [
  { program: 'debootstrap', pkg: 'debootstrap' },
  { program: 'systemd-nspawn', pkg: 'systemd-container' },
  { program: 'dpkg-scanpackages', pkg: 'dpkg-dev' },
  { program: 'ip', pkg: 'iproute2' },
  { program: 'ssh', pkg: 'openssh-client' },
  { program: 'ssh-keygen', pkg: 'openssh-client' },
  // verify (and the lab specs) ask the VIP and the hosts over HTTP from this machine.
  { program: 'curl', pkg: 'curl' },
  // `play lab cut`: faults between hosts, as rules on the lab's bridge.
  { program: 'nft', pkg: 'nftables' },
];

const FOR_VMS: Need[] = [
  { program: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { program: 'mkfs.ext4', pkg: 'e2fsprogs' },
];

const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of a program in the standard directories, or undefined. */
export function findProgram(name: string): string | undefined {
  return BIN_DIRS.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/** Throw unless running as root, saying why the lab needs it. */
export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabPrerequisiteError(
      'play lab must run as root: it creates network namespaces, veth pairs, a bridge and tap devices, ' +
        'mounts overlay filesystems, starts systemd-nspawn containers and qemu VMs, and installs missing ' +
        'packages with apt-get. Run it with sudo, or as root on a disposable machine.',
    );
  }
}

/** Install whatever the lab needs and the machine lacks. */
export async function ensurePrereqs(o: { vms: boolean; log: (line: string) => void }): Promise<void> {
  requireRoot();
  const needs = o.vms ? [...ALWAYS, ...FOR_VMS] : ALWAYS;
  const missing = [...new Set(needs.filter((n) => !findProgram(n.program)).map((n) => n.pkg))];
  if (!missing.length) return;
  o.log(`installing missing prerequisites: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await must('apt-get update (needed to install the lab prerequisites)', 'apt-get', ['update', '-q'], { env });
  await must(`installing the lab prerequisites ${missing.join(', ')}`, 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
  const still = needs.filter((n) => !findProgram(n.program));
  if (still.length) throw new LabPrerequisiteError(`after apt-get install, still missing: ${still.map((n) => `${n.program} (${n.pkg})`).join(', ')}`);
}

/** True if the machine's apt has package lists (the offline repo is downloaded with them). */
export async function ensureAptLists(log: (line: string) => void): Promise<void> {
  const r = await exec('apt-cache', ['policy', 'keepalived']);
  if (r.code === 0 && /Candidate: (?!\(none\))/.test(r.stdout)) return;
  log('apt-get update (the machine has no package lists yet)');
  await must('apt-get update', 'apt-get', ['update', '-q'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
