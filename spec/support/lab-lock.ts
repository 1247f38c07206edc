import { spawnSync } from 'node:child_process';

/** One lab at a time on a machine: lab specs and benchmarks hold this lock. */
export const LAB_LOCK = '/run/lock/play-lab.lock';

/**
 * Re-run this process under `flock` unless it already holds the lab lock,
 * so two suites (or a suite and a benchmark) never fight over one bridge.
 * Returns only in the process that holds the lock.
 */
export function holdLabLock(): void {
  if (process.env.PLAY_LAB_LOCK_HELD === '1') return;
  const r = spawnSync('flock', ['-w', '3600', LAB_LOCK, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, PLAY_LAB_LOCK_HELD: '1' },
  });
  process.exit(r.status ?? 1);
}
