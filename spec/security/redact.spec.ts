/**
 * Redaction at unit level (issue 6, point 3): lib/core/secret.ts masks every
 * secret whole, in the forms it takes in output, and no output path of play
 * shows a secret or a piece of one (truncation, errors, --list-tasks).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { main } from '../../lib/cli/main.ts';
import { TransportError, ValidationError } from '../../lib/core/errors.ts';
import { redact, redactDeep, secret } from '../../lib/core/secret.ts';
import { quote, sh } from '../../lib/core/shell.ts';
import { ConsoleReporter } from '../../lib/report/console.ts';
import { command } from '../../lib/tasks/command.ts';
import { planAgainst } from '../support/plan-harness.ts';

// Secrets are process-wide: values here are distinctive so other specs' output is untouched.
const MASK = '********';
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

const Redact = suite('redact: secrets masked whole');

Redact('a secret that contains another is masked whole, whichever comes first', () => {
  secret('Zq9-nest');
  secret('Zq9-nest-longer');
  assert.is(redact('a Zq9-nest-longer b Zq9-nest c'), `a ${MASK} b ${MASK} c`);
  assert.is(redact('Zq9-nestZq9-nest-longer'), MASK);
});

Redact('overlapping secrets leave no character of either', () => {
  secret('Kw7abcd');
  secret('cdKw7ef');
  // 'Kw7abcd' and 'cdKw7ef' overlap in "cd": masking one first used to leave "Kw7ef" of the other.
  assert.is(redact('x Kw7abcdKw7ef y'), `x ${MASK} y`);
  assert.not.match(redact('Kw7abcdKw7ef'), /Kw7|ef/);
});

Redact('a secret is masked in its shell-quoted and JSON-escaped forms', () => {
  const s = secret(`Pq4'x"y`);
  assert.not.ok(quote(s).includes(s), 'the quoted form differs from the raw value');
  assert.is(redact(sh`mysql -p${s} db`), `mysql -p'${MASK}' db`);
  assert.is(redact(JSON.stringify({ pass: s })), `{"pass":"${MASK}"}`);
  assert.equal(redactDeep({ a: [s, `pre ${s} post`], n: 1 }), { a: [MASK, `pre ${MASK} post`], n: 1 });
});

Redact('text without secrets comes back unchanged', () => {
  assert.is(redact('nothing to see'), 'nothing to see');
  assert.is(redact(''), '');
});

const Paths = suite('no output path shows a piece of a secret');
const S = secret('Vb8-p4ss!');
const piece = /Vb8|p4ss/;

Paths('-v: a long command or output cut at the display limit never shows the start of a secret', () => {
  let out = '';
  const r = new ConsoleReporter({ write: (s) => { out += s; }, color: false, diff: false, verbose: true });
  for (let at = 390; at <= 402; at++) r.command?.({ host: 'A', cmd: `${'x'.repeat(at)}${S}${'y'.repeat(50)}`, code: 0, stdout: `${'o'.repeat(at + 1600)}${S}tail`, stderr: '', durationMs: 1 });
  assert.not.match(out, piece);
  assert.match(out, /\(\d+ chars\)/);
});

Paths('a transport error cut at its limit never shows the start of a secret', () => {
  for (let at = 110; at <= 120; at++) assert.not.match(new TransportError('A', `${'c'.repeat(at)}${S} more`, 'timed out').message, piece);
});

Paths('a command task\'s default name and summary, cut for display, never show the start of a secret', async () => {
  for (let at = 60; at <= 100; at += 4) {
    const t = command({ cmd: ['echo', 'z'.repeat(at), S, 'end'] });
    assert.not.match(t.name, piece, t.name);
    const { plan } = await planAgainst(t, { facts: [] });
    assert.not.match(plan.changes[0]!.summary, piece, plan.changes[0]!.summary);
  }
});

Paths('error messages are redacted where they are made: the CLI prints them as they are', () => {
  const e = new ValidationError([{ host: 'A', field: 'name', message: `got ${JSON.stringify(S)}` }]);
  assert.not.match(e.message, piece);
  assert.match(e.message, /got "\*{8}"/);
});

async function cli(argv: string[]) {
  let out = '', err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; }, color: false, connector: async () => { throw new Error('contacted'); } });
  return { code, out, err };
}

Paths('--list-tasks masks a secret in a task name; a problem quoting a secret is masked on stderr', async () => {
  const argv = [`${fixtures}playbooks/secret-names.ts`, '-i', `${fixtures}inventory/three.ts`];
  const list = await cli([...argv, '--list-tasks']);
  assert.is(list.code, 0, list.err);
  assert.match(list.out, /command curl -H Authorization: \*{8} http/);
  assert.not.match(list.out, /tok-SECRET-42/);
  process.env.PLAY_SPEC_INVALID = '1';
  try {
    const bad = await cli(argv);
    assert.is(bad.code, 1);
    assert.match(bad.err, /field name: "\*{8}" is not a Debian package name/);
    assert.not.match(bad.err, /tok-SECRET-42/);
  } finally {
    delete process.env.PLAY_SPEC_INVALID;
  }
});

Redact.run();
Paths.run();
