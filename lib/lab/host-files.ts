/**
 * The files that make one host out of the shared tree, written into its
 * overlay upper dir before it boots: identity (hostname, machine-id), SSH
 * keys, and for directors on the default kernel keepalived's VRRP-only drop-in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { seedSshFiles } from './ssh.ts';
import { keepalivedExecStart, type LabRelease } from './release.ts';

/**
 * LAB.md: on a kernel without IPVS, keepalived given a `virtual_server` block
 * dies whole (the healthchecker's FATAL takes VRRP down with it). Run as
 * `--vrrp` it works, and `keepalived -t` still validates the full config.
 * ExecStart is the release's own (release.ts: bookworm's keepalived
 * 1:2.2.7-1, trixie's 1:2.3.3-1, both Type=notify) plus `--vrrp`. It is the lab's, not the role's: the same role then runs
 * unchanged against the lab and against real VMs. Installed before keepalived
 * is; systemd reads drop-ins for a unit whenever the unit is loaded.
 */
export const VRRP_ONLY_DROPIN_PATH = '/etc/systemd/system/keepalived.service.d/play-lab-vrrp-only.conf';
export function vrrpOnlyDropin(release: LabRelease): string {
  const [program, ...args] = keepalivedExecStart(release).split(' ');
  return [
    '# play lab: this kernel has no IPVS, and keepalived with a virtual_server block',
    '# dies there whole. Run only the VRRP part; the config is unchanged.',
    '[Service]',
    'ExecStart=',
    `ExecStart=${[program, ...args.filter((a) => a.startsWith('--')), '--vrrp', ...args.filter((a) => !a.startsWith('--'))].join(' ')}`,
    '',
  ].join('\n');
}

/** Write a file under `upper`, creating parent dirs (0755). */
export function put(upper: string, path: string, content: string, mode = 0o644): void {
  const full = join(upper, path.replace(/^\//, ''));
  mkdirSync(join(full, '..'), { recursive: true, mode: 0o755 });
  writeFileSync(full, content, { mode });
}

/** Identity and SSH files common to containers and VMs. Returns the host's public host key. */
export async function writeHostFiles(o: {
  upper: string; machine: string; identityPub: string; vrrpOnly: boolean; release: LabRelease;
}): Promise<string> {
  mkdirSync(o.upper, { recursive: true, mode: 0o755 });
  put(o.upper, '/etc/hostname', `${o.machine}\n`);
  put(o.upper, '/etc/hosts', [
    '127.0.0.1\tlocalhost',
    `127.0.1.1\t${o.machine}`,
    '::1\t\tlocalhost ip6-localhost ip6-loopback',
    '',
  ].join('\n'));
  // Its own machine-id: the shared tree's is empty (see base-tree.ts).
  put(o.upper, '/etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444);
  if (o.vrrpOnly) put(o.upper, VRRP_ONLY_DROPIN_PATH, vrrpOnlyDropin(o.release));
  return seedSshFiles(o.upper, o.machine, o.identityPub);
}
