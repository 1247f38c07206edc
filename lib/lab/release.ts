/**
 * The Debian release a lab's hosts run, and everything that differs between
 * releases in one place: the suite debootstrap and apt ask for, where each
 * release's base tree, offline repo and VM tree are cached (apart, so
 * switching releases never rebuilds the other's), the nspawn machine that
 * builds in its trees, and how keepalived's unit starts.
 *
 * bookworm keeps the cache paths it had before releases existed, so a warm
 * machine stays warm; every other release lives under CACHE_DIR/<release>/.
 */
import { join } from 'node:path';
import { CACHE_DIR } from './paths.ts';

/** The releases `play lab up --release` accepts. */
export const LAB_RELEASES = ['bookworm', 'trixie'] as const;
export type LabRelease = (typeof LAB_RELEASES)[number];
/** @default 'bookworm' (Debian 12): what the lab offered before `--release`. */
export const DEFAULT_RELEASE: LabRelease = 'bookworm';

/** The machine's own apt lists are this release's (LAB.md: the machines run Debian 12). */
const HOST_RELEASE: LabRelease = 'bookworm';

export function isLabRelease(s: string): s is LabRelease {
  return (LAB_RELEASES as readonly string[]).includes(s);
}

/** Where one release's cached trees live. */
export interface ReleaseCache {
  /** Parent of base/, repo/, vm/ and their `.tmp` siblings while building. */
  dir: string;
  base: string;
  baseRootfs: string;
  repo: string;
  vm: string;
  /**
   * A private apt configuration (sources, lists, cache) for downloading this
   * release's packages, or undefined when the machine's own apt lists serve.
   */
  apt?: string;
}

export function releaseCache(release: LabRelease): ReleaseCache {
  const dir = release === DEFAULT_RELEASE ? CACHE_DIR : join(CACHE_DIR, release);
  return {
    dir,
    base: join(dir, 'base'),
    baseRootfs: join(dir, 'base', 'rootfs'),
    repo: join(dir, 'repo'),
    vm: join(dir, 'vm'),
    ...(release === HOST_RELEASE ? {} : { apt: join(dir, 'apt') }),
  };
}

/** The Debian suite (codename) debootstrap and apt ask the mirror for. */
export function releaseSuite(release: LabRelease): string {
  return release;
}

/** The nspawn machine name of builds in this release's trees: two releases building at once never collide. */
export function buildMachine(release: LabRelease): string {
  return release === DEFAULT_RELEASE ? 'playlab-build' : `playlab-build-${release}`;
}

/**
 * keepalived.service's ExecStart as each release's package ships it, read
 * from the .deb (`dpkg-deb -x`): bookworm 1:2.2.7-1+b2 in
 * /lib/systemd/system, trixie 1:2.3.3-1 in /usr/lib/systemd/system (merged
 * /usr); the two units are otherwise byte-identical (Type=notify,
 * EnvironmentFile=-/etc/default/keepalived). The lab's VRRP-only drop-in
 * (in /etc/systemd/system, so the unit's own path does not matter) replaces
 * it with the same line plus `--vrrp`.
 */
export function keepalivedExecStart(release: LabRelease): string {
  switch (release) {
    case 'bookworm': return '/usr/sbin/keepalived --dont-fork $DAEMON_ARGS';
    case 'trixie': return '/usr/sbin/keepalived --dont-fork $DAEMON_ARGS';
  }
}
