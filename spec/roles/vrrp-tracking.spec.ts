/**
 * VRRP tracking (#12): `vrrp.trackScripts` (vrrp_script / track_file),
 * `trackInterfaces`, `notify`, `garp`. Whole rendered keepalived.conf files
 * for both directors; broken inputs → exactly the problems naming each
 * field, warnings where a weight cannot move the VIP; untyped values are
 * problems, never a crash.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compile } from '../../lib/engine/compile.ts';
import { scriptUsersOf } from '../../roles/director/index.ts';
import { parseKeepalived, rolloutOf } from '../../roles/director/keepalived-parse.ts';
import type { LvsCluster } from '../../roles/lvs/cluster.ts';
import tracking, { cluster as trackingCluster } from '../fixtures/inventory/tracking.ts';
import { cluster as multiCluster } from '../fixtures/inventory/multi-service.ts';
import seed from '../../inventory/inventory.ts';
import site from '../../playbooks/site.ts';
import { directorScripts, scriptsPresent } from '../../roles/director/scripts-present.ts';
import { planTable } from '../tasks/table.ts';

import { clusterKit } from './cluster-kit.ts';

const golden = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const { invOf, render, problems, changed } = clusterKit(tracking);
const V = (f: (v: any) => void) => changed(trackingCluster, (c) => f(c.vrrp));

const Render = suite('VRRP tracking: keepalived.conf');

Render('scripts, a maintenance file, interfaces, notify scripts, gratuitous ARPs: the whole keepalived.conf of each director', () => {
  assert.equal(problems(trackingCluster), []);
  assert.equal(compile(site, tracking).problems, []);
  assert.fixture(render(trackingCluster, 'LB1'), golden('keepalived-tracking-LB1.conf'));
  assert.fixture(render(trackingCluster, 'LB2'), golden('keepalived-tracking-LB2.conf'));
});

Render('the handover\'s track_file stays first in the instance, the others after it', () => {
  assert.match(render(trackingCluster, 'LB1'), /    track_file {\n        play_handover\n        maintenance\n    }\n/);
  assert.match(render(seed.vars.cluster, 'LB1'), /    track_file {\n        play_handover\n    }\n}\n/);
});

Render('enable_script_security comes with any script, and names what runs them; a tracked file alone runs none', () => {
  const fileOnly = V((v) => { v.trackScripts = [v.trackScripts[2]]; delete v.notify; });
  assert.not.match(render(fileOnly, 'LB1'), /enable_script_security|vrrp_script|track_script|notify/);
  const both = changed(multiCluster, (c) => { c.vrrp.trackScripts = [trackingCluster.vrrp!.trackScripts![0]]; });
  assert.match(render(both, 'LB1'), /   # MISC_CHECK and vrrp_script scripts run as their declared user; keepalived refuses a\n   # script that user \(or anyone but root\) could alter.\n   enable_script_security\n/);
  const notifyOnly = V((v) => { delete v.trackScripts; });
  assert.match(render(notifyOnly, 'LB1'), /   # notify scripts run as their declared user;/);
});

Render('tracking is each director\'s own: it rolls out by reload, not as a setting all directors must share', () => {
  const before = parseKeepalived(render(seed.vars.cluster, 'LB1'));
  const after = parseKeepalived(render(trackingCluster, 'LB1'));
  assert.equal(rolloutOf(before, after), { kind: 'reload' });
  assert.equal(after.instances[0]!.shared, before.instances[0]!.shared);
});

// Each row: a broken cluster → exactly these problems (one per mistake, naming its field).
const S = (i: number, f: (t: any) => void) => V((v) => f(v.trackScripts[i]));
const broken: Array<[string, LvsCluster, string[]]> = [
  ['trackScripts not a list', V((v) => { v.trackScripts = 'chk_nginx'; }), ['cluster.vrrp.trackScripts: must be a list of { name, script, user, … } or { kind: \'file\', name, path }, got the string "chk_nginx"']],
  ['an entry that is not an object', V((v) => { v.trackScripts[1] = null; }), ['cluster.vrrp.trackScripts[1]: must be { name, script, user, … } or { kind: \'file\', name, path }, got null']],
  ['a name keepalived cannot take', S(0, (t) => { t.name = 'chk nginx'; }), ['cluster.vrrp.trackScripts[0].name: must be a keepalived name: a letter, then letters, digits, _ or -, got the string "chk nginx"']],
  ['a name that is a number', S(0, (t) => { t.name = 7; }), ['cluster.vrrp.trackScripts[0].name: must be a keepalived name: a letter, then letters, digits, _ or -, got 7']],
  ['two entries of one name', S(1, (t) => { t.name = 'chk_nginx'; }), ['cluster.vrrp.trackScripts[1].name: chk_nginx is also trackScripts[0]\'s name; names must be unique']],
  ['the handover\'s name', S(2, (t) => { t.name = 'play_handover'; }), ['cluster.vrrp.trackScripts[2].name: play_handover is the planned handover\'s track_file; choose another name']],
  ['a relative script', S(0, (t) => { t.script = 'check-nginx'; }), ['cluster.vrrp.trackScripts[0].script: must be an absolute path, then its arguments, without quotes, backslashes, newlines, ! or #, got the string "check-nginx"']],
  ['a quote in the arguments', S(0, (t) => { t.script = '/usr/local/bin/check "a b"'; }), ['cluster.vrrp.trackScripts[0].script: must be an absolute path, then its arguments, without quotes, backslashes, newlines, ! or #, got the string "/usr/local/bin/check \\"a b\\""']],
  ['a newline in the script', S(0, (t) => { t.script = '/usr/local/bin/check\nuser root'; }), ['cluster.vrrp.trackScripts[0].script: must be an absolute path, then its arguments, without quotes, backslashes, newlines, ! or #, got the string "/usr/local/bin/check\\nuser root"']],
  ['a backslash (2.2 and 2.3 read it differently)', S(0, (t) => { t.script = '/usr/local/bin/check a\\tb'; }), ['cluster.vrrp.trackScripts[0].script: must be an absolute path, then its arguments, without quotes, backslashes, newlines, ! or #, got the string "/usr/local/bin/check a\\\\tb"']],
  ['no user', S(1, (t) => { delete t.user; }), ['cluster.vrrp.trackScripts[1].user: must be a Linux user name (the script runs as that user), got undefined']],
  ['a weight beyond keepalived\'s', S(0, (t) => { t.weight = -300; }), ['cluster.vrrp.trackScripts[0].weight: must be a whole number -253–253, got -300']],
  ['a weight as a string', S(0, (t) => { t.weight = '-120'; }), ['cluster.vrrp.trackScripts[0].weight: must be a whole number -253–253, got the string "-120"']],
  ['a decimal interval (keepalived 2.2 refuses it)', S(1, (t) => { t.interval = 1.5; }), ['cluster.vrrp.trackScripts[1].interval: must be a whole number of seconds 1–3600, got 1.5']],
  ['timeout 0, rise 0, fall 1000', S(0, (t) => { t.timeout = 0; t.rise = 0; t.fall = 1000; }), [
    'cluster.vrrp.trackScripts[0].timeout: must be a whole number of seconds 1–3600, got 0',
    'cluster.vrrp.trackScripts[0].rise: must be a whole number 1–100, got 0',
    'cluster.vrrp.trackScripts[0].fall: must be a whole number 1–100, got 1000',
  ]],
  ['an unknown kind', S(1, (t) => { t.kind = 'process'; }), ['cluster.vrrp.trackScripts[1].kind: must be one of script, file, got the string "process"']],
  ['a file path with a space', S(2, (t) => { t.path = '/etc/keepalived/main tenance'; }), ['cluster.vrrp.trackScripts[2].path: must be an absolute path without spaces, quotes, backslashes, ! or #, got the string "/etc/keepalived/main tenance"']],
  ['the handover\'s file', S(2, (t) => { t.path = '/etc/keepalived/play-handover'; }), ['cluster.vrrp.trackScripts[2].path: /etc/keepalived/play-handover is the planned handover\'s file (play handover writes it); use another file']],
  ['trackInterfaces not a list', V((v) => { v.trackInterfaces = 'enp0s3'; }), ['cluster.vrrp.trackInterfaces: must be a list of interface names or { name, weight }, got the string "enp0s3"']],
  ['an interface that is a number', V((v) => { v.trackInterfaces[0] = 3; }), ['cluster.vrrp.trackInterfaces[0]: must be an interface name or { name, weight }, got 3']],
  ['an interface name too long', V((v) => { v.trackInterfaces[0] = 'enp0s3-far-too-long'; }), ['cluster.vrrp.trackInterfaces[0]: must be a Linux interface name, got the string "enp0s3-far-too-long"']],
  ['the cluster\'s own interface', V((v) => { v.trackInterfaces[1].name = 'enp0s8'; }), ['cluster.vrrp.trackInterfaces[1].name: enp0s8 is the cluster\'s interface, which the instance always watches (down = FAULT); list other interfaces here']],
  ['an interface twice', V((v) => { v.trackInterfaces[1].name = 'enp0s3'; }), ['cluster.vrrp.trackInterfaces[1].name: enp0s3 is also trackInterfaces[0]']],
  ['an interface weight beyond keepalived\'s', V((v) => { v.trackInterfaces[1].weight = 254; }), ['cluster.vrrp.trackInterfaces[1].weight: must be a whole number -253–253, got 254']],
  ['notify not an object', V((v) => { v.notify = '/usr/local/bin/vrrp-log'; }), ['cluster.vrrp.notify: must be { master?, backup?, fault?, stop?, any?, user }, got the string "/usr/local/bin/vrrp-log"']],
  ['a relative notify script', V((v) => { v.notify.master = 'vrrp-became master'; }), ['cluster.vrrp.notify.master: must be an absolute path, then its arguments, without quotes, backslashes, newlines, ! or #, got the string "vrrp-became master"']],
  ['a notify script with a quote', V((v) => { v.notify.stop = '/usr/local/bin/vrrp-became "stop"'; }), ['cluster.vrrp.notify.stop: must be an absolute path, then its arguments, without quotes, backslashes, newlines, ! or #, got the string "/usr/local/bin/vrrp-became \\"stop\\""']],
  ['a notify key keepalived has not', V((v) => { v.notify.deleted = '/usr/local/bin/x'; }), ['cluster.vrrp.notify.deleted: is not a notify script: give master, backup, fault, stop or any']],
  ['notify without user', V((v) => { delete v.notify.user; }), ['cluster.vrrp.notify.user: must be a Linux user name (the notify scripts run as that user), got undefined']],
  ['notify with no script', V((v) => { v.notify = { user: 'keepalived_script' }; }), ['cluster.vrrp.notify: names no script: give master, backup, fault, stop or any (or leave notify out)']],
  ['garp not an object', V((v) => { v.garp = [2]; }), ['cluster.vrrp.garp: must be { masterDelay?, masterRepeat?, masterRefresh? }, got an array']],
  ['garp out of range', V((v) => { v.garp = { masterDelay: -1, masterRepeat: 0, masterRefresh: 86401 }; }), [
    'cluster.vrrp.garp.masterDelay: must be a whole number of seconds 0–1000, got -1',
    'cluster.vrrp.garp.masterRepeat: must be a whole number 1–100, got 0',
    'cluster.vrrp.garp.masterRefresh: must be a whole number of seconds 0–86400, got 86401',
  ]],
  ['a garp key that is not one', V((v) => { v.garp.refreshRepeat = 2; }), ['cluster.vrrp.garp.refreshRepeat: is not a garp setting: give masterDelay, masterRepeat or masterRefresh']],
  ['vrrp not an object', changed(trackingCluster, (c) => { c.vrrp = true; }), ['cluster.vrrp: must be { mode?, nopreempt?, preemptDelay?, trackScripts?, trackInterfaces?, notify?, garp?, instances?, syncGroups? }, got the boolean true']],
];

const Validate = suite('VRRP tracking: validation');

for (const [name, c, expected] of broken) {
  Validate(name, () => { assert.equal(problems(c), expected); });
}

// Each row: a weight, and the warning it gets (none when the VIP moves).
const moves: Array<[string, LvsCluster, string[]]> = [
  ['a script weight that leaves the MASTER above the BACKUP', S(0, (t) => { t.weight = -50; }), ['warning cluster.vrrp.trackScripts[0].weight: weight -50: a failing chk_nginx on the MASTER leaves it at priority 150, the next director at 100: the VIP would not move; give at most -101, or 0 to go to FAULT']],
  ['one that ties: the address decides, not the failure', S(0, (t) => { t.weight = -100; }), ['warning cluster.vrrp.trackScripts[0].weight: weight -100: a failing chk_nginx on the MASTER leaves it at priority 100, the next director at 100: the VIP would not move; give at most -101, or 0 to go to FAULT']],
  ['-101 is enough', S(0, (t) => { t.weight = -101; }), []],
  ['a positive weight the BACKUP cannot overtake with', S(0, (t) => { t.weight = 60; }), ['warning cluster.vrrp.trackScripts[0].weight: weight 60: a failing chk_nginx on the MASTER leaves it at priority 200, the next director at 160: the VIP would not move; give at least 101, or 0 to go to FAULT']],
  ['a positive weight that moves it', S(0, (t) => { t.weight = 101; }), []],
  ['a maintenance file too light', S(2, (t) => { t.weight = -20; }), ['warning cluster.vrrp.trackScripts[2].weight: weight -20: a failing maintenance on the MASTER leaves it at priority 180, the next director at 100: the VIP would not move; give at most -101, or 0 to go to FAULT']],
  ['an interface too light', V((v) => { v.trackInterfaces[1].weight = -10; }), ['warning cluster.vrrp.trackInterfaces[1].weight: weight -10: a failing interface enp0s9 on the MASTER leaves it at priority 190, the next director at 100: the VIP would not move; give at most -101, or 0 to go to FAULT']],
  ['closer priorities need less', changed(trackingCluster, (c) => { c.directors.LB2.priority = 190; c.vrrp.trackScripts[0].weight = -11; }), []],
  ['a timeout longer than the interval', S(0, (t) => { t.timeout = 5; }), ['warning cluster.vrrp.trackScripts[0].timeout: 5 s is longer than the interval (2 s): a slow run delays the next one, so failures are seen later than interval × fall']],
];
for (const [name, c, expected] of moves) {
  Validate(`weights: ${name}`, () => { assert.equal(problems(c), expected); });
}

Validate('with nopreempt only FAULT moves the VIP: every weighted tracker is told', () => {
  const c = V((v) => { v.nopreempt = true; });
  assert.equal(problems(c).filter((p) => p.startsWith('warning cluster.vrrp.track')).map((p) => p.split(':')[0]), [
    'warning cluster.vrrp.trackScripts[0].weight', 'warning cluster.vrrp.trackScripts[2].weight', 'warning cluster.vrrp.trackInterfaces[1].weight',
  ]);
  assert.ok(problems(c).includes('warning cluster.vrrp.trackScripts[0].weight: with vrrp.nopreempt a BACKUP never takes the VIP from a MASTER of lower priority, so a failing chk_nginx only lowers the priority and the VIP stays; give weight 0 (FAULT) to move it'));
});

Validate('one director: nothing to move to, no warning', () => {
  const c = changed(trackingCluster, (x) => { delete x.directors.LB2; x.vrrp.trackScripts[0].weight = -1; });
  assert.equal(problems(c), []);
});

Validate('an untyped inventory with every field of the wrong type: all listed at once, no crash', () => {
  const c = V((v) => {
    v.trackScripts = [{ name: ['x'], script: 42, interval: '2', weight: {}, user: null }, 'chk', { kind: 'file', name: 'm', path: 1, weight: true }];
    v.trackInterfaces = [{ name: null, weight: 'x' }, [], null];
    v.notify = { master: 1, any: [], user: 0 };
    v.garp = { masterDelay: '5', masterRepeat: null, masterRefresh: {} };
  });
  assert.equal(problems(c).map((p) => p.split(':')[0]), [
    'cluster.vrrp.trackScripts[0].name', 'cluster.vrrp.trackScripts[0].script', 'cluster.vrrp.trackScripts[0].user', 'cluster.vrrp.trackScripts[0].interval', 'cluster.vrrp.trackScripts[0].weight',
    'cluster.vrrp.trackScripts[1]',
    'cluster.vrrp.trackScripts[2].path', 'cluster.vrrp.trackScripts[2].weight',
    'cluster.vrrp.trackInterfaces[0].name', 'cluster.vrrp.trackInterfaces[0].weight', 'cluster.vrrp.trackInterfaces[1]', 'cluster.vrrp.trackInterfaces[2]',
    'cluster.vrrp.notify.master', 'cluster.vrrp.notify.any', 'cluster.vrrp.notify.user',
    'cluster.vrrp.garp.masterDelay', 'cluster.vrrp.garp.masterRepeat', 'cluster.vrrp.garp.masterRefresh',
  ]);
});

const Present = suite('the director\'s scripts: present, read-only');

Present('every script keepalived will run, with the field that declares it; none for the seed', () => {
  assert.equal(directorScripts(trackingCluster).map((x) => `${x.field} ${x.path} ${x.user}`), [
    'cluster.vrrp.trackScripts[0].script /usr/local/bin/check-nginx keepalived_script',
    'cluster.vrrp.trackScripts[1].script /usr/local/bin/check-disk keepalived_script',
    'cluster.vrrp.notify.master /usr/local/bin/vrrp-became keepalived_script',
    'cluster.vrrp.notify.backup /usr/local/bin/vrrp-became keepalived_script',
    'cluster.vrrp.notify.fault /usr/local/bin/vrrp-became keepalived_script',
    'cluster.vrrp.notify.any /usr/local/bin/vrrp-log keepalived_script',
  ]);
  assert.equal(directorScripts(multiCluster).map((x) => x.field), ['cluster.services[2].check.script']);
  assert.equal(directorScripts(seed.vars.cluster), []);
  // The seed's director plans no such task (its plan is pinned by seed-unchanged.spec.ts).
  const kinds = (inv: typeof seed, host: string) => compile(site, inv).plays.flatMap((p) => p.work.filter((w) => w.host.name === host).flatMap((w) => w.tasks.map((t) => t.task.kind)));
  assert.equal(scriptUsersOf(tracking.vars.cluster), ['keepalived_script']);
  assert.equal(scriptUsersOf(seed.vars.cluster), []);
  assert.not.ok(kinds(seed, 'LB1').includes('scripts'));
  assert.equal(kinds(tracking, 'LB1').slice(0, 7), ['apt', 'interface', 'apt', 'user', 'scripts', 'vrrpFirewall', 'keepalived']);
});

const two = scriptsPresent({ scripts: [
  { field: 'cluster.vrrp.trackScripts[0].script', path: '/usr/local/bin/check-nginx', user: 'keepalived_script' },
  { field: 'cluster.vrrp.notify.master', path: '/usr/local/bin/vrrp-became', user: 'keepalived_script' },
] });
const seen = (nginx: string, became: string, user: string) => [{
  cmd: "if test -f /usr/local/bin/check-nginx && test -x /usr/local/bin/check-nginx; then echo x; else echo -; fi; if test -f /usr/local/bin/vrrp-became && test -x /usr/local/bin/vrrp-became; then echo x; else echo -; fi; if id -u keepalived_script >/dev/null 2>&1; then echo u; else echo -; fi",
  stdout: `${nginx}\n${became}\n${user}\n`,
}];
planTable(Present, [
  { name: 'all there: a no-op that says so', task: two, facts: seen('x', 'x', 'u'), changes: [], notes: ['/usr/local/bin/check-nginx, /usr/local/bin/vrrp-became are executable, run as keepalived_script'] },
  { name: 'a script missing: refused, naming its field, never installed', task: two, facts: seen('-', 'x', 'u'), error: /keepalived would disable these scripts \(play does not install them; install them before the director role\):\ncluster\.vrrp\.trackScripts\[0\]\.script: \/usr\/local\/bin\/check-nginx is not an executable file$/ },
  { name: 'the user missing: every script that runs as it is told', task: two, facts: seen('x', '-', '-'), error: /\):\ncluster\.vrrp\.trackScripts\[0\]\.script: user keepalived_script does not exist\ncluster\.vrrp\.notify\.master: \/usr\/local\/bin\/vrrp-became is not an executable file\ncluster\.vrrp\.notify\.master: user keepalived_script does not exist$/ },
]);

Render.run();
Validate.run();
Present.run();
