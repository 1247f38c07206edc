import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { blockinfile } from '../../lib/tasks/blockinfile.ts';
import { fileState, fileText } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { absentLine, markers, presentLine, setBlock } from '../../lib/tasks/line-edit.ts';
import { lineinfile } from '../../lib/tasks/lineinfile.ts';
import { applyAll, planLocally, scratch } from './local-host.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

const P = '/etc/ssh/sshd_config';
/** The two facts of an edit, as a Debian host prints them: state and text. */
const file = (text: string | undefined, path = P) => [
  { cmd: fileState(path).command, stdout: text === undefined ? 'type=missing\nparent=yes\n' : `type=file\nstat=644 0 0 ${text.length} root root\nsha256=${sha256(text)}  -\nparent=yes\n` },
  { cmd: fileText(path).command, stdout: text ?? '' },
];
const SSHD = 'Port 22\n#PasswordAuthentication yes\nUsePAM yes\n';

const Lines = suite('lineinfile: facts → plan');
planTable(Lines, [
  {
    name: 'regexp matches: that line replaced, diff before/after without --diff (the text is read anyway)',
    task: lineinfile({ path: P, regexp: /^#?PasswordAuthentication/, line: 'PasswordAuthentication no', validate: 'sshd -t -f %s' }),
    facts: file(SSHD), changes: ['replace line "PasswordAuthentication no" in /etc/ssh/sshd_config'],
    then: (plan) => {
      const c = plan.changes[0]!;
      assert.is(c.stdin, 'Port 22\nPasswordAuthentication no\nUsePAM yes\n');
      assert.equal(c.diff, { path: P, before: SSHD, after: 'Port 22\nPasswordAuthentication no\nUsePAM yes\n' });
      assert.ok(execOf(c).includes('sshd -t -f "$tmp"') && execOf(c).includes('mv -f -- "$tmp" "$dest"'));
    },
  },
  {
    name: 'the line is already there: no-op that says so',
    task: lineinfile({ path: P, regexp: /^#?PasswordAuthentication/, line: 'PasswordAuthentication no' }),
    facts: file('PasswordAuthentication no\n'), changes: [], notes: ['/etc/ssh/sshd_config has the line "PasswordAuthentication no"'],
  },
  {
    name: 'no match: added after the last line insertAfter matches',
    task: lineinfile({ path: '/etc/hosts', line: '192.168.56.103 rs1', insertAfter: '^127\\.' }),
    facts: file('127.0.0.1 localhost\n127.0.1.1 me\n::1 ip6\n', '/etc/hosts'), changes: ['add line "192.168.56.103 rs1" in /etc/hosts'],
    then: (plan) => assert.is(plan.changes[0]!.stdin, '127.0.0.1 localhost\n127.0.1.1 me\n192.168.56.103 rs1\n::1 ip6\n'),
  },
  {
    name: 'a file without a final newline gets one before the added line',
    task: lineinfile({ path: P, line: 'X 1' }), facts: file('Port 22'), changes: ['add line "X 1" in /etc/ssh/sshd_config'],
    then: (plan) => assert.is(plan.changes[0]!.stdin, 'Port 22\nX 1\n'),
  },
  {
    name: 'absent: every matching line removed',
    task: lineinfile({ path: P, regexp: '^#', state: 'absent' }), facts: file('#a\nPort 22\n#b\n'), changes: ['remove 2 lines in /etc/ssh/sshd_config'],
    then: (plan) => assert.is(plan.changes[0]!.stdin, 'Port 22\n'),
  },
  { name: 'absent, nothing matches: no-op', task: lineinfile({ path: P, line: 'Port 2222', state: 'absent' }), facts: file(SSHD), changes: [], notes: ['no line "Port 2222" in /etc/ssh/sshd_config'] },
  { name: 'absent, file missing: no-op', task: lineinfile({ path: P, line: 'Port 2222', state: 'absent' }), facts: file(undefined), changes: [], notes: ['/etc/ssh/sshd_config does not exist: no line to remove'], roundTrips: 1 },
  { name: 'missing file without create: refused', task: lineinfile({ path: P, line: 'Port 22' }), facts: file(undefined), error: /\/etc\/ssh\/sshd_config does not exist \(set create: true/ },
  {
    name: 'missing file in check mode after an earlier change (the package that ships it): predicted',
    task: lineinfile({ path: P, line: 'Port 22' }), facts: file(undefined), pending: PENDING,
    changes: ['add line "Port 22" in /etc/ssh/sshd_config'], predicted: [/does not exist yet, expected from an earlier change/],
  },
  {
    name: 'missing file with create: written with the one line and the given mode',
    task: lineinfile({ path: P, line: 'Port 22', create: true, mode: '0600' }), facts: file(undefined), changes: ['add line "Port 22" in /etc/ssh/sshd_config'],
    then: (plan) => { assert.is(plan.changes[0]!.stdin, 'Port 22\n'); assert.ok(execOf(plan.changes[0]).includes(`chmod 0600 "$tmp"`)); },
  },
  { name: 'text right, mode drift: chmod only', task: lineinfile({ path: P, line: 'Port 22', mode: '0600' }), facts: file(SSHD), changes: ['set mode 0644 → 0600 on /etc/ssh/sshd_config'] },
  { name: 'a directory: refused', task: lineinfile({ path: P, line: 'x' }), facts: [{ cmd: fileState(P).command, stdout: 'type=directory\nstat=755 0 0 4096 root root\nparent=yes\n' }, { cmd: fileText(P).command, stdout: '' }], error: /not a regular file/ },
]);
Lines.run();

const M = markers('# {mark} PLAY MANAGED BLOCK', 'BEGIN', 'END');
const Blocks = suite('blockinfile: facts → plan');
planTable(Blocks, [
  {
    name: 'no block yet: inserted at the end with its markers',
    task: blockinfile({ path: '/etc/hosts', block: '10.0.0.1 a\n10.0.0.2 b' }), facts: file('127.0.0.1 localhost\n', '/etc/hosts'),
    changes: ['add block # BEGIN PLAY MANAGED BLOCK (2 lines) in /etc/hosts'],
    then: (plan) => assert.is(plan.changes[0]!.stdin, '127.0.0.1 localhost\n# BEGIN PLAY MANAGED BLOCK\n10.0.0.1 a\n10.0.0.2 b\n# END PLAY MANAGED BLOCK\n'),
  },
  {
    name: 'the block is there: no-op',
    task: blockinfile({ path: '/etc/hosts', block: '10.0.0.1 a\n' }), facts: file(`x\n${M.begin}\n10.0.0.1 a\n${M.end}\ny\n`, '/etc/hosts'),
    changes: [], notes: ['block # BEGIN PLAY MANAGED BLOCK in /etc/hosts is up to date'],
  },
  {
    name: 'a different block: replaced where it is, the rest untouched',
    task: blockinfile({ path: '/etc/hosts', block: 'new\n' }), facts: file(`x\n${M.begin}\nold1\nold2\n${M.end}\ny\n`, '/etc/hosts'),
    changes: ['update block # BEGIN PLAY MANAGED BLOCK (1 line) in /etc/hosts'],
    then: (plan) => assert.is(plan.changes[0]!.stdin, `x\n${M.begin}\nnew\n${M.end}\ny\n`),
  },
  {
    name: 'absent: the block and its markers removed',
    task: blockinfile({ path: '/etc/hosts', state: 'absent' }), facts: file(`x\n${M.begin}\nold\n${M.end}\n`, '/etc/hosts'),
    changes: ['remove block # BEGIN PLAY MANAGED BLOCK in /etc/hosts'], then: (plan) => assert.is(plan.changes[0]!.stdin, 'x\n'),
  },
  { name: 'absent and no block: no-op', task: blockinfile({ path: '/etc/hosts', state: 'absent' }), facts: file('x\n', '/etc/hosts'), changes: [], notes: ['no block # BEGIN PLAY MANAGED BLOCK in /etc/hosts'] },
  { name: 'a begin marker without its end: refused, not guessed', task: blockinfile({ path: '/etc/hosts', block: 'a' }), facts: file(`${M.begin}\nold\n`, '/etc/hosts'), error: /has the line "# BEGIN PLAY MANAGED BLOCK" but no "# END PLAY MANAGED BLOCK"/ },
  {
    name: 'insertBefore BOF with a custom marker',
    task: blockinfile({ path: '/etc/hosts', block: 'a', marker: '## {mark} lvs', insertBefore: 'BOF' }), facts: file('x\n', '/etc/hosts'),
    changes: ['add block ## BEGIN lvs (1 line) in /etc/hosts'], then: (plan) => assert.is(plan.changes[0]!.stdin, '## BEGIN lvs\na\n## END lvs\nx\n'),
  },
]);
Blocks.run();

const Problems = suite('lineinfile, blockinfile: parameter problems');
problemTable(Problems, [
  { name: 'present without a line', task: lineinfile({ path: P, regexp: 'x' }), problems: [['line', /is required with state 'present'/]] },
  { name: 'a line with a newline', task: lineinfile({ path: P, line: 'a\nb' }), problems: [['line', /must be one line/]] },
  { name: 'a regexp that does not compile', task: lineinfile({ path: P, line: 'a', regexp: '(' }), problems: [['regexp', /is not a valid regular expression/]] },
  { name: 'both anchors', task: lineinfile({ path: P, line: 'a', insertAfter: 'x', insertBefore: 'y' }), problems: [['insertBefore', /not both/]] },
  { name: 'absent with nothing to match', task: lineinfile({ path: P, state: 'absent' }), problems: [['regexp', /which lines to remove/]] },
  { name: 'a relative path and a bad state', task: lineinfile({ path: 'etc/x', line: 'a', state: 'gone' as never }), problems: [['path', /absolute path/], ['state', /must be one of 'present', 'absent'/]] },
  { name: 'a marker without {mark}', task: blockinfile({ path: P, block: 'a', marker: '# managed' }), problems: [['marker', /must contain \{mark\}/]] },
  { name: 'present without a block', task: blockinfile({ path: P }), problems: [['block', /is required with state 'present'/]] },
  { name: 'a block holding its own marker', task: blockinfile({ path: P, block: '# END PLAY MANAGED BLOCK\n' }), problems: [['block', /its own marker lines/]] },
]);
Problems('the pure edits follow Ansible: last match replaced, anchors on the last match, absent removes all', () => {
  assert.is(presentLine('a=1\na=2\n', 'a=3', /^a=/).text, 'a=1\na=3\n');
  assert.is(presentLine('x\n', 'y', undefined, { before: /^x/ }).text, 'y\nx\n');
  assert.is(presentLine('x\n', 'y', undefined, { after: /^nomatch/ }).text, 'x\ny\n', 'an anchor that matches nothing: the end');
  assert.is(presentLine('', 'y').text, 'y\n');
  assert.is(presentLine('y\n', 'y', /^z/).what, 'none', 'regexp unmatched but the line is there verbatim');
  assert.is(absentLine('a\nb\na\n', { line: 'a' }).text, 'b\n');
  assert.is(setBlock('', 'a', { begin: 'B', end: 'E' }).text, 'B\na\nE\n');
  assert.is(setBlock('B\na\nE\n', '', { begin: 'B', end: 'E' }).text, '', 'an empty block removes it, as Ansible');
});
Problems.run();

const Local = suite('lineinfile, blockinfile: applied on the controller');
Local('edits compose on one file, each planned from the fresh text; the second run changes nothing', async () => {
  const s = scratch('lineinfile');
  try {
    const path = join(s.dir, 'sshd config');
    writeFileSync(path, SSHD);
    const tasks = () => [
      lineinfile({ path, regexp: /^#?PasswordAuthentication/, line: 'PasswordAuthentication no' }),
      lineinfile({ path, line: 'Port 2222', insertBefore: 'BOF' }),
      blockinfile({ path, block: 'Match User backup\n  ForceCommand internal-sftp\n' }),
    ];
    for (const t of tasks()) await applyAll(await planLocally(t));
    assert.is(readFileSync(path, 'utf8'), `Port 2222\nPort 22\nPasswordAuthentication no\nUsePAM yes\n${M.begin}\nMatch User backup\n  ForceCommand internal-sftp\n${M.end}\n`);
    for (const t of tasks()) assert.equal((await planLocally(t)).changes, []);
  } finally {
    s.done();
  }
});
Local.run();
