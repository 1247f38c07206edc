/**
 * The hosts' apt works offline from a local repository the lab builds once:
 * the packages the seed installs and everything they pull in that the base
 * tree lacks, downloaded in the root namespace against the base tree's dpkg
 * status (LAB.md, "apt inside the lab, offline": 27 packages, 28.6 MB, 1.5 s).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_ROOTFS, CACHE_DIR, REPO_DIR } from './paths.ts';
import { must } from './exec.ts';
import { ensureAptLists } from './prereqs.ts';
import { baseFingerprint } from './base-tree.ts';

/**
 * keepalived, ipvsadm and nginx are the seed's, nftables what a director's
 * handover holds new connections back with; net-tools the seed installs
 * for ifconfig; python3-apt is what Ansible's apt module needs on a target.
 */
export const REPO_PACKAGES = ['keepalived', 'ipvsadm', 'nftables', 'nginx', 'net-tools', 'python3-apt'];
const STAMP = join(REPO_DIR, '.stamp');

/**
 * Download `packages` and whatever they need that a system with dpkg status
 * `statusFile` lacks, into `dir`, using the machine's own apt lists. Nothing
 * is installed anywhere.
 */
export async function downloadDebs(statusFile: string, dir: string, packages: readonly string[], o: { recommends: boolean }): Promise<void> {
  mkdirSync(join(dir, 'partial'), { recursive: true });
  await must(`downloading ${packages.join(' ')} for the lab`, 'apt-get', [
    '-q', '-y',
    '-o', `Dir::State::status=${statusFile}`,
    '-o', `Dir::Cache::archives=${dir}/`,
    '-o', 'Debug::NoLocking=1',
    '-o', `APT::Install-Recommends=${o.recommends}`,
    'install', '--download-only', ...packages,
  ], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  rmSync(join(dir, 'partial'), { recursive: true, force: true });
  rmSync(join(dir, 'lock'), { force: true });
}

/** Build the offline repo unless the cached one is current. Returns the hash of its index (changes when its content does). */
export async function ensureOfflineRepo(log: (line: string) => void): Promise<string> {
  const index = join(REPO_DIR, 'Packages');
  const version = `repo-v1 ${REPO_PACKAGES.join(',')} on ${baseFingerprint()}`;
  if (!(existsSync(STAMP) && readFileSync(STAMP, 'utf8') === version && existsSync(index))) {
    await ensureAptLists(log);
    log(`building the offline apt repo: ${REPO_PACKAGES.join(' ')} and their dependencies`);
    const tmp = join(CACHE_DIR, 'repo.tmp');
    rmSync(tmp, { recursive: true, force: true });
    await downloadDebs(join(BASE_ROOTFS, 'var/lib/dpkg/status'), tmp, REPO_PACKAGES, { recommends: true });
    // `-m`: keep every version apt chose, even if two share a name.
    const packages = await must('indexing the offline repo', 'dpkg-scanpackages', ['-m', '.'], { cwd: tmp });
    writeFileSync(join(tmp, 'Packages'), packages);
    writeFileSync(join(tmp, '.stamp'), version);
    rmSync(REPO_DIR, { recursive: true, force: true });
    renameSync(tmp, REPO_DIR);
    const debs = readdirSync(REPO_DIR).filter((f) => f.endsWith('.deb'));
    log(`offline repo: ${debs.length} packages`);
  }
  return createHash('sha256').update(readFileSync(index)).digest('hex');
}
