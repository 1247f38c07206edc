/**
 * Bad input is reported whole, before any connection: every problem of an
 * inventory and a playbook with many mistakes, each with its file, host,
 * task and field, in one run, exit 1 (issue 6, point 2). Hostile values in
 * name-like parameters are rejected the same way (point 1, unit level).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli.ts';
import { command, file, template } from '../../lib/tasks/index.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** Any attempt to connect is recorded and fails. */
const cli = (argv: string[]) => runCli(argv, () => 'refuse');

/** The problem lines of a ValidationError, with the fixtures folder shown as `<f>/`. */
const problems = (err: string) => err.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.slice(4).split(fixtures).join('<f>/'));

const PB = '<f>/playbooks/many-mistakes.ts';
const INV = '<f>/inventory/many-mistakes.ts';
const TPL = '<f>/templates/many-mistakes.njk';
const ACCEPTED = 'cmd, creates, removes, chdir, stdin, env, changedWhen, failedWhen, check, title, when, tags, notify, register, ignoreErrors, retries, delay, until, runOnce, delegateTo, facts';

const Bad = suite('bad input: every problem at once, before any connection');

Bad('an inventory and a playbook with many mistakes: all listed with file, host, task and field; exit 1; nothing contacted', async () => {
  const r = await cli([`${fixtures}playbooks/many-mistakes.ts`, '-i', `${fixtures}inventory/many-mistakes.ts`]);
  assert.is(r.code, 1, r.err);
  assert.equal(r.contacted, []);
  assert.is(r.out, '');
  // The cluster is the inventory's: each of its mistakes once, against the file, whatever ran it.
  const cluster = [
    `${INV}: field cluster.virtualRouterId: must be a whole number 1–255, got 300 (role director)`,
    `${INV}: field cluster.auth.pass: is 12 characters; keepalived silently uses only the first 8 (role director)`,
    `${INV}: field cluster.directors.LB2.priority: 100 is also LB1's priority; priorities must differ so one director is MASTER (role director)`,
  ];
  // A role's mistakes are the same on every host it runs on: once, naming the hosts.
  const web = (who: string) => [
    `${INV}: ${who}: field site: is required (role web)`,
    `${PB}: ${who}: task "template /var/www/site.conf": field src: template ${TPL}, line 3, column 9: undefined variable 'owner' in {{ owner.name }}`,
    `${PB}: ${who}: task "command true": field colour: unknown parameter for command (accepted: ${ACCEPTED})`,
    `${PB}: ${who}: task "announce": field notify: no handler named "ghost" (handlers: none)`,
  ];
  assert.equal(problems(r.err), [
    `${INV}: field groups.realservers.hosts: unknown host "RS9" (declared hosts: LB1, LB2, RS1, RS2)`,
    `${INV}: host RS2: field address: 192.0.2.103:22 is also host RS1`,
    `${PB}: field play "directors" hosts: unknown host or group "LB9"`,
    ...cluster,
    ...web('hosts RS1, RS2'),
    // The line and column of the throw, in the user's file, not play's.
    `${PB}:31:58: host RS1: play "broken" threw: this play is broken on purpose`,
  ]);
  assert.match(r.err, /^play: 11 problem\(s\) found before contacting any host:\n/);
  // The 12-character auth_pass is a secret: its length is told, never its value.
  assert.not.match(r.err, /twelve-chars/);
});

Bad('a playbook file that throws: its file and line, and the inventory\'s own problems, in one run; exit 1', async () => {
  const r = await cli([`${fixtures}playbooks/throws.ts`, '-i', `${fixtures}inventory/many-mistakes.ts`]);
  assert.is(r.code, 1, r.err);
  assert.equal(r.contacted, []);
  const lines = problems(r.err);
  assert.match(lines[0]!, /^<f>\/playbooks\/throws\.ts: failed to load: this playbook is broken on purpose/);
  assert.match(r.err, /throws\.ts:1:\d+/);
  assert.equal(lines.slice(1), [
    `${INV}: field groups.realservers.hosts: unknown host "RS9" (declared hosts: LB1, LB2, RS1, RS2)`,
    `${INV}: host RS2: field address: 192.0.2.103:22 is also host RS1`,
  ]);
});

Bad('hostile values in name-like parameters are rejected with their field; nothing contacted', async () => {
  const r = await cli([`${fixtures}playbooks/injection-rejected.ts`, '-i', `${fixtures}inventory/lab-rs1.ts`]);
  assert.is(r.code, 1, r.err);
  assert.equal(r.contacted, []);
  const fields = problems(r.err).map((l) => /task "([^"]+)": field (.+?): /.exec(l)?.slice(1).join(' → '));
  assert.equal(fields, [
    'sysctl name → name', 'sysctl name with a space → name', 'sysctl value → value', 'sysctl file → file',
    'service name → name', 'service dash → name', 'service process → process',
    'apt name → name', 'apt dash → name',
    'file owner and mode → mode', 'file owner and mode → owner', 'file owner and mode → group',
    'file path → path', 'file dots → path', 'template dest → dest',
    'command option as program → cmd[0]', 'command assignment as program → cmd[0]', 'command chdir → chdir',
    'command env name → env.X;touch /tmp/pwned-env', 'command NUL → cmd[1]',
  ]);
  for (const l of problems(r.err)) assert.match(l, /^<f>\/playbooks\/injection-rejected\.ts: host RS1: task "[^"]+": field .+?: \S/, l);
});

Bad('a hostile path or argv word cannot forge report lines: default task names show control characters escaped', () => {
  assert.is(file({ path: '/tmp/a\nok  RS1' }).name, 'file "/tmp/a\\nok  RS1"');
  assert.is(template({ src: '/t.njk', dest: '/tmp/b\rc' }).name, 'template "/tmp/b\\rc"');
  assert.is(command({ cmd: ['printf', 'x\ny'] }).name, 'command "printf x\\ny"');
});

Bad.run();
