import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileState, fileText } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { setSysctlLine } from '../../lib/tasks/sysctl-conf.ts';
import { sysctlValue } from '../../lib/tasks/sysctl-facts.ts';
import { sysctl } from '../../lib/tasks/sysctl.ts';
import { applyAll, planLocally, scratch, tree } from './local-host.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

const F = '/etc/sysctl.d/90-lvs.conf';
const K = 'net.ipv4.conf.all.arp_ignore';
const running = (name: string, stdout: string) => ({ cmd: sysctlValue(name).command, stdout });
/** The three facts of a persisted sysctl: running value, the file's state and its text. */
const facts = (value: string, text: string | undefined, file = F) => [
  running(K, value === 'missing' ? 'missing\n' : `value=${value}\n`),
  { cmd: fileState(file).command, stdout: text === undefined ? 'type=missing\nparent=yes\n' : `type=file\nstat=644 0 0 ${text.length} root root\nsha256=${sha256(text)}  -\nparent=yes\n` },
  { cmd: fileText(file).command, stdout: text ?? '' },
];

const Plans = suite('sysctl: facts → plan');
planTable(Plans, [
  {
    name: 'running and persisted: no-op with both reasons',
    task: sysctl({ name: K, value: 1, file: F }), facts: facts('1', `# LVS-DR\n${K} = 1\n`), changes: [],
    notes: [`${K} is 1`, `${K} = 1 is persisted in ${F}`],
  },
  {
    name: 'neither: sysctl -w, then the file written atomically, before/after in both diffs',
    task: sysctl({ name: K, value: 1, file: F }), facts: facts('0', undefined),
    changes: [`set ${K} 0 → 1`, `persist ${K} = 1 in ${F}`],
    then: (plan) => {
      const [set, persist] = plan.changes;
      assert.is(execOf(set), `sysctl -w ${K}=1`);
      assert.equal(set!.diff, { path: '/proc/sys/net/ipv4/conf/all/arp_ignore', before: '0\n', after: '1\n' });
      assert.is(persist!.stdin, `${K} = 1\n`);
      assert.equal(persist!.diff, { path: F, before: '', after: `${K} = 1\n` });
      assert.ok(execOf(persist).includes('mv -f -- "$tmp" "$dest"'));
      assert.not.ok(plan.changes.some((c) => execOf(c).includes('--system')));
    },
  },
  {
    name: 'running ok, file holds an old value: that line updated in place, comments kept',
    task: sysctl({ name: K, value: 1, file: F }), facts: facts('1', `# keep me\n${K}=0\nnet.ipv4.ip_forward = 1\n`),
    changes: [`persist ${K} = 1 in ${F}`], notes: [`${K} is 1`],
    then: (plan) => assert.equal(plan.changes[0]!.diff, { path: F, before: `# keep me\n${K}=0\nnet.ipv4.ip_forward = 1\n`, after: `# keep me\n${K} = 1\nnet.ipv4.ip_forward = 1\n` }),
  },
  {
    name: 'a later duplicate line (the last one wins) is dropped',
    task: sysctl({ name: K, value: 1, file: F }), facts: facts('1', `${K} = 1\n${K} = 0\n`),
    changes: [`persist ${K} = 1 in ${F}`], then: (plan) => assert.is(plan.changes[0]!.stdin, `${K} = 1\n`),
  },
  { name: 'a hand-written line with the right value is not rewritten', task: sysctl({ name: K, value: '1', file: F }), facts: facts('1', `${K}=1`), changes: [] },
  {
    name: 'tab-separated running value compares by words',
    task: sysctl({ name: 'net.ipv4.ip_local_port_range', value: '32768 60999', persist: false }),
    facts: [running('net.ipv4.ip_local_port_range', 'value=32768\t60999\n')], changes: [], notes: ['net.ipv4.ip_local_port_range is 32768 60999'],
  },
  {
    name: 'a value with a space is one quoted word',
    task: sysctl({ name: 'net.ipv4.ip_local_port_range', value: '1024  65000', persist: false }),
    facts: [running('net.ipv4.ip_local_port_range', 'value=32768\t60999\n')], changes: ['set net.ipv4.ip_local_port_range 32768 60999 → 1024 65000'],
    then: (plan) => assert.is(execOf(plan.changes[0]), `sysctl -w 'net.ipv4.ip_local_port_range=1024 65000'`),
  },
  {
    name: 'default file /etc/sysctl.d/99-play.conf',
    task: sysctl({ name: K, value: 1 }), facts: facts('1', undefined, '/etc/sysctl.d/99-play.conf'),
    changes: [`persist ${K} = 1 in /etc/sysctl.d/99-play.conf`],
  },
  { name: 'unknown key when applying: refused', task: sysctl({ name: 'net.ipv4.vs.expire_nodest_conn', value: 1, persist: false }), facts: [running('net.ipv4.vs.expire_nodest_conn', 'missing\n')], error: /kernel parameter net.ipv4.vs.expire_nodest_conn does not exist on this host \(no \/proc\/sys\/net\/ipv4\/vs\/expire_nodest_conn; is its module loaded\?\)/ },
  {
    name: 'unknown key in check mode after an earlier change: predicted',
    task: sysctl({ name: 'net.ipv4.vs.expire_nodest_conn', value: 1, persist: false }), pending: PENDING,
    facts: [running('net.ipv4.vs.expire_nodest_conn', 'missing\n')], changes: ['set net.ipv4.vs.expire_nodest_conn → 1'], predicted: [/does not exist yet .*expected from an earlier change/],
  },
  {
    name: 'interface names with dots are written with a slash',
    task: sysctl({ name: 'net.ipv4.conf.eth0/100.arp_ignore', value: 1, persist: false }),
    facts: [running('net.ipv4.conf.eth0/100.arp_ignore', 'value=0\n')], changes: ['set net.ipv4.conf.eth0/100.arp_ignore 0 → 1'],
    then: (plan) => assert.is(plan.changes[0]!.diff!.path, '/proc/sys/net/ipv4/conf/eth0.100/arp_ignore'),
  },
]);
Plans.run();

const Problems = suite('sysctl: parameter problems');
problemTable(Problems, [
  { name: 'command substitution in the name', task: sysctl({ name: 'net.ipv4.ip_forward$(reboot)', value: 1 }), problems: [['name', /must be a kernel parameter name/]] },
  { name: 'a second command in the name', task: sysctl({ name: 'net.ipv4.ip_forward; reboot', value: 1 }), problems: [['name', /kernel parameter name/]] },
  { name: 'a name that is an option', task: sysctl({ name: '-w', value: 1 }), problems: [['name', /kernel parameter name/]] },
  { name: 'backticks and quotes', task: sysctl({ name: "net.`id`.'x'", value: 1 }), problems: [['name', /kernel parameter name/]] },
  { name: 'a newline in the value', task: sysctl({ name: K, value: '1\nkernel.panic = 1' }), problems: [['value', /on one line/]] },
  { name: 'an empty value', task: sysctl({ name: K, value: ' ' }), problems: [['value', /non-empty/]] },
  { name: 'a file systemd-sysctl would ignore', task: sysctl({ name: K, value: 1, file: '/etc/sysctl.d/90-lvs' }), problems: [['file', /must end in \.conf/]] },
  { name: 'value missing', task: sysctl({ name: K } as never), problems: [['value', /is required/]] },
]);
Problems('setSysctlLine edits one key and leaves the rest', () => {
  assert.is(setSysctlLine('', 'a.b', '1'), 'a.b = 1\n');
  assert.is(setSysctlLine('# c\nx = 2', 'a.b', '1'), '# c\nx = 2\na.b = 1\n');
  assert.is(setSysctlLine(' - a.b=0\n', 'a.b', '1'), 'a.b = 1\n');
  assert.is(setSysctlLine('a.bc = 0\n', 'a.b', '1'), 'a.bc = 0\na.b = 1\n', 'a longer key is another key');
  assert.is(setSysctlLine('aXb = 0\n', 'a.b', '1'), 'aXb = 0\na.b = 1\n', 'the dot is literal');
});
Problems.run();

const Local = suite('sysctl: the file side applied on the controller');
Local('two keys on one file compose, each planned from the fresh file; a second run changes nothing', async () => {
  const s = scratch('sysctl');
  try {
    const file = join(s.dir, '90 lvs.conf');
    const release = execFileSync('uname', ['-r']).toString().trim();
    writeFileSync(file, '# managed\nkernel.ostype=Other\nkernel.ostype = Dup\n');
    const tasks = () => [sysctl({ name: 'kernel.ostype', value: 'Linux', file }), sysctl({ name: 'kernel.osrelease', value: release, file })];
    for (const t of tasks()) {
      const plan = await planLocally(t);
      assert.equal(plan.changes.map((c) => c.summary.split(' in ')[0]), [`persist ${t.params.name} = ${t.params.value}`]);
      await applyAll(plan);
    }
    assert.is(readFileSync(file, 'utf8'), `# managed\nkernel.ostype = Linux\nkernel.osrelease = ${release}\n`);
    assert.equal(tree(s.dir), ['90 lvs.conf']);
    for (const t of tasks()) assert.equal((await planLocally(t)).changes, []);
  } finally {
    s.done();
  }
});
Local.run();
