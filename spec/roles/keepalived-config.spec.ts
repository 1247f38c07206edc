/**
 * keepalivedConfig's planner: host facts in (the config on disk, keepalived's
 * state, the left-VRRP mark, IPVS in the kernel), the rollout's steps out.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { fileState, fileText } from '../../lib/tasks/file-facts.ts';
import { serviceState } from '../../lib/tasks/service-facts.ts';
import { handoverOffset, ipvsKernel, leftVrrp } from '../../roles/director/keepalived-commands.ts';
import { keepalivedConfig } from '../../roles/director/keepalived-config.ts';
import { handoverVrrp, keepalivedVars } from '../../roles/director/index.ts';
import seed from '../../inventory/inventory.ts';
import type { LvsCluster } from '../../roles/lvs/cluster.ts';
import { planTable } from '../tasks/table.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import { cluster as services } from '../fixtures/inventory/lab-services.ts';
import { cluster as active } from '../fixtures/inventory/lab-active.ts';
import { execOf, whatOf } from '../support/plan-harness.ts';

const CONF = '/etc/keepalived/keepalived.conf';
const SRC = new URL('../../roles/director/templates/keepalived.conf.njk', import.meta.url);
const LB1 = readFileSync(new URL('./fixtures/keepalived-LB1.conf', import.meta.url), 'utf8');

/** The director task for LB1 (MASTER) or LB2 of a cluster, planned on the spec host h1. */
const task = (c: LvsCluster = seed.vars.cluster, host: 'LB1' | 'LB2' = 'LB1', leads?: boolean) => keepalivedConfig({
  src: SRC, dest: CONF, vars: keepalivedVars(c, host, seed), master: host === 'LB1' ? 'h1' : 'LB1', peers: host === 'LB1' ? ['LB2'] : ['LB1'], interface: c.interface, advertInterval: c.advertInterval,
  ...(leads === undefined ? {} : { leads }),
});
/** A cluster's keepalived.conf for a director, as the director role writes it. */
const rendered = (c: LvsCluster, host: 'LB1' | 'LB2') => {
  const r = renderTemplate(SRC, { ...keepalivedVars(c, host, seed), ipvsKernel: true });
  if (!r.ok) throw new Error(r.message);
  return r.text;
};
/** The host's facts: the config on disk (or none), keepalived's state, the mark, IPVS. */
const facts = (o: { conf?: string; active?: string; installed?: boolean; left?: boolean; ipvs?: boolean; handover?: number }) => [
  { cmd: fileState(CONF).command, stdout: o.conf === undefined ? 'type=missing\nparent=yes\n' : `type=file\nstat=640 0 0 ${o.conf.length} root root\nsha256=${sha256(o.conf)}  -\nparent=yes\n` },
  { cmd: fileText(CONF).command, stdout: o.conf ?? '' },
  { cmd: serviceState('keepalived', 'keepalived').command, stdout: `init=systemd\nNeedDaemonReload=no\nLoadState=${o.installed === false ? 'not-found' : 'loaded'}\nActiveState=${o.active ?? 'active'}\nSubState=x\nUnitFileState=enabled\n` },
  { cmd: leftVrrp.command, stdout: o.left ? 'yes\n' : 'no\n' },
  { cmd: ipvsKernel.command, stdout: o.ipvs === false ? 'no\n' : 'yes\n' },
  { cmd: handoverOffset.command, stdout: `${o.handover ?? 0}\n` },
];
const edit = (c: Partial<LvsCluster>): LvsCluster => ({ ...seed.vars.cluster, ...c });
const WRITE = `write ${CONF} (mode 0640, owner root)`;

const Plans = suite('keepalived config: facts → rollout');
planTable(Plans, [
  { name: 'converged and running: nothing to do', task: task(), facts: facts({ conf: LB1 }), changes: [], notes: [`${CONF} is up to date`, 'keepalived runs this config'] },
  { name: 'no config yet (a fresh director): write, start', task: task(), facts: facts({ active: 'inactive' }), changes: [WRITE, 'start keepalived'] },
  {
    name: 'check mode before keepalived is installed: the start is predicted',
    task: task(), facts: facts({ active: 'inactive', installed: false }), pending: [{ summary: 'install keepalived', exec: 'apt-get install keepalived' }],
    changes: [WRITE, 'start keepalived'], predicted: [undefined, 'keepalived is not installed yet, expected from an earlier change'],
  },
  { name: 'config up to date but keepalived stopped: start it', task: task(), facts: facts({ conf: LB1, active: 'failed' }), changes: ['start keepalived (its config is up to date)'] },
  {
    name: 'a weight and delay_loop change on a running director: write, reload, confirm live',
    task: task(edit({ delayLoop: 4, realServers: { RS1: { weight: 2 }, RS2: { weight: 1 } } })), facts: facts({ conf: LB1 }),
    changes: [WRITE, 'reload keepalived; confirm the new config is live'],
    then: (plan) => {
      const reload = execOf(plan.changes[1]);
      assert.match(reload, /systemctl reload keepalived/);
      assert.match(reload, /Reload complete/);
      assert.match(reload, /192\.168\.56\.103:80=2 192\.168\.56\.104:80=1/, 'the new weights are what it waits for');
      assert.not.match(reload, /restart/);
    },
  },
  {
    name: 'a real server dropped: drained (weight 0, connections end) before the write and the reload',
    task: task(edit({ realServers: { RS2: { weight: 1 } } })), facts: facts({ conf: LB1 }),
    changes: ['drain 192.168.56.103:80 from 192.168.56.200:80 (weight 0, its connections end) before removing it', WRITE, 'reload keepalived; confirm the new config is live'],
    then: (plan) => assert.match(execOf(plan.changes[0]), /ipvsadm -e -t 192\.168\.56\.200:80 -r 192\.168\.56\.103:80 -g -w 0/),
  },
  {
    name: 'advert_int on a BACKUP: write, then leave VRRP until the MASTER runs it',
    task: task(edit({ advertInterval: 2 }), 'LB2'), facts: facts({ conf: LB1.replace('LVS_MASTER', 'LVS_BACKUP').replace('state MASTER', 'state BACKUP').replace('priority 200', 'priority 100') }),
    changes: [WRITE, 'stop keepalived until LB1 (MASTER) runs the new VRRP settings (VI_1 advert_int 1 → 2): directors that disagree both take the VIP'],
    then: (plan) => assert.match(execOf(plan.changes[1]), /: > \/run\/play\/keepalived-left-vrrp\n/),
  },
  {
    name: 'advert_int on the MASTER: write, reload, then start the BACKUPs that left',
    task: task(edit({ advertInterval: 2 })), facts: facts({ conf: LB1 }),
    changes: [WRITE, 'reload keepalived (new VRRP settings: VI_1 advert_int 1 → 2); confirm the new config is live', 'start keepalived on LB2 (if it left VRRP for these settings), its priority lowered until it takes the VIPs it is MASTER of back'],
    then: (plan) => assert.ok(plan.changes[2]!.apply, 'made on LB2, through its reader'),
  },
  { name: 'a new password is a shared change, and is not shown', task: task(edit({ auth: { type: 'PASS', pass: '2222' } }), 'LB2'), facts: facts({ conf: LB1.replace('state MASTER', 'state BACKUP') }), changes: [WRITE, 'stop keepalived until LB1 (MASTER) runs the new VRRP settings (VI_1 auth_pass changes): directors that disagree both take the VIP'] },
  {
    name: 'one instance → two (active/active), on the BACKUP that becomes VI_2\'s MASTER: hand over what it holds first, then leave VRRP',
    task: task(active, 'LB2', true), facts: facts({ conf: rendered(services, 'LB2') }),
    changes: ['hand the VIPs this director is MASTER of to LB1 before it leaves VRRP', WRITE, 'stop keepalived until LB1 (MASTER) runs the new VRRP settings (VI_1 virtual_ipaddress 192.168.56.200,192.168.56.201 → 192.168.56.200): directors that disagree both take the VIP'],
    then: (plan) => { assert.ok(plan.changes[0]!.apply); assert.match(execOf(plan.changes[2]), /echo handover > \/run\/play\/keepalived-left-vrrp\n/); },
  },
  {
    name: '…on the MASTER: the VIP that moves to VI_2 stays served from lo until VI_2 takes it; then LB2 rejoins, lowered, and takes VI_2 back',
    task: task(active, 'LB1', true), facts: facts({ conf: rendered(services, 'LB1') }),
    changes: [
      WRITE,
      'reload keepalived (new VRRP settings: VI_1 virtual_ipaddress 192.168.56.200,192.168.56.201 → 192.168.56.200); confirm the new config is live; 192.168.56.201 change VRRP instance (a new one, or a new VRID, interface or unicast setting), so they stay served from lo until their new instance takes them',
      'start keepalived on LB2 (if it left VRRP for these settings), its priority lowered until it takes the VIPs it is MASTER of back',
    ],
    then: (plan) => {
      assert.match(execOf(plan.changes[1]), /for v in '?192\.168\.56\.201'?; do/);
      assert.match(whatOf(plan.changes[2]), /printf '%s\\n' 253 > /);
    },
  },
  {
    name: 'two instances → one, on LB2 (MASTER of VI_2): hand VI_2 over, then leave',
    task: task(services, 'LB2', false), facts: facts({ conf: rendered(active, 'LB2') }),
    changes: ['hand the VIPs this director is MASTER of to LB1 before it leaves VRRP', WRITE, 'stop keepalived until LB1 (MASTER) runs the new VRRP settings (VI_1 virtual_ipaddress 192.168.56.200 → 192.168.56.200,192.168.56.201): directors that disagree both take the VIP'],
  },
  {
    name: '…a BACKUP of every instance leaves without a handover',
    task: task(edit({ advertInterval: 2 }), 'LB2', false), facts: facts({ conf: rendered(seed.vars.cluster, 'LB2') }),
    changes: [WRITE, 'stop keepalived until LB1 (MASTER) runs the new VRRP settings (VI_1 advert_int 1 → 2): directors that disagree both take the VIP'],
  },
  { name: 'only the mode drifted: chmod, no reload', task: task(), facts: facts({ conf: LB1 }).map((f, i) => (i === 0 ? { ...f, stdout: f.stdout.replace('stat=640', 'stat=644') } : f)), changes: [`set mode 0644 → 0640 on ${CONF}`] },
  {
    name: 'a restart-only setting on the MASTER: hand the VIP over, restart, take it back (no failover gap)',
    task: task(edit({ globalDefs: { disable_local_igmp: true } })), facts: facts({ conf: LB1 }),
    changes: ['hand the VIPs this director is MASTER of to LB2 before the restart', WRITE, 'restart keepalived: disable_local_igmp changes, and keepalived cannot change it on a reload', 'take the VIPs back'],
    then: (plan) => { assert.match(whatOf(plan.changes[0]), /printf '%s\\n' 253 > /); assert.ok(plan.changes[0]!.apply && plan.changes[3]!.apply); },
  },
  { name: '…on a BACKUP, or a MASTER already handed over: restart alone', task: task(edit({ globalDefs: { disable_local_igmp: true } })), facts: facts({ conf: LB1, handover: 253 }), changes: [WRITE, 'restart keepalived: disable_local_igmp changes, and keepalived cannot change it on a reload'] },
  {
    name: 'a kernel without IPVS: no lvs_sync_daemon in the config (keepalived\'s VRRP process dies on it)',
    task: task(), facts: facts({ active: 'inactive', ipvs: false }), changes: [WRITE, 'start keepalived'],
    then: (plan) => { assert.not.match(String(plan.changes[0]!.stdin), /lvs_sync_daemon/); assert.match(String(plan.changes[0]!.stdin), /track_file play_handover/); },
  },
]);

Plans.run();
