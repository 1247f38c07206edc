/**
 * The hosts' apt works offline from a local repository the lab builds once:
 * the packages the seed installs and everything they pull in that the base
 * tree lacks, downloaded in the root namespace against the base tree's dpkg
 * status (LAB.md, "apt inside the lab, offline": 27 packages, 28.6 MB, 1.5 s).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must } from './exec.ts';
import { ensureAptLists } from './prereqs.ts';
import { baseFingerprint } from './base-tree.ts';
import { debianMirror } from './mirror.ts';
import { storeUncompressed } from './deb-unpacked.ts';
import { releaseCache, releaseSuite, type LabRelease, type ReleaseCache } from './release.ts';

/**
 * keepalived, ipvsadm and nginx are the seed's, nftables what a director's
 * handover holds new connections back with; net-tools the seed installs
 * for ifconfig; python3-apt is what Ansible's apt module needs on a target.
 */
export const REPO_PACKAGES = ['keepalived', 'ipvsadm', 'nftables', 'nginx', 'net-tools', 'python3-apt'];
/** The keyring the machine's Debian entries are signed with; bookworm's carries trixie's keys too. */
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * apt options that make apt-get use a release's private configuration
 * (`cache.apt`: its own sources list, lists and cache, nothing of the
 * machine's), or none when the machine's own apt lists are that release's.
 */
export function aptConfigOptions(cache: ReleaseCache): string[] {
  if (!cache.apt) return [];
  const a = cache.apt;
  return [
    '-o', `Dir::Etc::sourcelist=${join(a, 'sources.list')}`,
    '-o', `Dir::Etc::sourceparts=${join(a, 'sources.list.d')}`,
    '-o', `Dir::Etc::preferences=${join(a, 'preferences')}`,
    '-o', `Dir::Etc::preferencesparts=${join(a, 'preferences.d')}`,
    '-o', `Dir::State::Lists=${join(a, 'lists')}`,
    '-o', `Dir::Cache=${join(a, 'cache')}`,
  ];
}

/** The one-line sources list of a release's private apt configuration. */
export function privateSourcesList(mirror: string, suite: string): string {
  return `deb [signed-by=${DEBIAN_KEYRING}] ${mirror} ${suite} main\n`;
}

/**
 * Package lists to download this release's packages with: the machine's own
 * (bookworm), or the release's private ones, fetched once with `apt-get
 * update` (again only if its sources change). Used only for downloading.
 */
export async function ensureReleaseLists(release: LabRelease, log: (line: string) => void): Promise<void> {
  const cache = releaseCache(release);
  if (!cache.apt) return ensureAptLists(log);
  const sources = privateSourcesList(debianMirror(releaseSuite(release)), releaseSuite(release));
  const stamp = join(cache.apt, 'lists-stamp');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sources) return;
  for (const d of ['sources.list.d', 'preferences.d', 'lists/partial', 'cache/archives/partial']) mkdirSync(join(cache.apt, d), { recursive: true });
  writeFileSync(join(cache.apt, 'sources.list'), sources);
  log(`apt-get update for ${release} (the lab's own apt configuration in ${cache.apt}, used only to download)`);
  await must(`apt-get update for ${release}`, 'apt-get', ['-q', ...aptConfigOptions(cache), 'update'],
    { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  writeFileSync(stamp, sources);
}

/**
 * Download `packages` of `release` and whatever they need that a system with
 * dpkg status `statusFile` lacks, into `dir` (see {@link ensureReleaseLists}
 * for the lists used). Nothing is installed anywhere.
 */
export async function downloadDebs(
  release: LabRelease, statusFile: string, dir: string, packages: readonly string[], o: { recommends: boolean },
): Promise<void> {
  mkdirSync(join(dir, 'partial'), { recursive: true });
  await must(`downloading ${packages.join(' ')} (${release}) for the lab`, 'apt-get', [
    '-q', '-y', ...aptConfigOptions(releaseCache(release)),
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
export async function ensureOfflineRepo(release: LabRelease, log: (line: string) => void): Promise<string> {
  const cache = releaseCache(release);
  const index = join(cache.repo, 'Packages');
  const stamp = join(cache.repo, '.stamp');
  const version = `repo-v2 uncompressed ${REPO_PACKAGES.join(',')} on ${baseFingerprint(release)}`;
  if (!(existsSync(stamp) && readFileSync(stamp, 'utf8') === version && existsSync(index))) {
    await ensureReleaseLists(release, log);
    log(`building the offline apt repo (${release}): ${REPO_PACKAGES.join(' ')} and their dependencies`);
    const tmp = join(cache.dir, 'repo.tmp');
    rmSync(tmp, { recursive: true, force: true });
    await downloadDebs(release, join(cache.baseRootfs, 'var/lib/dpkg/status'), tmp, REPO_PACKAGES, { recommends: true });
    for (const deb of readdirSync(tmp).filter((f) => f.endsWith('.deb'))) await storeUncompressed(join(tmp, deb));
    // `-m`: keep every version apt chose, even if two share a name.
    const packages = await must('indexing the offline repo', 'dpkg-scanpackages', ['-m', '.'], { cwd: tmp });
    writeFileSync(join(tmp, 'Packages'), packages);
    writeFileSync(join(tmp, '.stamp'), version);
    rmSync(cache.repo, { recursive: true, force: true });
    renameSync(tmp, cache.repo);
    const debs = readdirSync(cache.repo).filter((f) => f.endsWith('.deb'));
    log(`offline repo: ${debs.length} packages`);
  }
  return createHash('sha256').update(readFileSync(index)).digest('hex');
}
