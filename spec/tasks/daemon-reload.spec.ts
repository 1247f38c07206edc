import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { daemonReload } from '../../lib/tasks/daemon-reload.ts';
import { execOf } from '../support/plan-harness.ts';
import { sysv, unit } from './service-fixtures.ts';
import { PENDING, planTable, problemTable } from './table.ts';

const Plans = suite('daemonReload: facts → plan');
planTable(Plans, [
  {
    name: 'a unit file changed on disk: reload',
    task: daemonReload({ units: ['lvs-vip'] }), facts: [unit('lvs-vip', { reload: 'yes' })],
    changes: ['reload systemd (lvs-vip.service changed on disk)'],
    then: (plan) => assert.is(execOf(plan.changes[0]), 'systemctl daemon-reload'),
  },
  {
    name: 'first deployment: the start loaded the new unit and enable reloaded systemd: nothing left',
    task: daemonReload({ units: ['lvs-vip'] }), facts: [unit('lvs-vip', { reload: 'no', active: 'active' })],
    changes: [], notes: ['systemd has read the current files of lvs-vip.service'],
  },
  {
    name: 'two units, one stale: one reload naming it',
    task: daemonReload({ units: ['lvs-vip', 'nginx.service'] }), facts: [unit('lvs-vip', {}), unit('nginx.service', { reload: 'yes' }, 'nginx')],
    changes: ['reload systemd (nginx.service changed on disk)'],
  },
  {
    name: 'no such unit, nothing pending: no reload (it would change nothing), and it says so',
    task: daemonReload({ units: ['gone'] }), facts: [unit('gone', { load: 'not-found', active: 'inactive', file: '' })],
    changes: [], notes: ['systemd has read the current files of gone.service (gone.service: no such unit)'],
  },
  {
    name: 'check mode, the unit file not written yet: a predicted reload',
    task: daemonReload({ units: ['lvs-vip'] }), pending: PENDING, facts: [unit('lvs-vip', { load: 'not-found', active: 'inactive', file: '' })],
    changes: ['reload systemd (lvs-vip.service not written yet)'],
    predicted: [/systemd would be reloaded once lvs-vip\.service is written by an earlier change/],
  },
  {
    name: 'without systemd: nothing to reload',
    task: daemonReload({ units: ['lvs-vip'] }), facts: [sysv('lvs-vip', {})],
    changes: [], notes: ['PID 1 is not systemd: nothing to reload'],
  },
]);
Plans.run();

const Problems = suite('daemonReload: parameter problems');
problemTable(Problems, [
  { name: 'no units', task: daemonReload({ units: [] }), problems: [['units', /non-empty list of unit names/]] },
  { name: 'not a list', task: daemonReload({ units: 'lvs-vip' as never }), problems: [['units', /non-empty list of unit names/]] },
  { name: 'a command in a unit name', task: daemonReload({ units: ['ok', 'x; reboot'] }), problems: [['units[1]', /unit name/]] },
]);
Problems.run();
