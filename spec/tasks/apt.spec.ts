import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { quote } from '../../lib/core/shell.ts';
import { apt } from '../../lib/tasks/apt.ts';
import { aptCacheAge, aptPolicy, dpkgStatus } from '../../lib/tasks/dpkg-facts.ts';
import { planAgainst, execOf } from '../support/plan-harness.ts';
import { applyLocally, planLocally, scratch } from './local-host.ts';
import { PENDING, planTable, problemTable } from './table.ts';

const VERSIONS: Record<string, string> = { keepalived: '1:2.2.7-1+b2', ipvsadm: '1:1.31-1+b1', nginx: '1.22.1-9', apache2: '2.4.57-2', 'libstdc++6': '12.2.0-14' };
/** `apt-cache policy` output for known packages, as apt prints it in the C locale. */
const policy = (names: string[], installed: Record<string, string> = {}, candidates: Record<string, string> = VERSIONS) => ({
  cmd: aptPolicy(names).command,
  stdout: names.filter((n) => n in candidates).map((n) => `${n}:\n  Installed: ${installed[n] ?? '(none)'}\n  Candidate: ${candidates[n]}\n  Version table:\n *** ${candidates[n]} 500\n        500 file:/srv/lab-repo ./ Packages\n`).join(''),
});
/** `dpkg-query -W` lines: name, Status-Abbrev, version. */
const dpkg = (names: string[], rows: Array<[string, string, string]> = []) => ({ cmd: dpkgStatus(names).command, stdout: rows.map((r) => `${r.join('\t')}\n`).join('') });
const age = (stdout: string) => ({ cmd: aptCacheAge.command, stdout });
const LB = ['keepalived', 'ipvsadm'];
const GET = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120';

const Plans = suite('apt: facts → plan');
planTable(Plans, [
  {
    name: 'all installed: no-op naming each version, without asking apt-cache (one round trip)',
    task: apt({ name: LB, state: 'present' }), facts: [dpkg(LB, [['ipvsadm', 'ii ', VERSIONS.ipvsadm!], ['keepalived', 'ii ', VERSIONS.keepalived!]])],
    changes: [], notes: ['keepalived is installed (1:2.2.7-1+b2)', 'ipvsadm is installed (1:1.31-1+b1)'],
  },
  {
    name: 'none installed: one non-interactive apt-get, candidate versions (apt-cache, a second round trip) in the summary',
    task: apt({ name: LB }), facts: [dpkg(LB), policy(LB)], roundTrips: 2,
    changes: ['install keepalived 1:2.2.7-1+b2, ipvsadm 1:1.31-1+b1'],
    then: (plan) => {
      assert.is(execOf(plan.changes[0]), `${GET} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install keepalived ipvsadm`);
      assert.equal(plan.changes[0]!.diff, { path: 'packages', before: 'keepalived: (absent)\nipvsadm: (absent)\n', after: 'keepalived: 1:2.2.7-1+b2\nipvsadm: 1:1.31-1+b1\n' });
      assert.is(plan.changes[0]!.failMessage!({ code: 100, stdout: 'Reading package lists...\n', stderr: 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 7 (apt-get)\n' }), 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 7 (apt-get)');
    },
  },
  {
    name: 'installRecommends: false installs only what the packages depend on; true asks for Recommends whatever the host configures',
    task: apt({ name: LB, installRecommends: false }), facts: [dpkg(LB), policy(LB)], roundTrips: 2,
    changes: ['install keepalived 1:2.2.7-1+b2, ipvsadm 1:1.31-1+b1'],
    then: (plan) => assert.is(execOf(plan.changes[0]), `${GET} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold --no-install-recommends install keepalived ipvsadm`),
  },
  {
    name: 'installRecommends: true',
    task: apt({ name: 'nginx', installRecommends: true }), facts: [dpkg(['nginx']), policy(['nginx'])], roundTrips: 2,
    changes: ['install nginx 1.22.1-9'],
    then: (plan) => assert.match(execOf(plan.changes[0]), / -o APT::Install-Recommends=true install nginx$/),
  },
  {
    name: 'installRecommends on installed packages: nothing to do',
    task: apt({ name: 'nginx', installRecommends: false }), facts: [dpkg(['nginx'], [['nginx', 'ii ', '1.22.1-9']])], changes: [], notes: ['nginx is installed (1.22.1-9)'],
  },
  {
    name: 'one missing, one removed with its config left (rc): both installed',
    task: apt({ name: LB }), facts: [dpkg(LB, [['ipvsadm', 'rc ', VERSIONS.ipvsadm!]]), policy(LB)], roundTrips: 2, changes: ['install keepalived 1:2.2.7-1+b2, ipvsadm 1:1.31-1+b1'],
  },
  {
    name: 'one installed: only the other, and a note for the first',
    task: apt({ name: LB }), facts: [dpkg(LB, [['keepalived', 'ii ', VERSIONS.keepalived!]]), policy(LB, { keepalived: VERSIONS.keepalived! })], roundTrips: 2,
    changes: ['install ipvsadm 1:1.31-1+b1'], notes: ['keepalived is installed (1:2.2.7-1+b2)'],
  },
  {
    name: 'latest: older installed version is upgraded',
    task: apt({ name: 'nginx', state: 'latest' }), facts: [dpkg(['nginx'], [['nginx', 'ii ', '1.22.1-8']]), policy(['nginx'], { nginx: '1.22.1-8' })],
    changes: ['upgrade nginx 1.22.1-8 → 1.22.1-9'],
  },
  { name: 'latest: already the candidate', task: apt({ name: 'nginx', state: 'latest' }), facts: [dpkg(['nginx'], [['nginx', 'ii ', '1.22.1-9']]), policy(['nginx'], { nginx: '1.22.1-9' })], changes: [], notes: ['nginx is the latest version (1.22.1-9)'] },
  { name: 'present: an older version is fine', task: apt({ name: 'nginx' }), facts: [dpkg(['nginx'], [['nginx', 'ii ', '1.22.1-8']])], changes: [], notes: ['nginx is installed (1.22.1-8)'] },
  {
    name: 'absent: installed package removed, version named',
    task: apt({ name: ['apache2', 'nginx'], state: 'absent' }), facts: [dpkg(['apache2', 'nginx'], [['apache2', 'ii ', '2.4.57-2']])],
    changes: ['remove apache2 2.4.57-2'], notes: ['nginx is not installed'],
    then: (plan) => assert.is(execOf(plan.changes[0]), `${GET} remove apache2`),
  },
  { name: 'unknown package when applying: apt\'s own message', task: apt({ name: ['nginx', 'nosuchpkg'] }), facts: [dpkg(['nginx', 'nosuchpkg']), policy(['nginx', 'nosuchpkg'])], error: /^E: Unable to locate package nosuchpkg$/ },
  {
    name: 'unknown package in check mode after an earlier change (a new source): predicted',
    task: apt({ name: 'nosuchpkg' }), pending: PENDING, facts: [dpkg(['nosuchpkg']), policy(['nosuchpkg'])], roundTrips: 2,
    changes: ['install nosuchpkg (version known after the update)'], predicted: [/not known to apt yet: nosuchpkg \(Unable to locate package nosuchpkg\); expected from an earlier change/],
  },
  { name: 'known but not installable', task: apt({ name: 'nginx' }), facts: [dpkg(['nginx']), policy(['nginx'], {}, { nginx: '(none)' })], error: /^E: Package 'nginx' has no installation candidate$/ },
  {
    name: 'cache older than cacheValidTime: update (and stamp it) before installing',
    task: apt({ name: 'nginx', updateCache: true, cacheValidTime: 3600 }), facts: [dpkg(['nginx']), policy(['nginx']), age('age=7300\n')], roundTrips: 2,
    changes: ['update the apt cache (last updated 2 h ago)', 'install nginx 1.22.1-9'],
    then: (plan) => assert.is(execOf(plan.changes[0]), `${GET} update && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp`),
  },
  {
    name: 'cache fresh: no update, and nothing else to do',
    task: apt({ name: 'nginx', updateCache: true, cacheValidTime: 3600 }), facts: [dpkg(['nginx'], [['nginx', 'ii ', '1.22.1-9']]), age('age=600\n')],
    changes: [], notes: ['the apt cache is fresh (updated 10 min ago)', 'nginx is installed (1.22.1-9)'],
  },
  {
    name: 'never updated: the update may bring an unknown package, so apt decides',
    task: apt({ name: 'keepalived', updateCache: true }), facts: [dpkg(['keepalived']), { cmd: aptPolicy(['keepalived']).command, stdout: '' }, age('age=never\n')], roundTrips: 2,
    changes: ['update the apt cache (never updated)', 'install keepalived (version known after the update)'],
  },
]);
Plans.run();

const Problems = suite('apt: parameter problems');
problemTable(Problems, [
  { name: 'a second command in a name', task: apt({ name: ['nginx', 'curl; reboot'] }), problems: [['name', /"curl; reboot" is not a Debian package name/]] },
  { name: 'command substitution', task: apt({ name: '$(reboot)' }), problems: [['name', /is not a Debian package name/]] },
  { name: 'an option as a name', task: apt({ name: '-y' }), problems: [['name', /"-y" is not a Debian package name/]] },
  { name: 'uppercase', task: apt({ name: 'Nginx' }), problems: [['name', /not a Debian package name/]] },
  { name: 'no names', task: apt({ name: [] }), problems: [['name', /at least one package/]] },
  { name: 'bad state', task: apt({ name: 'nginx', state: 'installed' as never }), problems: [['state', /must be one of 'present', 'absent', 'latest', got the string "installed"/]] },
  { name: 'cacheValidTime as a string', task: apt({ name: 'nginx', updateCache: true, cacheValidTime: '3600' as never }), problems: [['cacheValidTime', /^must be a whole number of seconds 0 or more, got the string "3600"$/]] },
  { name: 'negative cacheValidTime', task: apt({ name: 'nginx', updateCache: true, cacheValidTime: -1 }), problems: [['cacheValidTime', /^must be a whole number of seconds 0 or more, got -1$/]] },
  { name: 'cacheValidTime without updateCache', task: apt({ name: 'nginx', cacheValidTime: 60 }), problems: [['cacheValidTime', /only applies with updateCache/]] },
  { name: 'installRecommends as a string', task: apt({ name: 'nginx', installRecommends: 'no' as never }), problems: [['installRecommends', /must be true or false/]] },
  { name: 'unknown parameter', task: apt({ name: 'nginx', update_cache: true } as never), problems: [['update_cache', /unknown parameter for apt/]] },
]);
Problems.run();

const Local = suite('apt: the command as a shell sees it');
Local('names with + and . reach apt-get as single literal words, non-interactively', async () => {
  const s = scratch('apt');
  try {
    writeFileSync(join(s.dir, 'apt-get'), '#!/bin/sh\necho "frontend=$DEBIAN_FRONTEND"\nprintf \'<%s>\\n\' "$@"\n');
    chmodSync(join(s.dir, 'apt-get'), 0o755);
    const names = ['libstdc++6', 'python3.11'];
    const { plan } = await planAgainst(apt({ name: names }), { facts: [dpkg(names), policy(names, {}, { 'libstdc++6': '12.2.0-14', 'python3.11': '3.11.2-6' })] });
    const r = await applyLocally({ summary: plan.changes[0]!.summary, exec: `PATH=${quote(s.dir)}:$PATH; ${execOf(plan.changes[0])}` }, plan.changes[0]!.stdin);
    assert.is(r.stdout, 'frontend=noninteractive\n<-y>\n<-q>\n<-o>\n<DPkg::Lock::Timeout=120>\n<-o>\n<Dpkg::Options::=--force-confdef>\n<-o>\n<Dpkg::Options::=--force-confold>\n<install>\n<libstdc++6>\n<python3.11>\n');
  } finally {
    s.done();
  }
});
Local('the real dpkg-query and apt-cache on this controller parse as expected', async () => {
  if (!existsSync('/usr/bin/dpkg-query') || !existsSync('/usr/bin/apt-cache')) return;
  const plan = await planLocally(apt({ name: 'dash' }));
  assert.equal(plan.changes, []);
  assert.match(plan.notes[0]!, /^dash is installed \(\S+\)$/);
  try {
    await planLocally(apt({ name: ['dash', 'no-such-package-for-play'] }));
    assert.unreachable('an unknown package must fail');
  } catch (e) {
    assert.is((e as Error).message, 'E: Unable to locate package no-such-package-for-play');
  }
});
Local.run();
