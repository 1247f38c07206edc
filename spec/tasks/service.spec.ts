import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Change } from '../../lib/core/change.ts';
import { quote } from '../../lib/core/shell.ts';
import { service } from '../../lib/tasks/service.ts';
import { applyLocally, planLocally, scratch } from './local-host.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { sysv, unit } from './service-fixtures.ts';
import { execOf } from '../support/plan-harness.ts';

const KA = 'keepalived';

const Plans = suite('service: facts → plan');
planTable(Plans, [
  { name: 'running and enabled: one no-op sentence', task: service({ name: KA, state: 'started', enabled: true }), facts: [unit(KA, { active: 'active' })], changes: [], notes: ['keepalived is running and enabled'] },
  {
    name: 'stopped and disabled: start (confirmed, journal on failure), then enable',
    task: service({ name: KA, state: 'started', enabled: true }), facts: [unit(KA, { active: 'inactive', file: 'disabled' })],
    changes: ['start keepalived', 'enable keepalived'],
    then: (plan) => {
      const [start, enable] = plan.changes;
      assert.ok(execOf(start).startsWith('systemctl start keepalived.service || {'));
      assert.ok(execOf(start).includes('systemctl is-active keepalived.service'));
      assert.ok(execOf(start).includes('journalctl -u keepalived.service -n 20 --no-pager >&2'));
      assert.is(execOf(enable), 'systemctl enable keepalived.service');
      assert.match(start!.failMessage!({ code: 1, stdout: '', stderr: "keepalived.service is failed after start, not active; its last log lines:\nIPVS: Can't initialize ipvs\n" }), /start keepalived failed \(exit 1\):\n.*is failed after start.*\nIPVS: Can't initialize ipvs/s);
    },
  },
  { name: 'after start and enable: no-op (idempotent)', task: service({ name: KA, state: 'started', enabled: true }), facts: [unit(KA, { active: 'active', file: 'enabled' })], changes: [] },
  { name: 'failed unit: started again', task: service({ name: KA, state: 'started' }), facts: [unit(KA, { active: 'failed' })], changes: ['start keepalived'] },
  { name: 'stopped wanted, running: stop', task: service({ name: 'apache2', state: 'stopped', enabled: false }), facts: [unit('apache2', { active: 'active', file: 'enabled' })], changes: ['stop apache2', 'disable apache2'] },
  { name: 'stopped wanted, stopped: no-op', task: service({ name: 'apache2', state: 'stopped', enabled: false }), facts: [unit('apache2', { active: 'inactive', file: 'disabled' })], changes: [], notes: ['apache2 is stopped and disabled'] },
  { name: 'restarted is an action: always a change', task: service({ name: KA, state: 'restarted' }), facts: [unit(KA, { active: 'active' })], changes: ['restart keepalived'] },
  { name: 'reloaded while running: reload', task: service({ name: 'nginx', state: 'reloaded' }), facts: [unit('nginx', { active: 'active' })], changes: ['reload nginx'] },
  { name: 'reloaded while stopped: start instead', task: service({ name: 'nginx', state: 'reloaded' }), facts: [unit('nginx', { active: 'inactive' })], changes: ['start nginx (it was not running, so reload would do nothing)'] },
  { name: 'unit changed on disk: daemon-reload first', task: service({ name: 'lvs-vip', state: 'started' }), facts: [unit('lvs-vip', { active: 'inactive', reload: 'yes' })], changes: ['reload systemd (lvs-vip.service changed on disk)', 'start lvs-vip'] },
  { name: 'unit missing when applying: refused', task: service({ name: 'nginx', state: 'started', enabled: true }), facts: [unit('nginx', { load: 'not-found', active: 'inactive', file: '' })], error: /^unit nginx\.service not found$/ },
  {
    name: 'unit missing in check mode after apt would install it: predicted, not failed',
    task: service({ name: 'nginx', state: 'started', enabled: true }), pending: PENDING, facts: [unit('nginx', { load: 'not-found', active: 'inactive', file: '' })],
    changes: ['start nginx', 'enable nginx'],
    predicted: ['nginx would be started; its unit does not exist yet, expected from an earlier change', 'nginx would be enabled; its unit does not exist yet, expected from an earlier change'],
  },
  { name: 'missing unit, stopped wanted: nothing to do', task: service({ name: 'nginx', state: 'stopped' }), facts: [unit('nginx', { load: 'not-found', active: 'inactive', file: '' })], changes: [], notes: ['nginx is stopped (unit nginx.service does not exist)'] },
  { name: 'masked unit: refused', task: service({ name: 'nginx', state: 'started' }), facts: [unit('nginx', { load: 'masked', active: 'inactive', file: 'masked' })], error: /unit nginx\.service is masked/ },
  { name: 'static unit: nothing to enable', task: service({ name: 'systemd-journald', enabled: true }), facts: [unit('systemd-journald', { file: 'static' })], changes: [], notes: ['systemd-journald is static (started by dependency, not enabled by itself)'] },
  {
    name: 'an escaped unit name is quoted in every command',
    task: service({ name: 'sys\\x2dfoo', state: 'restarted' }), facts: [unit('sys\\x2dfoo', { active: 'active' })], changes: ['restart sys\\x2dfoo'],
    then: (plan) => {
      assert.ok(execOf(plan.changes[0]).startsWith(`systemctl restart 'sys\\x2dfoo.service' || {`));
      assert.not.ok(/[^']sys\\x2dfoo/.test(execOf(plan.changes[0]).replace(/'sys\\x2dfoo\.service'/g, '')), 'never unquoted');
    },
  },
  { name: 'sysv: running (pgrep) and started at boot', task: service({ name: KA, state: 'started', enabled: true }), facts: [sysv(KA, { running: true, boot: true })], changes: [], notes: ['keepalived is running and enabled'] },
  {
    name: 'sysv: not running: init script, then the process is checked',
    task: service({ name: KA, state: 'started', enabled: true }), facts: [sysv(KA, { running: false, boot: false })],
    changes: ['start keepalived', 'enable keepalived'],
    then: (plan) => {
      assert.ok(execOf(plan.changes[0]).startsWith('out=$(service keepalived start 2>&1); rc=$?'));
      assert.ok(execOf(plan.changes[0]).includes('pgrep -x keepalived'));
      assert.is(execOf(plan.changes[1]), 'update-rc.d keepalived defaults && update-rc.d keepalived enable');
    },
  },
  { name: 'sysv: process name given', task: service({ name: 'php8.2-fpm', state: 'started', process: 'php-fpm8.2' }), facts: [sysv('php8.2-fpm', { running: true }, 'php-fpm8.2')], changes: [], notes: ['php8.2-fpm is running'] },
  { name: 'sysv: no init script when applying: refused', task: service({ name: 'nginx', state: 'started' }), facts: [sysv('nginx', { script: false })], error: /init script \/etc\/init\.d\/nginx not found/ },
  { name: 'sysv: no init script in check mode: predicted', task: service({ name: 'nginx', state: 'started' }), pending: PENDING, facts: [sysv('nginx', { script: false })], changes: ['start nginx'], predicted: [/nginx would be started; its init script does not exist yet/] },
]);
Plans.run();

const Problems = suite('service: parameter problems');
problemTable(Problems, [
  { name: 'a second command in the name', task: service({ name: 'nginx; reboot', state: 'started' }), problems: [['name', /service or unit name/]] },
  { name: 'command substitution', task: service({ name: '$(reboot)', state: 'started' }), problems: [['name', /service or unit name/]] },
  { name: 'an option as a name', task: service({ name: '--now', state: 'started' }), problems: [['name', /service or unit name/]] },
  { name: 'a space', task: service({ name: 'my service', state: 'started' }), problems: [['name', /service or unit name/]] },
  { name: 'bad state', task: service({ name: 'nginx', state: 'running' as never }), problems: [['state', /must be one of 'started', 'stopped', 'restarted', 'reloaded', got the string "running"/]] },
  { name: 'nothing to do', task: service({ name: 'nginx' }), problems: [['state', /give state, enabled, or both/]] },
  { name: 'enabled not a boolean', task: service({ name: 'nginx', enabled: 'yes' as never }), problems: [['enabled', /true or false/]] },
  { name: 'a path as process name', task: service({ name: 'nginx', state: 'started', process: '/usr/sbin/nginx' }), problems: [['process', /process name/]] },
]);
Problems.run();

// ---- The confirmation logic, run for real with fake systemctl/journalctl/service/pgrep ----

const Confirm = suite('service: acting and confirming, run with /bin/sh');

/** A directory of fake tools: `systemctl is-active` answers the given states in turn (the last repeats). */
function fakeTools(dir: string, states: string[], o: { startFails?: boolean; initOutput?: string; pgrep?: boolean; type?: string } = {}) {
  writeFileSync(join(dir, 'states'), `${states.join('\n')}\n`);
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  tool('systemctl', `case "$1" in
  is-active) n=$(cat "${dir}/n" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "${dir}/n"
    s=$(sed -n "\${n}p" "${dir}/states"); [ -n "$s" ] || s=$(tail -n 1 "${dir}/states"); echo "$s"; [ "$s" = active ];;
  start|restart|reload) ${o.startFails ? 'echo "Job for $2 failed." >&2; exit 1' : 'exit 0'};;
  show) echo ${o.type ?? 'simple'};;
  *) exit 0;;
esac`);
  tool('journalctl', `echo "Keepalived_vrrp[42]: IPVS: Can't initialize ipvs: Protocol not available"`);
  tool('service', `echo ${quote(o.initOutput ?? 'Starting keepalived: done.')}; exit 0`);
  tool('pgrep', o.pgrep ? 'exit 0' : 'exit 1');
}

async function runWith(dir: string, change: Change) {
  return applyLocally({ summary: change.summary, exec: `PATH=${quote(dir)}:$PATH; export PATH\n${execOf(change)}` }, change.stdin);
}

async function planned(facts: ReturnType<typeof unit> | ReturnType<typeof sysv>, state: 'started' | 'stopped' | 'restarted') {
  const { planAgainst } = await import('../support/plan-harness.ts');
  const { plan } = await planAgainst(service({ name: KA, state }), { facts: [facts] });
  return plan.changes[0]!;
}

Confirm('a daemon that stays active is confirmed (in under a second)', async () => {
  const s = scratch('service');
  try {
    fakeTools(s.dir, ['active']);
    const t0 = Date.now();
    const r = await runWith(s.dir, await planned(unit(KA, { active: 'inactive' }), 'started'));
    assert.is(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 < 1500);
  } finally {
    s.done();
  }
});

// A oneshot unit: what `systemctl is-active` says after the start, the exit code, and how many times the state was read (where it matters).
const oneshotRows: Array<[string, string[], number, string | undefined]> = [
  ['active after its start: confirmed at once, one state read, no polls', ['active'], 0, '1'],
  ['not active after its start: confirmed as any other (and fails here)', ['failed'], 1, undefined],
];
for (const [name, states, code, reads] of oneshotRows) {
  Confirm(`a oneshot unit ${name}`, async () => {
    const s = scratch('service');
    try {
      fakeTools(s.dir, states, { type: 'oneshot' });
      const r = await runWith(s.dir, await planned(unit(KA, { active: 'inactive' }), 'started'));
      assert.is(r.code, code, r.stderr);
      if (code) assert.match(r.stderr, /keepalived\.service is failed after start, not active/);
      if (reads) assert.is(readFileSync(join(s.dir, 'n'), 'utf8').trim(), reads);
    } finally {
      s.done();
    }
  });
}

Confirm('a daemon that dies right after a successful start fails, with its log lines', async () => {
  const s = scratch('service');
  try {
    fakeTools(s.dir, ['active', 'active', 'failed']);
    const change = await planned(unit(KA, { active: 'inactive' }), 'started');
    const r = await runWith(s.dir, change);
    assert.is(r.code, 1);
    assert.match(r.stderr, /keepalived\.service is failed after start, not active/);
    assert.match(change.failMessage!(r), /IPVS: Can't initialize ipvs/);
  } finally {
    s.done();
  }
});

Confirm('a slow starter (activating) is waited for', async () => {
  const s = scratch('service');
  try {
    fakeTools(s.dir, ['activating', 'activating', 'activating', 'active']);
    const r = await runWith(s.dir, await planned(unit(KA, { active: 'inactive' }), 'restarted'));
    assert.is(r.code, 0, r.stderr);
  } finally {
    s.done();
  }
});

Confirm('systemctl itself failing prints the journal and keeps its exit code', async () => {
  const s = scratch('service');
  try {
    fakeTools(s.dir, ['failed'], { startFails: true });
    const r = await runWith(s.dir, await planned(unit(KA, { active: 'inactive' }), 'started'));
    assert.is(r.code, 1);
    assert.match(r.stderr, /Job for keepalived.service failed\.\nKeepalived_vrrp\[42\]: IPVS/);
  } finally {
    s.done();
  }
});

Confirm('an init script that says 0 while the daemon is dead is caught by pgrep', async () => {
  const s = scratch('service');
  try {
    fakeTools(s.dir, [], { initOutput: 'Starting keepalived: failed!', pgrep: false });
    const r = await runWith(s.dir, await planned(sysv(KA, { running: false }), 'started'));
    assert.is(r.code, 1);
    assert.match(r.stderr, /Starting keepalived: failed!\nprocess keepalived is not running after start \(init script exit 0\)/);
  } finally {
    s.done();
  }
});

Confirm('an init script whose daemon runs is confirmed', async () => {
  const s = scratch('service');
  try {
    fakeTools(s.dir, [], { pgrep: true });
    const r = await runWith(s.dir, await planned(sysv(KA, { running: false }), 'started'));
    assert.is(r.code, 0, r.stderr);
  } finally {
    s.done();
  }
});

Confirm('the fact runs here (no systemd as PID 1 on this controller): hostile process names stay literal', async () => {
  if (existsSync('/run/systemd/system')) return; // a systemd controller answers the other branch
  const hostile = service({ name: 'nosuchservice', state: 'started', process: "a$(touch${IFS}PWNED)`touch${IFS}PWNED2`;'q\"" });
  const plan = await planLocally(hostile, { pending: PENDING });
  assert.equal(plan.changes.map((c) => c.summary), ['start nosuchservice']);
  assert.match(plan.changes[0]!.predicted!, /init script does not exist yet/);
  assert.not.ok(existsSync('PWNED') || existsSync('PWNED2'));
  // This test runs in node, so a process named node exists: the pattern is literal but does match.
  const node = await planLocally(service({ name: 'nosuchservice', state: 'stopped', process: 'node' }), { pending: PENDING });
  assert.equal(node.changes.map((c) => c.summary), ['stop nosuchservice']);
});
Confirm.run();
