/**
 * One table of exit codes for every play command: no number means two
 * things, and what --help and README say is the table itself.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { USAGE } from '../../lib/cli/args.ts';
import { EXIT, EXIT_CODES, exitCodesMarkdown } from '../../lib/core/exit-codes.ts';

const Codes = suite('exit codes');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

Codes('each code has one name and one meaning', () => {
  const codes = Object.values(EXIT);
  assert.is(new Set(codes).size, codes.length, 'two names share a number');
  assert.equal(EXIT_CODES.map((e) => e.code).sort((a, b) => a - b), [...codes].sort((a, b) => a - b));
  assert.equal([EXIT.ok, EXIT.usage, EXIT.taskFailed, EXIT.internal, EXIT.unreachable, EXIT.interrupted], [0, 1, 2, 3, 4, 130]);
});

Codes('USAGE and README mention every code with its meaning', () => {
  for (const { code, meaning } of EXIT_CODES) {
    assert.match(USAGE, new RegExp(`^ +${code} +${meaning.replace(/`/g, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `USAGE: ${code}`);
    assert.ok(readme.includes(`| **${code}** | ${meaning} |`), `README: ${code}`);
  }
});

Codes('README holds the generated table as it is', () => {
  const m = /<!-- exit-codes:[^>]*-->\n([^]*?)\n<!-- \/exit-codes -->/.exec(readme);
  assert.ok(m, 'README has no exit-codes section');
  assert.is(m![1], exitCodesMarkdown(), 'regenerate: node --import tsx -e "import(\'./lib/core/exit-codes.ts\').then((m) => console.log(m.exitCodesMarkdown()))"');
});

Codes('play lab, play agent and play probe return codes from the table', () => {
  // Their sources name codes through EXIT, never as bare numbers.
  for (const f of ['lib/lab/cli.ts', 'lib/agent/cli.ts', 'lib/probe/cli.ts', 'lib/cli/main.ts']) {
    const src = readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8');
    assert.match(src, /from '\.\.\/core\/exit-codes\.ts'/, f);
    assert.not.match(src, /return (\d+|\w+ \? \d+ : \d+);/, `${f} returns a bare number`);
  }
});

Codes.run();
