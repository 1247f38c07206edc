/**
 * #17: each host's facts for every play of the run are read once, as the run
 * starts, and serve later plays and later rolling batches until the first
 * change applied on any host (or the first retry); after that, a play or
 * batch that starts reads afresh, even on a host that changed nothing. Each
 * row: hosts A, B, C with a service each (running or not), the plays, and
 * how many fact round trips each host saw; every row also checks the tasks'
 * outcomes, so a fact served stale would show as a wrong status.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostView } from '../../lib/core/host.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import type { Play } from '../../lib/dsl/playbook.ts';
import { parseBatchScript } from '../../lib/engine/fact-batch.ts';
import { command } from '../../lib/tasks/command.ts';
import { systemctlCommand } from '../../lib/tasks/service-commands.ts';
import { serviceState } from '../../lib/tasks/service-facts.ts';
import { service } from '../../lib/tasks/service.ts';
import type { Scripted } from '../support/fake-transport.ts';
import { runOnFakes } from '../support/fake-run.ts';

type Vars = Record<string, never>;
const inventory = () => defineInventory<Vars>({
  vars: {},
  hosts: { A: { address: '192.0.2.1', groups: ['web'] }, B: { address: '192.0.2.2', groups: ['web'] }, C: { address: '192.0.2.3', groups: ['web'] } },
});

const show = (active: boolean) => `init=systemd\nNeedDaemonReload=no\nLoadState=loaded\nActiveState=${active ? 'active' : 'inactive'}\nSubState=${active ? 'running' : 'dead'}\nUnitFileState=enabled\n`;

/** A host whose units `svc` and `other` run or not, as the commands it runs say; `log` gets its fact reads and probes in order. */
function host(name: string, running: { svc: boolean; other?: boolean }, log: string[]): Scripted[] {
  const facts = (['svc', 'other'] as const).map((u) => ({ cmd: serviceState(u, u).command, stdout: show(running[u] ?? true), effect: () => { if (u === 'svc') log.push(`${name} read`); } }));
  return [
    ...facts,
    { cmd: 'probe', effect: () => log.push(`${name} probe`) },
    ...facts.map((f, i) => ({ cmd: systemctlCommand(i === 0 ? 'svc' : 'other', 'start'), effect: () => { f.stdout = show(true); } })),
    { cmd: 'touch /etc/changed' },
    { cmd: 'false', code: 1 },
  ];
}

const started = (name = 'svc') => service({ name, state: 'started' });
/** A read-only command: it changes nothing, so the facts read before it still serve. */
const probe = () => command({ title: 'probe', cmd: 'probe', check: 'run', changedWhen: () => false });

interface Row {
  name: string;
  hosts: Record<'A' | 'B' | 'C', { svc: boolean; other?: boolean }>;
  plays: Play<Vars>[];
  check?: boolean;
  /** Fact round trips per host. */
  reads: Record<string, number>;
  /** The order of fact reads and probes across hosts, where it matters. */
  order?: string[];
  /** Each task's play, host and status: "one: A ok", … */
  statuses: string[];
}

const rows: Row[] = [
  {
    name: 'two plays, nothing to change: one read per host for both',
    hosts: { A: { svc: true }, B: { svc: true }, C: { svc: true } },
    plays: [{ name: 'one', hosts: 'web', tasks: () => [started()] }, { name: 'two', hosts: 'web', tasks: () => [started('other')] }],
    reads: { A: 1, B: 1, C: 1 },
    statuses: ['one: A ok', 'one: B ok', 'one: C ok', 'two: A ok', 'two: B ok', 'two: C ok'],
  },
  {
    name: 'a rolling play, nothing to change: every batch is read as the run starts, not one after another',
    hosts: { A: { svc: true }, B: { svc: true }, C: { svc: true } },
    plays: [{ name: 'roll', hosts: 'web', serial: 1, tasks: () => [started(), probe()] }],
    reads: { A: 1, B: 1, C: 1 },
    order: ['A read', 'B read', 'C read', 'A probe', 'B probe', 'C probe'],
    statuses: ['roll: A ok', 'roll: A ok', 'roll: B ok', 'roll: B ok', 'roll: C ok', 'roll: C ok'],
  },
  {
    name: 'a rolling play whose first batch changes: the later batches read afresh',
    hosts: { A: { svc: false }, B: { svc: true }, C: { svc: false } },
    plays: [{ name: 'roll', hosts: 'web', serial: 1, tasks: () => [started()] }],
    reads: { A: 1, B: 2, C: 2 },
    statuses: ['roll: A changed', 'roll: B ok', 'roll: C changed'],
  },
  {
    name: 'check mode: nothing is applied, so the run-start read serves every batch',
    hosts: { A: { svc: false }, B: { svc: true }, C: { svc: false } },
    plays: [{ name: 'roll', hosts: 'web', serial: 1, tasks: () => [started()] }],
    check: true,
    reads: { A: 1, B: 1, C: 1 },
    statuses: ['roll: A changed', 'roll: B ok', 'roll: C changed'],
  },
  {
    name: 'a change on A in the first play: B and C read again in the second, though they changed nothing',
    hosts: { A: { svc: true }, B: { svc: true }, C: { svc: true } },
    plays: [
      { name: 'one', hosts: 'web', tasks: () => [started(), command({ title: 'only A', cmd: 'touch /etc/changed', when: ({ host }) => host.name === 'A' })] },
      { name: 'two', hosts: 'web', tasks: () => [started()] },
    ],
    reads: { A: 2, B: 2, C: 2 },
    statuses: ['one: A ok', 'one: B ok', 'one: C ok', 'one: A changed', 'one: B skipped', 'one: C skipped', 'two: A ok', 'two: B ok', 'two: C ok'],
  },
  {
    name: 'a retry drops the run-start read: the later batches read afresh',
    hosts: { A: { svc: true }, B: { svc: true }, C: { svc: true } },
    plays: [
      { name: 'wait', hosts: 'web', tasks: () => [command({ title: 'wait on A', cmd: 'false', retries: 1, delay: 0, ignoreErrors: true, when: ({ host }) => host.name === 'A' })] },
      { name: 'roll', hosts: 'web', serial: 1, tasks: () => [started()] },
    ],
    reads: { A: 2, B: 2, C: 2 },
    statuses: ['wait: A failed', 'wait: B skipped', 'wait: C skipped', 'roll: A ok', 'roll: B ok', 'roll: C ok'],
  },
];

const Start = suite('run-start facts: one read per host until something changes');
for (const row of rows) {
  Start(row.name, async () => {
    const log: string[] = [];
    const { reporter, hosts } = await runOnFakes(inventory(), row.plays, (h: HostView) => host(h.name, row.hosts[h.name as 'A' | 'B' | 'C'], log), { check: row.check });
    const reads = Object.fromEntries([...hosts].map(([name, t]) => [name, t.calls.filter((c) => parseBatchScript(c.cmd)).length]));
    assert.equal(reads, row.reads);
    if (row.order) assert.equal(log, row.order);
    // Hosts of one play finish in any order.
    assert.equal(reporter.results.map((r) => `${r.play}: ${r.host} ${r.status}`).sort(), [...row.statuses].sort());
  });
}

Start.run();
