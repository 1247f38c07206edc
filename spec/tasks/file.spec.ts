import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileState, fileText, TEXT_LIMIT } from '../../lib/tasks/file-facts.ts';
import { NOT_FETCHED, sha256 } from '../../lib/tasks/file-plan.ts';
import { file } from '../../lib/tasks/file.ts';
import { applyAll, applyLocally, planLocally, scratch, tree } from './local-host.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

const P = '/etc/app.conf';
const NEW = 'listen 80;\n';
const OLD = 'listen 8080;\n';
/** `fileState` output as a Debian host prints it. */
const at = (path: string, stdout: string) => ({ cmd: fileState(path).command, stdout });
const regular = (content: string, stat = '644 0 0 12 root root', extra = '') => `type=file\nstat=${stat}\nsha256=${sha256(content)}  -\nparent=yes\n${extra}`;
const MISSING = 'type=missing\nparent=yes\n';

const Plans = suite('file: facts → plan');
planTable(Plans, [
  { name: 'content already there: no-op that says so', task: file({ path: P, content: NEW }), facts: [at(P, regular(NEW))], changes: [], notes: ['/etc/app.conf is up to date'] },
  {
    name: 'content differs: one atomic write, old content not fetched without --diff',
    task: file({ path: P, content: NEW }), facts: [at(P, regular(OLD))], changes: ['write /etc/app.conf (mode 0644)'],
    then: (plan) => {
      const c = plan.changes[0]!;
      assert.is(c.stdin, NEW);
      assert.equal(c.diff, { path: P, before: NOT_FETCHED, after: NEW });
      assert.ok(execOf(c).includes(`'${sha256(NEW)}  -'`), 'the write verifies the planned checksum');
      assert.ok(execOf(c).includes('chown 0:0 "$tmp"'), 'an existing file keeps its owner');
    },
  },
  {
    name: 'content differs with --diff: old content read in the same round trip',
    task: file({ path: P, content: NEW }), wantDiff: true, facts: [at(P, regular(OLD)), { cmd: fileText(P).command, stdout: OLD }],
    changes: ['write /etc/app.conf (mode 0644)'],
    then: (plan) => assert.equal(plan.changes[0]!.diff, { path: P, before: OLD, after: NEW }),
  },
  {
    name: 'missing file: created with mode 0644, diff from nothing',
    task: file({ path: P, content: NEW }), facts: [at(P, MISSING)], changes: ['write /etc/app.conf (mode 0644)'],
    then: (plan) => {
      assert.equal(plan.changes[0]!.diff, { path: P, before: '', after: NEW });
      assert.not.ok(execOf(plan.changes[0]).includes('chown'), 'a new file is left to the connecting user');
    },
  },
  { name: 'after the write: no-op (idempotent)', task: file({ path: P, content: NEW, mode: '0640', owner: 'root' }), facts: [at(P, regular(NEW, '640 0 0 11 root root'))], changes: [], notes: ['/etc/app.conf is up to date'] },
  {
    name: 'mode drift alone: chmod only',
    task: file({ path: P, content: NEW, mode: '0644' }), facts: [at(P, regular(NEW, '600 0 0 11 root root'))],
    changes: ['set mode 0600 → 0644 on /etc/app.conf'],
    then: (plan) => assert.is(execOf(plan.changes[0]), 'chmod 0644 -- /etc/app.conf'),
  },
  {
    name: 'owner and group drift: one chown',
    task: file({ path: P, owner: 'www-data', group: 'www-data' }), facts: [at(P, regular(NEW, '644 0 0 11 root root'))],
    changes: ['set owner root → www-data, group root → www-data on /etc/app.conf'],
    then: (plan) => assert.is(execOf(plan.changes[0]), 'chown www-data:www-data -- /etc/app.conf'),
  },
  { name: 'owner given as a uid matches the numeric owner', task: file({ path: P, owner: '33', group: '33' }), facts: [at(P, regular(NEW, '644 33 33 11 www-data www-data'))], changes: [], notes: ['/etc/app.conf is up to date'] },
  {
    name: 'content and mode both differ: the write sets the mode, no second change',
    task: file({ path: P, content: NEW, mode: '0600', owner: 'root', group: 'adm' }), facts: [at(P, regular(OLD))],
    changes: ['write /etc/app.conf (mode 0600, owner root:adm)'],
    then: (plan) => assert.ok(execOf(plan.changes[0]).includes(`chown root:adm "$tmp"`) && execOf(plan.changes[0]).includes(`chmod 0600 "$tmp"`)),
  },
  { name: 'parent directory missing, nothing pending: refused', task: file({ path: '/etc/app/x.conf', content: NEW }), facts: [at('/etc/app/x.conf', 'type=missing\nparent=no\n')], error: /directory \/etc\/app does not exist/ },
  {
    name: 'parent directory missing in check mode after an earlier change: predicted',
    task: file({ path: '/etc/app/x.conf', content: NEW }), pending: PENDING, facts: [at('/etc/app/x.conf', 'type=missing\nparent=no\n')],
    changes: ['write /etc/app/x.conf (mode 0644)'], predicted: ['directory /etc/app does not exist yet, expected from an earlier change'],
  },
  {
    name: 'stale temp file of an interrupted run: removed, even when the content is right',
    task: file({ path: P, content: NEW }), facts: [at(P, regular(NEW, undefined, 'stale=AbC123\n'))],
    changes: ['remove stale temp file /etc/.app.conf.play-tmp.AbC123'], notes: ['/etc/app.conf is up to date'],
    then: (plan) => assert.is(execOf(plan.changes[0]), 'rm -f -- /etc/.app.conf.play-tmp.AbC123'),
  },
  { name: 'no content given, file missing: created empty', task: file({ path: P }), facts: [at(P, MISSING)], changes: ['write /etc/app.conf (mode 0644)'], then: (plan) => assert.is(plan.changes[0]!.stdin, '') },
  { name: 'no content given, file exists: content left alone', task: file({ path: P }), facts: [at(P, regular(OLD))], changes: [], notes: ['/etc/app.conf is up to date'] },
  {
    name: 'backup and validate: both in the one write command',
    task: file({ path: P, content: NEW, backup: true, validate: 'nginx -t -c %s' }), facts: [at(P, regular(OLD))], changes: ['write /etc/app.conf (mode 0644)'],
    then: (plan) => {
      assert.ok(execOf(plan.changes[0]).includes('nginx -t -c "$tmp"'));
      assert.ok(execOf(plan.changes[0]).includes('cp -p -- "$dest"'));
    },
  },
  { name: 'a directory where a file should be: refused', task: file({ path: P, content: NEW }), facts: [at(P, 'type=directory\nstat=755 0 0 4096 root root\nparent=yes\n')], error: /\/etc\/app.conf exists and is not a regular file \(it is a directory\)/ },
  { name: 'a symbolic link: refused, not silently replaced', task: file({ path: P, content: NEW }), facts: [at(P, 'type=link\nstat=777 0 0 9 root root\nparent=yes\n')], error: /is a symbolic link/ },
  {
    name: 'large old file with --diff: summarised, not shown',
    task: file({ path: P, content: NEW }), wantDiff: true,
    facts: [at(P, `type=file\nstat=644 0 0 ${TEXT_LIMIT + 10} root root\nsha256=${sha256('x')}  -\nparent=yes\n`), { cmd: fileText(P).command, stdout: 'x'.repeat(100) }],
    changes: ['write /etc/app.conf (mode 0644)'],
    then: (plan) => assert.is(plan.changes[0]!.diff!.before, `(${TEXT_LIMIT + 10} bytes, not shown)\n`),
  },
  {
    name: 'binary content: diff is a summary',
    task: file({ path: '/usr/local/bin/tool', content: Buffer.from([0x7f, 0x45, 0x00, 0xff]), mode: '0755' }), facts: [at('/usr/local/bin/tool', MISSING)],
    changes: ['write /usr/local/bin/tool (mode 0755)'],
    then: (plan) => assert.match(plan.changes[0]!.diff!.after, /^\(binary content, 4 bytes, sha256 [0-9a-f]{12}…\)\n$/),
  },
  { name: 'directory missing: mkdir with mode 0755', task: file({ path: '/srv/www', state: 'directory' }), facts: [at('/srv/www', 'type=missing\nparent=no\n')], changes: ['create directory /srv/www (mode 0755)'], then: (plan) => assert.is(execOf(plan.changes[0]), 'mkdir -p -- /srv/www && chmod 0755 -- /srv/www') },
  { name: 'directory present: no-op', task: file({ path: '/srv/www', state: 'directory', mode: '0755' }), facts: [at('/srv/www', 'type=directory\nstat=755 0 0 4096 root root\nparent=yes\n')], changes: [], notes: ['directory /srv/www is up to date'] },
  { name: 'directory wanted, file found: refused', task: file({ path: '/srv/www', state: 'directory' }), facts: [at('/srv/www', regular(OLD))], error: /\/srv\/www exists and is not a directory \(it is a file\)/ },
  { name: 'absent and missing: no-op', task: file({ path: P, state: 'absent' }), facts: [at(P, MISSING)], changes: [], notes: ['/etc/app.conf is absent'] },
  { name: 'absent, file present: rm -f', task: file({ path: P, state: 'absent' }), facts: [at(P, regular(OLD))], changes: ['remove /etc/app.conf'], then: (plan) => assert.is(execOf(plan.changes[0]), 'rm -f -- /etc/app.conf') },
  { name: 'absent, directory present: rm -rf', task: file({ path: '/srv/old', state: 'absent' }), facts: [at('/srv/old', 'type=directory\nstat=755 0 0 4096 root root\nparent=yes\n')], changes: ['remove directory /srv/old'] },
  {
    name: 'a title set by the user names the task in errors',
    task: file({ path: P, content: NEW, title: 'keepalived config' }), facts: [at(P, 'type=directory\nstat=755 0 0 4096 root root\nparent=yes\n')], error: /not a regular file/,
  },
]);
Plans.run();

const Problems = suite('file: parameter problems, before any host');
problemTable(Problems, [
  { name: 'unknown parameter', task: file({ path: P, contents: 'x' } as never), problems: [['contents', /unknown parameter for file \(accepted: path, content, state/]] },
  { name: 'missing path', task: file({} as never), problems: [['path', /is required/]] },
  { name: 'relative path', task: file({ path: 'etc/app.conf' }), problems: [['path', /must be an absolute path/]] },
  { name: 'path with ..', task: file({ path: '/etc/../root/x' }), problems: [['path', /'\.\.' segments/]] },
  { name: 'bad state', task: file({ path: P, state: 'present' as never }), problems: [['state', /must be one of 'file', 'directory', 'absent', got the string "present"/]] },
  { name: 'mode as a number', task: file({ path: P, mode: 0o644 as never }), problems: [['mode', /octal string such as '0644', got the number 420/]] },
  { name: 'mode not octal', task: file({ path: P, mode: '0988' }), problems: [['mode', /octal string/]] },
  { name: 'hostile owner', task: file({ path: P, owner: 'root; rm -rf /' }), problems: [['owner', /a user name or uid/]] },
  { name: 'validate without %s', task: file({ path: P, content: 'x', validate: 'nginx -t' }), problems: [['validate', /containing %s/]] },
  { name: 'content on a directory', task: file({ path: P, state: 'directory', content: 'x' }), problems: [['content', /only applies to state 'file'/]] },
]);
Problems.run();

// ---- Applied for real on the controller, with hostile names and contents ----

const HOSTILE_NAMES = [
  `it's "quoted" $(touch PWNED) \`touch PWNED2\`; rm -rf .. & ünïcødé ✓.conf`,
  '-rf',
  'new\nline.conf',
  ' spaced out ',
];
const HOSTILE_CONTENT = `'$(touch PWNED)' \`touch PWNED2\` "$HOME" ; rm -rf /\nline two \\n not a newline\n-rf\nünïcødé ✓\n%s %d\n`;

const Local = suite('file: applied with /bin/sh on the controller');

for (const name of HOSTILE_NAMES) {
  Local(`writes exactly ${JSON.stringify(name)} and nothing else, then plans no change`, async () => {
    const s = scratch('file');
    try {
      const dir = join(s.dir, `dir with 'quote' $(x)`);
      mkdirSync(dir);
      const path = join(dir, name);
      const plan = await planLocally(file({ path, content: HOSTILE_CONTENT, mode: '0640' }));
      assert.is(plan.changes.length, 1);
      await applyAll(plan);
      assert.equal(tree(s.dir), [`dir with 'quote' $(x)/`, `dir with 'quote' $(x)/${name}`]);
      assert.is(readFileSync(path, 'utf8'), HOSTILE_CONTENT);
      assert.is(statSync(path).mode & 0o7777, 0o640);
      const again = await planLocally(file({ path, content: HOSTILE_CONTENT, mode: '0640' }));
      assert.equal(again.changes, []);
      assert.equal(again.notes.length, 1);
      assert.not.ok(existsSync('PWNED') || existsSync('PWNED2'), 'nothing ran in the working directory');
    } finally {
      s.done();
    }
  });
}

Local('a short stdin (connection cut mid-transfer) never replaces the file and leaves no temp file', async () => {
  const s = scratch('file');
  try {
    const path = join(s.dir, "it's.conf");
    writeFileSync(path, OLD);
    const plan = await planLocally(file({ path, content: HOSTILE_CONTENT }));
    const r = await applyLocally(plan.changes[0]!, HOSTILE_CONTENT.slice(0, 20));
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /checksum mismatch/);
    assert.is(readFileSync(path, 'utf8'), OLD);
    assert.equal(tree(s.dir), ["it's.conf"]);
  } finally {
    s.done();
  }
});

Local('a failing validate leaves the file untouched and reports the validator output', async () => {
  const s = scratch('file');
  try {
    const path = join(s.dir, 'keepalived.conf');
    writeFileSync(path, OLD);
    const validate = `sh -c 'grep -q vrrp_instance "$1" || { echo "Configuration error: no vrrp_instance in $1" >&2; exit 2; }' check %s`;
    const plan = await planLocally(file({ path, content: NEW, validate }));
    const r = await applyLocally(plan.changes[0]!);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /Configuration error: no vrrp_instance in .*\.keepalived\.conf\.play-tmp\./);
    assert.match(plan.changes[0]!.failMessage!(r), /could not write .*keepalived.conf: .*Configuration error/s);
    assert.is(readFileSync(path, 'utf8'), OLD);
    assert.equal(tree(s.dir), ['keepalived.conf']);

    const good = await planLocally(file({ path, content: 'vrrp_instance VI_1 {}\n', validate, backup: true }));
    await applyAll(good);
    assert.is(readFileSync(path, 'utf8'), 'vrrp_instance VI_1 {}\n');
    const files = tree(s.dir);
    assert.is(files.length, 2);
    assert.match(files[1]!, /^keepalived\.conf\.\d{14}~$/);
    assert.is(readFileSync(join(s.dir, files[1]!), 'utf8'), OLD, 'the backup holds the old content');
  } finally {
    s.done();
  }
});

Local('a write killed mid-transfer removes its temp file (trap)', async () => {
  const s = scratch('file');
  try {
    const path = join(s.dir, 'x.conf');
    const plan = await planLocally(file({ path, content: NEW }));
    const child = spawn('/bin/sh', ['-c', execOf(plan.changes[0])], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.write('listen');
    const deadline = Date.now() + 3000;
    while (!tree(s.dir).some((f) => f.includes('.play-tmp.')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(tree(s.dir).some((f) => f.includes('.play-tmp.')), 'the temp file appeared');
    const exited = new Promise((r) => child.on('exit', r));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    assert.equal(tree(s.dir), []);
  } finally {
    s.done();
  }
});

Local('stale temp files are found by the facts and removed; drift is fixed with chmod', async () => {
  const s = scratch('file');
  try {
    const path = join(s.dir, 'a b.conf');
    writeFileSync(path, NEW, { mode: 0o600 });
    writeFileSync(join(s.dir, '.a b.conf.play-tmp.Xy12Zw'), 'half');
    const plan = await planLocally(file({ path, content: NEW, mode: '0644' }));
    assert.equal(plan.changes.map((c) => c.summary), [`remove stale temp file ${s.dir}/.a b.conf.play-tmp.Xy12Zw`, `set mode 0600 → 0644 on ${path}`]);
    await applyAll(plan);
    assert.equal(tree(s.dir), ['a b.conf']);
    assert.is(statSync(path).mode & 0o777, 0o644);
    assert.equal((await planLocally(file({ path, content: NEW, mode: '0644' }))).changes, []);
  } finally {
    s.done();
  }
});

Local('--diff reads the real old content', async () => {
  const s = scratch('file');
  try {
    const path = join(s.dir, 'x.conf');
    writeFileSync(path, OLD);
    const plan = await planLocally(file({ path, content: NEW }), { wantDiff: true });
    assert.equal(plan.changes[0]!.diff, { path, before: OLD, after: NEW });
  } finally {
    s.done();
  }
});

Local('directory and absent states, applied', async () => {
  const s = scratch('file');
  try {
    const path = join(s.dir, `a $(b)/-c d`);
    const mk = await planLocally(file({ path, state: 'directory', mode: '0750' }));
    await applyAll(mk);
    assert.ok(statSync(path).isDirectory());
    assert.is(statSync(path).mode & 0o777, 0o750);
    assert.equal((await planLocally(file({ path, state: 'directory', mode: '0750' }))).changes, []);
    writeFileSync(join(path, 'inside'), 'x');
    await applyAll(await planLocally(file({ path: join(s.dir, 'a $(b)'), state: 'absent' })));
    assert.not.ok(existsSync(join(s.dir, 'a $(b)')));
    assert.equal(tree(s.dir), []);
    assert.equal((await planLocally(file({ path: join(s.dir, 'a $(b)'), state: 'absent' }))).changes, []);
  } finally {
    s.done();
  }
});

Local.run();
