/**
 * #17, the first run: a restart handler has nothing to do for a service
 * whose start came after the change that notified it (the start read the
 * new config). It still restarts a service that ran before the change, or
 * that was started before it. Each row: what the service was before the
 * run, the play's tasks in order, and what the handler did; in check mode
 * the same prediction. Fake hosts answer the service's fact and the
 * commands; a command nobody scripted fails the row.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { ConsoleReporter } from '../../lib/report/console.ts';
import type { Play } from '../../lib/dsl/playbook.ts';
import { command } from '../../lib/tasks/command.ts';
import { systemctlCommand } from '../../lib/tasks/service-commands.ts';
import { serviceState } from '../../lib/tasks/service-facts.ts';
import { service } from '../../lib/tasks/service.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runOnFakes } from '../support/fake-run.ts';

type Vars = Record<string, never>;
const SVC = 'lvs-vip';
const NOTE = `${SVC} started after the change that notified this handler: no restart needed`;

/** `systemctl show` as systemd prints it. */
const show = (active: string) => `init=systemd\nNeedDaemonReload=no\nLoadState=loaded\nActiveState=${active}\nSubState=${active === 'active' ? 'running' : 'dead'}\nUnitFileState=enabled\n`;

/** A host whose service is `active` or `inactive`, and changes as the commands it runs say. */
function host(initially: 'active' | 'inactive'): Scripted[] {
  const fact: Scripted = { cmd: serviceState(SVC, SVC).command, stdout: show(initially) };
  const becomes = (active: string) => () => { fact.stdout = show(active); };
  return [
    fact,
    { cmd: 'write config' },
    { cmd: 'write other config' },
    { cmd: systemctlCommand(SVC, 'start'), effect: becomes('active') },
    { cmd: systemctlCommand(SVC, 'stop'), effect: becomes('inactive') },
    { cmd: systemctlCommand(SVC, 'restart'), effect: becomes('active') },
  ];
}

type Step = 'config' | 'other config' | 'start' | 'stop';
const TASKS: Record<Step, () => ReturnType<typeof service | typeof command>> = {
  config: () => command({ title: 'config', cmd: 'write config', notify: `restart ${SVC}` }),
  'other config': () => command({ title: 'other config', cmd: 'write other config', notify: `restart ${SVC}` }),
  start: () => service({ name: SVC, state: 'started' }),
  stop: () => service({ name: SVC, state: 'stopped' }),
};

interface Row {
  name: string;
  before: 'active' | 'inactive';
  tasks: Step[];
  check?: boolean;
  /** The handler's status and, when ok, its note. */
  handler: 'ok' | 'changed';
  /** Commands applied, in order (fact reads left out). */
  applied: string[];
}

const ROWS: Row[] = [
  {
    name: 'started after the notifying change: no restart, ok with a note',
    before: 'inactive', tasks: ['config', 'start'], handler: 'ok',
    applied: ['write config', `systemctl start ${SVC}`],
  },
  {
    name: 'running before the change: restarted',
    before: 'active', tasks: ['config', 'start'], handler: 'changed',
    applied: ['write config', `systemctl restart ${SVC}`],
  },
  {
    name: 'started before the notifying change: restarted',
    before: 'inactive', tasks: ['start', 'config'], handler: 'changed',
    applied: [`systemctl start ${SVC}`, 'write config', `systemctl restart ${SVC}`],
  },
  {
    name: 'started between two notifying changes: restarted (the second came after the start)',
    before: 'inactive', tasks: ['config', 'start', 'other config'], handler: 'changed',
    applied: ['write config', `systemctl start ${SVC}`, 'write other config', `systemctl restart ${SVC}`],
  },
  {
    name: 'started after the change, then stopped again: restarted (which starts it)',
    before: 'inactive', tasks: ['config', 'start', 'stop'], handler: 'changed',
    applied: ['write config', `systemctl start ${SVC}`, `systemctl stop ${SVC}`, `systemctl restart ${SVC}`],
  },
  {
    name: 'check mode, started after the notifying change: predicts no restart',
    before: 'inactive', tasks: ['config', 'start'], check: true, handler: 'ok', applied: [],
  },
  {
    name: 'check mode, running before the change: predicts the restart',
    before: 'active', tasks: ['config', 'start'], check: true, handler: 'changed', applied: [],
  },
  {
    name: 'check mode, started before the notifying change: predicts the restart',
    before: 'inactive', tasks: ['start', 'config'], check: true, handler: 'changed', applied: [],
  },
];

const FirstStart = suite('handlers: no restart of a service first started after the change');

for (const row of ROWS) {
  FirstStart(row.name, async () => {
    const inv = defineInventory<Vars>({ vars: {}, hosts: { RS1: { address: '192.0.2.11' } } });
    const plays: Play<Vars>[] = [{
      name: 'p', hosts: 'RS1',
      tasks: () => row.tasks.map((s) => TASKS[s]()),
      handlers: () => [service({ title: `restart ${SVC}`, name: SVC, state: 'restarted' })],
    }];
    const { reporter, hosts } = await runOnFakes(inv, plays, () => host(row.before), { check: row.check });
    const handler = reporter.results.find((r) => r.handler)!;
    assert.ok(handler, 'the handler was notified and ran');
    assert.is(handler.status, row.handler);
    if (row.handler === 'ok') {
      assert.equal(handler.notes, [NOTE]);
      assert.equal(handler.changes, []);
    } else {
      assert.equal(handler.changes.map((c) => c.summary), [`restart ${SVC}`]);
      assert.is(handler.changes[0]!.planned, row.check ? true : undefined);
    }
    // The first line of each applied command: what systemctl was asked to do.
    assert.equal(hosts.get('RS1')!.applied.map((c) => c.split('\n')[0]!.replace(/\.service.*$/, '')), row.applied);
    assert.not.ok(reporter.results.some((r) => r.status === 'failed'), 'nothing failed');
  });
}

FirstStart('apply and check mode agree, row by row (where check mode can follow the host: not a stop after a predicted start)', async () => {
  for (const row of ROWS.filter((r) => !r.check && !r.tasks.includes('stop'))) {
    const run = async (check: boolean) => {
      const inv = defineInventory<Vars>({ vars: {}, hosts: { RS1: { address: '192.0.2.11' } } });
      const plays: Play<Vars>[] = [{
        name: 'p', hosts: 'RS1',
        tasks: () => row.tasks.map((s) => TASKS[s]()),
        handlers: () => [service({ title: `restart ${SVC}`, name: SVC, state: 'restarted' })],
      }];
      const { reporter } = await runOnFakes(inv, plays, () => host(row.before), { check });
      return reporter.results.map((r) => `${r.status} ${r.task} ${r.notes.join('; ')}`.trim());
    };
    assert.equal(await run(true), await run(false), row.name);
  }
});

FirstStart('-v shows why the handler did not restart', async () => {
  const inv = defineInventory<Vars>({ vars: {}, hosts: { RS1: { address: '192.0.2.11' } } });
  const plays: Play<Vars>[] = [{
    name: 'p', hosts: 'RS1', tasks: () => [TASKS.config(), TASKS.start()],
    handlers: () => [service({ title: `restart ${SVC}`, name: SVC, state: 'restarted' })],
  }];
  const { reporter } = await runOnFakes(inv, plays, () => host('inactive'));
  let text = '';
  const out = new ConsoleReporter({ write: (s: string) => { text += s; }, verbose: true, diff: false, color: false });
  out.runStart({ playbook: 'pb', check: false, hosts: ['RS1'] });
  out.taskResult(reporter.results.find((r) => r.handler)!);
  assert.match(text, new RegExp(`RS1 +ok +handler: restart ${SVC} .*\\n +${NOTE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
});

FirstStart.run();
