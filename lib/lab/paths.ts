/**
 * Where the lab keeps things. The cache survives runs and lives outside the
 * repo; the runtime directory holds one lab's state and is removed by `down`.
 * Every name the lab gives a kernel object carries a prefix, so a crashed
 * run's leftovers can be found and removed without touching anything else.
 */
import { join } from 'node:path';

/** Built once, reused by every run: base tree, offline apt repo, VM images. */
export const CACHE_DIR = '/var/cache/play-lab';
/** One lab's runtime state: profile, key, known_hosts, overlays, logs, pids. */
export const RUN_DIR = '/run/play-lab';

export const PROFILE_FILE = join(RUN_DIR, 'profile.json');
export const STATE_FILE = join(RUN_DIR, 'state.json');
export const IDENTITY_FILE = join(RUN_DIR, 'id_ed25519');
export const KNOWN_HOSTS_FILE = join(RUN_DIR, 'known_hosts');
export const HOSTS_DIR = join(RUN_DIR, 'hosts');

export const BASE_DIR = join(CACHE_DIR, 'base');
export const BASE_ROOTFS = join(BASE_DIR, 'rootfs');
export const REPO_DIR = join(CACHE_DIR, 'repo');
export const VM_DIR = join(CACHE_DIR, 'vm');

/** Where the offline repo appears inside every host. */
export const REPO_MOUNT = '/srv/lab-repo';

/** The bridge in the root namespace. */
export const BRIDGE = 'playlab0';
/** Network namespaces: `playlab-<machine>`. */
export const NETNS_PREFIX = 'playlab-';
/** Host-side veth ends and tap devices: `plab-<machine>` (IFNAMSIZ is 16, so at most 15 characters). */
export const LINK_PREFIX = 'plab-';

/** Per-host runtime directory. */
export function hostDir(machine: string): string {
  return join(HOSTS_DIR, machine);
}
