import { spawnSync } from 'node:child_process';
import { labRelease, type LabState } from '../../lib/lab/state.ts';

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

/**
 * What the suite must do about a lab that is up before it starts: nothing
 * (no lab, or one the suite left from a run that was killed), say that it
 * replaces the lab ./demo left (./demo brings it back), or refuse (a lab
 * brought up by hand, which the specs would silently take away).
 * PLAY_SPEC_REPLACE_LAB=1 replaces any.
 */
export function labBeforeSuite(state: LabState | undefined, env: NodeJS.ProcessEnv = process.env): { refuse?: string; notice?: string } {
  if (!state || state.owner === 'spec') return {};
  const what = `${state.hosts.map((h) => h.name).join(', ')}, Debian ${labRelease(state)}`;
  if (state.owner === 'demo' || env.PLAY_SPEC_REPLACE_LAB === '1') {
    return { notice: `replacing the lab ${state.owner === 'demo' ? './demo left up' : 'that is up'} (${what}): the lab specs build their own${state.owner === 'demo' ? '; ./demo brings it back' : ''}` };
  }
  return {
    refuse: `a lab is up that the test suite did not bring up (${what}; from \`play lab up\`). `
      + 'The lab specs would tear it down to build their own. Bring it down with `npx play lab down`, '
      + 'or let the suite replace it: PLAY_SPEC_REPLACE_LAB=1 npm test',
  };
}
