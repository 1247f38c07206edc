/**
 * The benchmark's table shows each of #17's targets next to its figure,
 * computed from the samples, and leaves out rows whose series a run did not
 * measure (a first-runs-only or fleet-only file has no converged rows).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { markdown, type Results } from '../../bench/report.ts';

const Report = suite('bench report: targets next to their figures');

const base = (over: Partial<Results>): Results => ({
  date: '2026-12-03T00:00:00Z',
  machine: { cpus: 2, memGiB: 24, kernel: 'x', node: 'v20', ansible: 'ansible 2.14' },
  pairs: 3,
  series: {},
  voids: [],
  notes: [],
  ...over,
});

const floor = { hosts: 4, opensshCold: [300, 300, 300], opensshMux: [5], playProcess: [240], playInProcess: [100], playMux: [3], nodeStart: [50], playListHosts: [100] };

const cases: Array<{ name: string; r: Results; has: string[]; lacks: string[] }> = [
  {
    name: 'cold re-run against the OpenSSH floor, two decimals',
    r: base({ floor, series: { idempotent: { play: [180, 190, 200], ansible: [3700, 3700, 3700] }, check: { play: [180], ansible: [3600] }, 'idempotent-cold': { play: [310, 290, null], ansible: [4000, 4100, 4200] } } }),
    has: ['| play ÷ floor: cold idempotent re-run | 1.00× | | | ≤ 1.0× |', '| play ÷ floor: idempotent, check | 0.6×, 0.6× | | | ≤ 3× |'],
    lacks: ['first run\'s floor'],
  },
  {
    name: 'first run ÷ its shell floor, per pair, void pairs left out',
    r: base({ series: { first: { play: [13_000, 14_000, null], ansible: [28_000, 29_000, 30_000] } }, firstFloor: [10_000, 10_000, 10_000] }),
    has: ['| play\'s first run ÷ that floor | 1.4× (1.3×–1.4×) | | | ≤ 1.25× |'],
    lacks: ['idempotent re-run, warm', 'cold idempotent re-run', 'serving floor'],
  },
  {
    name: 'first run ÷ the floor until serving, from the same runs, void pairs left out',
    r: base({ series: { first: { play: [13_000, 14_000, 12_000], ansible: [28_000, 29_000, 30_000] } }, firstFloor: [10_000, 10_000, null], firstFloorServing: [12_500, 13_000, null] }),
    has: ['| play\'s first run ÷ that floor | 1.4× (1.3×–1.4×) | | | ≤ 1.25× |', '| play\'s first run ÷ the serving floor | 1.1× (1.0×–1.1×) | | | |', '`firstFloorServing` samples (ms; the same runs until the MASTER held its VIP): [12500,13000,null]'],
    lacks: ['idempotent re-run, warm'],
  },
  {
    name: 'no cold series: no cold row',
    r: base({ floor, series: { idempotent: { play: [180], ansible: [3700] }, check: { play: [180], ansible: [3600] } } }),
    has: ['| play ÷ floor: idempotent, check |'],
    lacks: ['cold idempotent re-run |'],
  },
];

for (const c of cases) {
  Report(c.name, () => {
    const md = markdown(c.r);
    for (const h of c.has) assert.ok(md.includes(h), `missing ${JSON.stringify(h)} in\n${md}`);
    for (const l of c.lacks) assert.not.ok(md.includes(l), `unexpected ${JSON.stringify(l)}`);
  });
}

Report.run();
