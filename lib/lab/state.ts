/**
 * What a running lab is made of, on disk under RUN_DIR: the public profile
 * (read by play's transport) and the lab's private state (what `down` must
 * undo). The state is written before each thing is created, so a crashed run
 * still tells the next `up` or `down` what to remove.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PROFILE_FILE, STATE_FILE } from './paths.ts';
import type { ProcRecord } from './procs.ts';
import { DEFAULT_RELEASE, type LabRelease } from './release.ts';

/** Written by `up` to /run/play-lab/profile.json, removed by `down`. */
export interface LabProfile {
  /** Private key: root login on every lab host. */
  identityFile: string;
  /** OpenSSH known_hosts format, one plain entry per host address. */
  knownHostsFile: string;
  hosts: { name: string; address: string; kind: 'container' | 'vm' }[];
  /** e.g. "playlab0" */
  bridge: string;
  /** e.g. "192.168.56.0/24" */
  subnet: string;
  ipvs: boolean;
  /** The Debian release the hosts run (a profile written before releases existed has none: bookworm). */
  release?: LabRelease;
}

/** One host as `down` needs to know it. */
export interface HostState {
  name: string;
  machine: string;
  address: string;
  iface: string;
  kind: 'container' | 'vm';
  director: boolean;
  /** systemd-nspawn or qemu. */
  proc?: ProcRecord;
  /** The container's init, killed only if nspawn itself will not stop. */
  init?: ProcRecord;
}

/** Who brought a lab up, when not the user by hand (see {@link LabState.owner}). */
export type LabOwner = 'spec' | 'demo';

/** PLAY_LAB_OWNER as `play lab up` records it: one of the known owners, else none. */
export function labOwnerFromEnv(env: NodeJS.ProcessEnv): LabOwner | undefined {
  const v = env.PLAY_LAB_OWNER;
  return v === 'spec' || v === 'demo' ? v : undefined;
}

export interface LabState {
  hosts: HostState[];
  /** The Debian release its hosts were built from; absent in a state written before releases existed. */
  release?: LabRelease;
  /** fs.inotify.max_user_instances before the lab raised it, to restore on `down`. */
  inotifyRestore?: number;
  /**
   * Who brought it up, when not the user by hand: the test suite ('spec'),
   * or ./demo ('demo', which sets PLAY_LAB_OWNER for `play lab up`). The
   * suite replaces those, and refuses to tear down a lab without an owner.
   */
  owner?: LabOwner;
}

/** The release of a lab's hosts. @default bookworm, for a state written before releases existed. */
export function labRelease(s: { release?: LabRelease }): LabRelease {
  return s.release ?? DEFAULT_RELEASE;
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The profile of the lab that is up, or undefined if none is. */
export function readLabProfile(): LabProfile | undefined {
  return readJson<LabProfile>(PROFILE_FILE);
}

export function writeLabProfile(p: LabProfile): void {
  writeJson(PROFILE_FILE, p);
}

export function readLabState(): LabState | undefined {
  return readJson<LabState>(STATE_FILE);
}

export function writeLabState(s: LabState): void {
  writeJson(STATE_FILE, s);
}
