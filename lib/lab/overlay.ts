/**
 * Each host's root is an overlayfs: the cached tree below (never written),
 * the host's own upper dir above, under RUN_DIR so `down` removes it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, must } from './exec.ts';

/** Paths of one host's overlay. */
export function overlayPaths(hostDir: string): { upper: string; work: string; merged: string } {
  return { upper: join(hostDir, 'upper'), work: join(hostDir, 'work'), merged: join(hostDir, 'root') };
}

/** Mount `lower` + the host's upper dir at its `root`. Returns the mount point. */
export async function mountOverlay(machine: string, lower: string, hostDir: string): Promise<string> {
  const p = overlayPaths(hostDir);
  for (const d of [p.upper, p.work, p.merged]) mkdirSync(d, { recursive: true });
  await must(`mounting the root overlay of ${machine}`, 'mount', [
    '-t', 'overlay', `playlab-${machine}`, '-o', `lowerdir=${lower},upperdir=${p.upper},workdir=${p.work}`, p.merged,
  ]);
  return p.merged;
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    // Field 5 is the mount point, with spaces etc. escaped as \040.
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Unmount everything at or below `dir`; lazily if busy. Returns problems as text. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const m of mountsUnder(dir)) {
    const r = await exec('umount', [m]);
    if (r.code === 0) continue;
    const lazy = await exec('umount', ['-l', m]);
    if (lazy.code !== 0) problems.push(`umount ${m}: ${lazy.stderr.trim() || r.stderr.trim()}`);
  }
  return problems;
}
