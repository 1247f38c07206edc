/**
 * `play probe`'s own options: every malformed number gets play's message
 * naming the option and its range, and exit 1, before any request is sent
 * (the URL is a closed loopback port; nothing would answer anyway).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../lib/cli/main.ts';
import { EXIT } from '../../lib/core/exit-codes.ts';
import { joinNegativeNumbers } from '../../lib/cli/number-options.ts';

const Probe = suite('play probe: malformed options');
const URL = 'http://127.0.0.1:9/';

async function probe(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['probe', URL, ...args], { out: (s) => { out += s; }, err: (s) => { err += s; }, color: false });
  return { code, out, err };
}

const rows: Array<[string, string[], RegExp]> = [
  ['a negative interval, spaced', ['--every', '-5'], /^play: --every must be a number of milliseconds ≥ 1, got "-5"\n$/],
  ['a negative interval, joined', ['--every=-5'], /^play: --every must be a number of milliseconds ≥ 1, got "-5"\n$/],
  ['an interval that is no number', ['--every', 'fast'], /--every must be a number of milliseconds ≥ 1, got "fast"/],
  ['a hexadecimal timeout', ['--timeout', '0x10'], /--timeout must be a number of milliseconds ≥ 1, got "0x10"/],
  ['a zero duration', ['--for', '0'], /--for must be a number of seconds ≥ 0\.1, got "0"/],
  ['an empty duration', ['--for='], /--for must be a number of seconds ≥ 0\.1, got ""/],
];
for (const [name, args, want] of rows) {
  Probe(`${name}: exit 1, the option and its range named`, async () => {
    const r = await probe(...args);
    assert.is(r.code, EXIT.usage);
    assert.match(r.err, want);
    assert.is(r.out, '', 'no probe report: nothing was probed');
  });
}

Probe('a negative number after -- belongs to the command, not to the probe', () => {
  assert.equal(joinNegativeNumbers(['URL', '--every', '-5', '--', 'cmd', '--every', '-5'], ['every']), ['URL', '--every=-5', '--', 'cmd', '--every', '-5']);
});

Probe.run();
