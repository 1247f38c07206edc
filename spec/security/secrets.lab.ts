/**
 * Secrets stay secret (issue 6, point 3) on real runs against the lab: the
 * keepalived auth_pass, a sudo password and a token with quotes never show
 * in stdout or stderr — first run with --diff -v, a re-run with --json -v
 * --diff, --check --diff over a drifted config, and failing runs whose
 * errors carry the secrets. Not even a piece of one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import type { LabProfile } from '../../lib/lab/index.ts';
import { connectLab, eventsOf, freshLab, labDown, playCli, recapOf } from '../support/lab.ts';
import { API_TOKEN, AUTH_PASS, SUDO_PASSWORD } from '../fixtures/inventory/secrets.ts';

const INV = 'spec/fixtures/inventory/secrets.ts';
const HOSTS = ['LB1', 'LB2', 'RS1', 'RS2'];
/**
 * Each secret as written, shell-quoted (-v shows quoted arguments) and JSON-escaped,
 * and its first five characters: a cut through a secret must not leave its start either.
 */
const LEAKS = [AUTH_PASS, SUDO_PASSWORD, API_TOKEN].flatMap((s) => [s, s.replace(/'/g, `'\\''`), JSON.stringify(s).slice(1, -1), s.slice(0, 5)]);

function assertNoSecret(what: string, r: { stdout: string; stderr: string }): void {
  const all = r.stdout + r.stderr;
  for (const s of LEAKS) {
    const at = all.indexOf(s);
    assert.is(at, -1, `${what}: ${JSON.stringify(s)} in output: …${all.slice(Math.max(0, at - 200), at + 50)}…`);
  }
}

const Secrets = suite('secrets never reach output, on the lab');
let lab: LabProfile | undefined;
const conns = new Map<string, Transport>();

Secrets.after(async () => {
  for (const c of conns.values()) await c.close();
  if (lab) await labDown();
});

Secrets('first run with --diff -v: converges, every secret masked (the keepalived.conf diff included)', async () => {
  lab = await freshLab();
  for (const h of HOSTS) conns.set(h, await connectLab(h, lab));
  // RS2 is reached as `deploy`, whose sudo asks for a password.
  const setup = await conns.get('RS2')!.run([
    'id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy',
    'chpasswd', // reads deploy:PASSWORD from stdin
    'install -d -m 700 -o deploy -g deploy /home/deploy/.ssh',
    'install -m 600 -o deploy -g deploy /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys',
    "echo 'deploy ALL=(ALL:ALL) ALL' > /etc/sudoers.d/deploy && chmod 440 /etc/sudoers.d/deploy",
  ].join(' && '), { stdin: `deploy:${SUDO_PASSWORD}\n` });
  assert.is(setup.code, 0, setup.stderr);

  const r = await playCli(['site', '-i', INV, '--diff', '-v']);
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
  assertNoSecret('first run', r);
  assert.match(r.stdout, /\+\s*auth_pass \*{8}/, 'the diff shows the masked auth_pass line');
  // The secrets are real on the hosts: masking is an output matter only.
  assert.match((await conns.get('LB1')!.run('grep auth_pass /etc/keepalived/keepalived.conf')).stdout, new RegExp(`auth_pass ${AUTH_PASS.replace(/[!]/g, '\\$&')}`));
  assert.is((await conns.get('RS2')!.run('stat -c %U /var/www/html/index.html')).stdout.trim(), 'root');
});

Secrets('a re-run with --json -v --diff: nothing changes, nothing leaks (facts with the config are in -v output)', async () => {
  const r = await playCli(['site', '-i', INV, '--json', '-v', '--diff']);
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
  for (const h of HOSTS) assert.is(recapOf(r.stdout)[h]!.changed, 0, h);
  assertNoSecret('re-run --json -v --diff', r);
  assert.ok(r.stdout.split('\n').some((l) => l.includes('"event":"command"') && l.includes('auth_pass ********')), 'the -v fact output held the config, masked');
});

Secrets('--check --diff and --check --diff -v over a drifted auth_pass line: the diff is shown, the secret is not', async () => {
  await conns.get('LB1')!.run("sed -i 's/auth_pass .*/auth_pass drifted/' /etc/keepalived/keepalived.conf");
  for (const extra of [[], ['-v'], ['--json', '-v']]) {
    const r = await playCli(['site', '-i', INV, '--check', '--diff', ...extra]);
    assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
    assertNoSecret(`--check --diff ${extra.join(' ')}`, r);
    if (extra.includes('--json')) {
      // JSON carries the diff as data: before and after texts.
      const diff = eventsOf(r.stdout).find((e) => e.host === 'LB1' && e.kind === 'keepalived')?.changes.find((c: any) => c.diff)?.diff;
      assert.match(diff?.before ?? '', /auth_pass drifted\n/, JSON.stringify(diff));
      assert.match(diff?.after ?? '', /auth_pass \*{8}\n/, JSON.stringify(diff));
    } else {
      assert.match(r.stdout, /-\s*auth_pass drifted/, r.stdout.slice(0, 3000));
      assert.match(r.stdout, /\+\s*auth_pass \*{8}/, r.stdout.slice(0, 3000));
    }
  }
  const fix = await playCli(['site', '-i', INV, '--diff', '-v', '--role', 'director']);
  assert.is(fix.code, 0, fix.stderr + fix.stdout.slice(-3000));
  assertNoSecret('repair run', fix);
});

Secrets('failing runs whose errors carry the secrets (as root and through sudo): console -v and --json -v', async () => {
  for (const extra of [['-v'], ['--json', '-v'], ['--diff']]) {
    const r = await playCli(['spec/fixtures/playbooks/secrets-fail.ts', '-i', INV, ...extra]);
    assert.is(r.code, 2, r.stderr + r.stdout.slice(-3000));
    assertNoSecret(`failing run ${extra.join(' ')}`, r);
    assert.match(r.stdout, /refused: \*{8} \*{8}/, 'the failure message is there, masked');
    if (extra.includes('--json')) {
      const failed = eventsOf(r.stdout).filter((e) => e.status === 'failed').map((e) => `${e.host} ${e.kind}`).sort();
      assert.equal(failed, ['RS1 command', 'RS1 file', 'RS2 command', 'RS2 file']);
    }
  }
  // The validation failed, so the file never replaced anything.
  assert.is((await conns.get('RS2')!.run('test -e /tmp/play-secret.conf; echo $?')).stdout.trim(), '1');
});

Secrets.run();
