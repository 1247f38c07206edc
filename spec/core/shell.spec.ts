import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { quote, sh } from '../../lib/core/shell.ts';

const Quote = suite('quote');

// Each hostile value must come back byte-identical through a real /bin/sh.
const hostile = [
  "it's", '"double"', '$(touch /tmp/pwned)', '`id`', 'a; rm -rf /', 'line1\nline2', '-rf', ' spaced out ', 'ünïcødé ✓', '', '*', '$HOME', '\\',
];

for (const value of hostile) {
  Quote(`round-trips ${JSON.stringify(value)} literally through sh`, () => {
    const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${quote(value)}`]).toString();
    assert.is(out, value);
  });
}

Quote('leaves plain words bare', () => {
  assert.is(quote('/etc/keepalived/keepalived.conf'), '/etc/keepalived/keepalived.conf');
  assert.is(quote(80), '80');
});

Quote('sh tag quotes values and arrays, not the template', () => {
  assert.is(sh`test -e ${"a b"} && ls ${['x', "y'z"]}`, `test -e 'a b' && ls x 'y'\\''z'`);
});

Quote.run();
