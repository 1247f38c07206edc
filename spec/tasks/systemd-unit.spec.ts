import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileState, fileText } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { serviceState } from '../../lib/tasks/service-facts.ts';
import { systemdUnit } from '../../lib/tasks/systemd-unit.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

const UNIT = '[Unit]\nDescription=VIP on lo\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/sbin/ip addr add 192.168.56.200/32 dev lo\n[Install]\nWantedBy=multi-user.target\n';
const F = '/etc/systemd/system/lvs-vip.service';
const file = (path: string, content: string | undefined, parent = true) => ({
  cmd: fileState(path).command,
  stdout: content === undefined ? `type=missing\nparent=${parent ? 'yes' : 'no'}\n` : `type=file\nstat=644 0 0 ${content.length} root root\nsha256=${sha256(content)}  -\nparent=yes\n`,
});
/** `systemctl show` as systemd prints it. */
const unit = (name: string, o: { load?: string; active?: string; file?: string; reload?: string } = {}) => ({
  cmd: serviceState(name, name).command,
  stdout: `init=systemd\nNeedDaemonReload=${o.reload ?? 'no'}\nLoadState=${o.load ?? 'loaded'}\nActiveState=${o.active ?? 'active'}\nSubState=x\nUnitFileState=${o.file ?? 'enabled'}\n`,
});
const vip = (over: object = {}) => systemdUnit({ name: 'lvs-vip', content: UNIT, state: 'started', enabled: true, ...over });

const Plans = suite('systemdUnit: facts → plan');
planTable(Plans, [
  {
    name: 'fresh host: the file, daemon-reload, enable, start — in that order, as one task',
    task: vip(), facts: [file(F, undefined), unit('lvs-vip', { load: 'not-found', active: 'inactive', file: '' })],
    changes: ['write /etc/systemd/system/lvs-vip.service (mode 0644)', 'reload systemd (/etc/systemd/system/lvs-vip.service changed)', 'enable lvs-vip.service', 'start lvs-vip.service'],
    then: (plan) => {
      assert.is(plan.changes[0]!.stdin, UNIT);
      assert.is(execOf(plan.changes[1]), 'systemctl daemon-reload');
      // The runner notes the start: a restart handler notified before it has nothing to do.
      assert.equal(plan.changes.map((c) => c.starts), [undefined, undefined, undefined, 'lvs-vip.service']);
      assert.ok(execOf(plan.changes[3]).includes('systemctl is-active lvs-vip.service'), 'the start is confirmed, as the service task does');
    },
  },
  {
    name: 'converged: no-op with every reason',
    task: vip(), facts: [file(F, UNIT), unit('lvs-vip')], changes: [],
    notes: ['/etc/systemd/system/lvs-vip.service is up to date', 'lvs-vip.service is enabled', 'lvs-vip.service is running'],
  },
  {
    name: 'the file changed while running: write, reload, restart on the new definition',
    task: vip(), facts: [file(F, 'old'), unit('lvs-vip')],
    changes: ['write /etc/systemd/system/lvs-vip.service (mode 0644)', 'reload systemd (/etc/systemd/system/lvs-vip.service changed)', 'restart lvs-vip.service (it ran the old definition)'],
  },
  {
    name: 'restartOnChange false: written and reloaded, left running',
    task: vip({ restartOnChange: false }), facts: [file(F, 'old'), unit('lvs-vip')],
    changes: ['write /etc/systemd/system/lvs-vip.service (mode 0644)', 'reload systemd (/etc/systemd/system/lvs-vip.service changed)'], notes: ['lvs-vip.service is enabled', 'lvs-vip.service is running'],
  },
  {
    name: 'systemd says the unit is stale (edited by hand): reload and restart',
    task: vip(), facts: [file(F, UNIT), unit('lvs-vip', { reload: 'yes' })],
    changes: ['reload systemd (lvs-vip.service changed on disk)', 'restart lvs-vip.service (it ran the old definition)'],
  },
  {
    name: 'a drop-in whose directory is missing: mkdir, then the write (certain, not predicted), reload, restart',
    task: systemdUnit({ name: 'nginx', dropIn: 'limits', content: '[Service]\nLimitNOFILE=65536\n', state: 'started' }),
    facts: [file('/etc/systemd/system/nginx.service.d/limits.conf', undefined, false), unit('nginx')],
    changes: ['create directory /etc/systemd/system/nginx.service.d', 'write /etc/systemd/system/nginx.service.d/limits.conf (mode 0644)', 'reload systemd (/etc/systemd/system/nginx.service.d/limits.conf changed)', 'restart nginx.service (it ran the old definition)'],
  },
  {
    name: 'a drop-in for a unit not installed, when applying: refused',
    task: systemdUnit({ name: 'nginx', dropIn: 'limits', content: '[Service]\n' }), facts: [file('/etc/systemd/system/nginx.service.d/limits.conf', undefined, false), unit('nginx', { load: 'not-found', active: 'inactive', file: '' })],
    error: /unit nginx\.service not found/,
  },
  {
    name: '…and in check mode after apt would install it: its start predicted',
    task: systemdUnit({ name: 'nginx', dropIn: 'limits', content: '[Service]\n', state: 'started' }), pending: PENDING,
    facts: [file('/etc/systemd/system/nginx.service.d/limits.conf', undefined, false), unit('nginx', { load: 'not-found', active: 'inactive', file: '' })],
    changes: ['create directory /etc/systemd/system/nginx.service.d', 'write /etc/systemd/system/nginx.service.d/limits.conf (mode 0644)', 'reload systemd (/etc/systemd/system/nginx.service.d/limits.conf changed)', 'start nginx.service'],
    predicted: [undefined, undefined, undefined, 'nginx.service does not exist yet, expected from an earlier change'],
  },
  {
    name: 'absent: stop, disable, remove the file, reload',
    task: systemdUnit({ name: 'lvs-vip', state: 'absent' }), facts: [file(F, UNIT), unit('lvs-vip')],
    changes: ['stop lvs-vip.service', 'disable lvs-vip.service', 'remove /etc/systemd/system/lvs-vip.service', 'reload systemd'],
    then: (plan) => assert.is(plan.changes[0]!.stops, 'lvs-vip.service'),
  },
  { name: 'absent and gone: no-op', task: systemdUnit({ name: 'lvs-vip', state: 'absent' }), facts: [file(F, undefined), unit('lvs-vip', { load: 'not-found', active: 'inactive', file: '' })], changes: [], notes: ['/etc/systemd/system/lvs-vip.service is absent'] },
  {
    name: 'a host without systemd: refused, naming the service task',
    task: vip(), facts: [file(F, undefined), { cmd: serviceState('lvs-vip', 'lvs-vip').command, stdout: 'init=sysv\nscript=no\nrunning=no\nboot=no\n' }], error: /does not run systemd/,
  },
  {
    name: 'with --diff the old text is read in the same round trip',
    task: vip(), wantDiff: true, facts: [file(F, 'old\n'), unit('lvs-vip'), { cmd: fileText(F).command, stdout: 'old\n' }],
    changes: ['write /etc/systemd/system/lvs-vip.service (mode 0644)', 'reload systemd (/etc/systemd/system/lvs-vip.service changed)', 'restart lvs-vip.service (it ran the old definition)'],
    then: (plan) => assert.equal(plan.changes[0]!.diff, { path: F, before: 'old\n', after: UNIT }),
  },
]);
Plans.run();

const Problems = suite('systemdUnit: parameter problems');
problemTable(Problems, [
  { name: 'no text', task: systemdUnit({ name: 'x', state: 'started' }), problems: [['content', /give the unit text/]] },
  { name: 'content and src', task: systemdUnit({ name: 'x', content: 'a', src: '/t.njk' }), problems: [['src', /not both/]] },
  { name: 'a hostile unit name', task: systemdUnit({ name: 'x; reboot', content: 'a' }), problems: [['name', /a unit name/]] },
  { name: 'a drop-in name with a slash', task: systemdUnit({ name: 'x', dropIn: '../evil', content: 'a' }), problems: [['dropIn', /a drop-in name/]] },
  { name: 'absent with content', task: systemdUnit({ name: 'x', state: 'absent', content: 'a' }), problems: [['content', /does not apply to state 'absent'/]] },
  { name: 'a template that is not there', task: systemdUnit({ name: 'x', src: '/nonexistent/play.njk' }), problems: [['src', /not found/]] },
]);
Problems.run();
