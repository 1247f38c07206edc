/**
 * The scale benchmark's hosts: `PLAY_BENCH_HOSTS` sshd-only lab hosts
 * h01…hNN on 192.168.57.0/24 (.11 onwards), no directors.
 */
import { defineInventory } from '../../lib/index.ts';

export interface ScaleVars {
  /** Written into /etc/play-bench.conf. */
  motto: string;
}

/** Lab host names and addresses for `count` hosts. */
export function scaleHosts(count: number): Array<{ name: string; address: string }> {
  if (!Number.isInteger(count) || count < 1 || count > 240) throw new Error(`PLAY_BENCH_HOSTS must be 1–240, got ${count}`);
  return Array.from({ length: count }, (_, i) => ({ name: `h${String(i + 1).padStart(2, '0')}`, address: `192.168.57.${11 + i}` }));
}

export default defineInventory<ScaleVars>({
  vars: { motto: 'one template, one sysctl, one command' },
  hosts: Object.fromEntries(scaleHosts(Number(process.env.PLAY_BENCH_HOSTS ?? 4)).map((h) => [h.name, { address: h.address }])),
});
