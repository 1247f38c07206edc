/**
 * verify's round-robin check reads IPVS's counters after its requests; the
 * kernel shows them folded every 2 s. `foldedStats` waits for the first
 * reading that differs from the one taken as it is called (a fold after the
 * requests), at most its deadline. Each row: the readings the director gives
 * in turn, the deadline, and which reading is used after how many reads.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { foldedStats } from '../../roles/verify/checks.ts';

const rows: Array<{ name: string; readings: string[]; deadlineMs: number; want: string; reads: number }> = [
  { name: 'a fold on the third poll: that reading', readings: ['old', 'old', 'old', 'new', 'newer'], deadlineMs: 2000, want: 'new', reads: 4 },
  { name: 'a fold right away: the next reading', readings: ['old', 'new'], deadlineMs: 2000, want: 'new', reads: 2 },
  { name: 'no fold changes anything before the deadline: the last reading', readings: Array(100).fill('same'), deadlineMs: 30, want: 'same', reads: -1 },
];

const Fold = suite('verify: IPVS counters after the estimator folds them in');
for (const r of rows) {
  Fold(r.name, async () => {
    let n = 0;
    const got = await foldedStats(async () => r.readings[Math.min(n++, r.readings.length - 1)]!, r.deadlineMs, 5);
    assert.is(got, r.want);
    if (r.reads > 0) assert.is(n, r.reads);
    // Bounded: with no change, it stops at the deadline (a poll every 5 ms, so a few, never all 100).
    else assert.ok(n > 1 && n < 100, `${n} reads`);
  });
}

Fold.run();
