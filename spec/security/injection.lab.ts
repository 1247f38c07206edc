/**
 * No injection (issue 6, point 1), on a real lab host (RS1 of the seed lab):
 * hostile values — quotes, $(…), backticks, ';', newlines, leading dashes,
 * spaces, non-ASCII — in every parameter that reaches a shell have exactly
 * their literal effect; name-like parameters with such values are refused
 * before any connection; no canary `pwned-*` file appears anywhere.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { tmpdir, homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Transport } from '../../lib/core/transport.ts';
import type { LabProfile } from '../../lib/lab/index.ts';
import { assertRoutedToLab, connectLab, eventsOf, freshLab, labDown, playCli, recapOf } from '../support/lab.ts';
import { contentOf, DIR, GONE, HOSTILE_DIR, hostile, names, SYSCTL_FILE, TEMPLATE_VALUE, TEMPLATED } from '../fixtures/playbooks/injection.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const PB = 'spec/fixtures/playbooks/injection.ts';
const INV = 'spec/fixtures/inventory/lab-rs1.ts';
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** What is under DIR, read by python (no shell quoting involved): name → content or directory mode. */
const LIST = `
import json, os
d = ${JSON.stringify(DIR)}
out = {}
for n in os.listdir(d):
    p = os.path.join(d, n)
    st = os.lstat(p)
    out[n] = {'dir': oct(st.st_mode & 0o7777)} if os.path.isdir(p) else {'content': open(p, 'rb').read().decode('utf-8'), 'mode': oct(st.st_mode & 0o7777)}
print(json.dumps(out))
`;

/** Canary files on the host (any directory) and on the controller (where a local shell would have run). */
async function canaries(t: Transport): Promise<string[]> {
  const r = await t.run(`find / -xdev -name 'pwned-*' 2>/dev/null; true`);
  const local = execFileSync('find', [repo, tmpdir(), homedir(), '/tmp', '-maxdepth', '1', '-name', 'pwned-*']).toString();
  return [...r.stdout.split('\n'), ...local.split('\n').map((l) => `controller:${l}`)].filter((l) => l && l !== 'controller:');
}

const Inj = suite('injection: hostile values on a lab host');
let lab: LabProfile | undefined;
let rs1: Transport | undefined;

Inj.after(async () => {
  await rs1?.close();
  if (lab) await labDown();
});

Inj('file, template, command argv/chdir/env/stdin/creates/removes and sysctl file: exactly the literal values', async () => {
  lab = await freshLab();
  await assertRoutedToLab(lab, [lab.hosts.find((h) => h.name === 'RS1')!.address]);
  rs1 = await connectLab('RS1', lab);
  assert.equal(await canaries(rs1), []);
  // A file the playbook must remove, made without any shell.
  await rs1.run('python3 -', { stdin: `import os\nos.makedirs(${JSON.stringify(DIR)}, exist_ok=True)\nopen(${JSON.stringify(GONE)}, 'w').write('x')\n` });

  const r = await playCli([PB, '-i', INV, '--json', '-v']);
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
  assert.is(recapOf(r.stdout).RS1!.failed, 0);

  const argv = eventsOf(r.stdout).find((e) => e.task === 'argv')!;
  assert.is(argv.stdout, hostile('argv').map((v) => `[${v}]\n`).join(''), 'printf received each argv word literally');

  const listed = JSON.parse((await rs1.run('python3 -', { stdin: LIST })).stdout) as Record<string, { content?: string; dir?: string; mode?: string }>;
  const expected: Record<string, { content?: string; dir?: string; mode?: string }> = {
    ...Object.fromEntries(names.map((n) => [n, { content: contentOf(n), mode: '0o640' }])),
    [base(HOSTILE_DIR)]: { dir: '0o700' },
    [base(TEMPLATED)]: { content: `value: ${TEMPLATE_VALUE}\n`, mode: '0o600' },
    [base(SYSCTL_FILE)]: { content: 'net.ipv4.ip_forward = 1\n', mode: '0o644' },
  };
  for (const [n, want] of Object.entries(expected)) assert.equal(listed[n], want, `${JSON.stringify(n)}: ${JSON.stringify(listed[n])}`);
  const content = (n: string) => listed[n]?.content;
  assert.is(content('argv.out'), hostile('argv').map((v) => `[${v}]\n`).join(''));
  assert.is(content('pwd.out'), `${HOSTILE_DIR}\n`, 'chdir went to the hostile directory');
  assert.is(content('env.out'), hostile('env').join('\n'));
  assert.is(content('stdin.out'), hostile('stdin').join('\n'));
  // Nothing else: GONE removed, the `removes` guard held, no stray temp files.
  assert.equal(Object.keys(listed).sort(), [...Object.keys(expected), 'argv.out', 'pwd.out', 'env.out', 'stdin.out'].sort());
  assert.is((await rs1.run('sysctl -n net.ipv4.ip_forward')).stdout.trim(), '1');
});

Inj('a second run and --check --diff change nothing (facts of hostile paths parse right)', async () => {
  for (const extra of [[], ['--check', '--diff']]) {
    const r = await playCli([PB, '-i', INV, '--json', ...extra]);
    assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
    assert.is(recapOf(r.stdout).RS1!.changed, 0, JSON.stringify(eventsOf(r.stdout).filter((e) => e.status !== 'ok' && e.status !== 'skipped')));
  }
});

Inj('hostile name-like values: refused with their fields, exit 1, the host never contacted', async () => {
  const logins = async () => (await rs1!.run(`journalctl -u ssh --no-pager -q | grep -c 'Accepted publickey' || true`)).stdout.trim();
  const before = await logins();
  const r = await playCli(['spec/fixtures/playbooks/injection-rejected.ts', '-i', INV]);
  assert.is(r.code, 1, r.stderr + r.stdout);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^play: 20 problem\(s\) found before contacting any host:/);
  for (const f of ['sysctl name', 'service name', 'service process', 'apt name', 'file owner and mode', 'command option as program', 'command assignment as program', 'command chdir']) {
    assert.match(r.stderr, new RegExp(`task "${f}": field \\S+: `), f);
  }
  // No SSH login reached RS1 meanwhile: sshd logs every accepted key.
  assert.is(await logins(), before);
});

Inj('no canary file anywhere on the host or the controller', async () => {
  assert.equal(await canaries(rs1!), []);
});

Inj.run();
