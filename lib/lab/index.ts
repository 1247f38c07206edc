/**
 * `play lab`: the seed's hosts on one Linux machine, reached over real SSH.
 * Containers (systemd-nspawn, systemd as PID 1) on the machine's kernel by
 * default; with `--ipvs` the directors are qemu VMs running Debian's kernel.
 * This file is the module's whole public surface.
 *
 * @example
 * ```ts
 * import { labUp, labDown, DEFAULT_LAB_HOSTS } from './index.ts';
 * const profile = await labUp({ hosts: DEFAULT_LAB_HOSTS, log: console.log });
 * try {
 *   // ssh -i profile.identityFile -o UserKnownHostsFile=profile.knownHostsFile root@192.168.56.101
 * } finally {
 *   await labDown();
 * }
 * ```
 */
export { LabError, LabPrerequisiteError, NoLabError } from './errors.ts';
export { DEFAULT_LAB_HOSTS, type LabHostSpec, type LabHostVars } from './spec.ts';
export { readLabProfile, type LabProfile } from './state.ts';
export { labUp, labDown, labStatus, labReboot, labCut, labHeal } from './lab.ts';
export { runLabCli } from './cli.ts';
export { LAB_RELEASES, DEFAULT_RELEASE, type LabRelease } from './release.ts';
