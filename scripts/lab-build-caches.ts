/**
 * Build one release's lab caches (base tree, offline repo, VM tree) without
 * bringing a lab up: no bridge, namespace or host is touched. For warming a
 * machine ahead of `play lab up --release NAME [--ipvs]`.
 *
 *   sudo node --import tsx scripts/lab-build-caches.ts trixie [--no-vm]
 */
import { ensureBaseLists, ensureBaseTree } from '../lib/lab/base-tree.ts';
import { ensureOfflineRepo } from '../lib/lab/offline-repo.ts';
import { ensureVmTree } from '../lib/lab/vm.ts';
import { ensurePrereqs } from '../lib/lab/prereqs.ts';
import { LAB_RELEASES, isLabRelease } from '../lib/lab/release.ts';

const [release = 'bookworm', ...rest] = process.argv.slice(2);
if (!isLabRelease(release)) {
  console.error(`usage: lab-build-caches.ts RELEASE [--no-vm] (RELEASE: ${LAB_RELEASES.join(', ')})`);
  process.exit(2);
}
const vm = !rest.includes('--no-vm');
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const step = async (what: string, f: () => Promise<unknown>) => {
  const t0 = Date.now();
  await f();
  log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
};
await ensurePrereqs({ vms: vm, log });
await step('base tree', () => ensureBaseTree(release, log));
let repoHash = '';
await step('offline repo', async () => { repoHash = await ensureOfflineRepo(release, log); });
await step('base lists', () => ensureBaseLists(release, repoHash, log));
if (vm) await step('VM tree', () => ensureVmTree(release, repoHash, log));
