import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copy } from '../../lib/tasks/copy.ts';
import { fileState } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { applyAll, planLocally, scratch, tree } from './local-host.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

const BIN = new URL('./fixtures/tool.bin', import.meta.url);
const BYTES = readFileSync(BIN);
const D = '/usr/local/bin/tool';
const at = (stdout: string) => ({ cmd: fileState(D).command, stdout });
const regular = (content: string | Buffer, stat = '755 0 0 12 root root') => `type=file\nstat=${stat}\nsha256=${sha256(content)}  -\nparent=yes\n`;

const Plans = suite('copy: facts → plan');
planTable(Plans, [
  {
    name: 'a binary controller file, missing on the host: one write of the exact bytes',
    task: copy({ src: BIN, dest: D, mode: '0755' }), facts: [at('type=missing\nparent=yes\n')], changes: ['write /usr/local/bin/tool (mode 0755)'],
    then: (plan) => {
      const c = plan.changes[0]!;
      assert.ok(Buffer.isBuffer(c.stdin) && BYTES.equals(c.stdin), 'the bytes, as a Buffer, not decoded text');
      assert.ok(execOf(c).includes(`'${sha256(BYTES)}  -'`), 'the checksum of the bytes is verified on arrival');
      assert.match(c.diff!.after, /^\(binary content, \d+ bytes, sha256 [0-9a-f]{12}…\)\n$/);
    },
  },
  {
    name: 'same checksum on the host: no-op, nothing sent',
    task: copy({ src: BIN, dest: D, mode: '0755' }), facts: [at(regular(BYTES))], changes: [], notes: ['/usr/local/bin/tool is up to date'],
  },
  { name: 'same bytes, mode drift: chmod only', task: copy({ src: BIN, dest: D, mode: '0750' }), facts: [at(regular(BYTES))], changes: ['set mode 0755 → 0750 on /usr/local/bin/tool'] },
  {
    name: 'inline content with validate and backup',
    task: copy({ content: 'worker_processes 1;\n', dest: '/etc/nginx/nginx.conf', validate: 'nginx -t -c %s', backup: true }),
    facts: [{ cmd: fileState('/etc/nginx/nginx.conf').command, stdout: regular('old\n', '644 0 0 4 root root') }], changes: ['write /etc/nginx/nginx.conf (mode 0644)'],
    then: (plan) => {
      assert.ok(execOf(plan.changes[0]).includes('nginx -t -c "$tmp"'));
      assert.ok(execOf(plan.changes[0]).includes('cp -p -- "$dest"'));
    },
  },
  {
    name: 'missing directory in check mode after an earlier change: predicted',
    task: copy({ content: 'x', dest: '/opt/app/x' }), pending: PENDING, facts: [{ cmd: fileState('/opt/app/x').command, stdout: 'type=missing\nparent=no\n' }],
    changes: ['write /opt/app/x (mode 0644)'], predicted: [/directory \/opt\/app does not exist yet/],
  },
]);
Plans.run();

const Problems = suite('copy: parameter problems, before any host');
problemTable(Problems, [
  { name: 'neither src nor content', task: copy({ dest: D }), problems: [['src', /exactly one/]] },
  { name: 'both src and content', task: copy({ dest: D, src: BIN, content: 'x' }), problems: [['src', /exactly one/]] },
  { name: 'a relative src', task: copy({ dest: D, src: 'files/tool' }), problems: [['src', /absolute path or a file: URL/]] },
  { name: 'a controller file that does not exist', task: copy({ dest: D, src: '/nonexistent/play-spec' }), problems: [['src', /cannot read \/nonexistent\/play-spec on the controller: ENOENT/]] },
  { name: 'a directory as src', task: copy({ dest: D, src: fileURLToPath(new URL('./fixtures/', import.meta.url)).replace(/\/$/, '') }), problems: [['src', /not a regular file/]] },
  { name: 'content of the wrong type', task: copy({ dest: D, content: 42 as never }), problems: [['content', /must be a string or a Buffer, got 42/]] },
  { name: 'mode as a number and a relative dest', task: copy({ dest: 'tool', content: 'x', mode: 0o755 as never }), problems: [['dest', /absolute path/], ['mode', /octal string/]] },
]);
Problems.run();

const Local = suite('copy: applied on the controller');
Local('binary bytes arrive unchanged with their mode; the re-plan is a no-op that says so', async () => {
  const s = scratch('copy');
  try {
    const dest = join(s.dir, "tool 'x'");
    const plan = await planLocally(copy({ src: BIN, dest, mode: '0750' }));
    await applyAll(plan);
    assert.ok(readFileSync(dest).equals(BYTES));
    assert.is(statSync(dest).mode & 0o7777, 0o750);
    assert.equal(tree(s.dir), ["tool 'x'"]);
    const again = await planLocally(copy({ src: BIN, dest, mode: '0750' }));
    assert.equal(again.changes, []);
    assert.equal(again.notes, [`${dest} is up to date`]);
  } finally {
    s.done();
  }
});
Local.run();
