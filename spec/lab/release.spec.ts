/**
 * `play lab up --release`: each release's caches, its mirror, its apt
 * configuration, its keepalived drop-in, and the CLI's words. Tables in,
 * values out; nothing here touches the network or the machine.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDeb822Sources, parseSourcesList, pickMirror } from '../../lib/lab/mirror.ts';
import { LAB_RELEASES, buildMachine, releaseCache, releaseSuite, type LabRelease } from '../../lib/lab/release.ts';
import { aptConfigOptions, privateSourcesList } from '../../lib/lab/offline-repo.ts';
import { baseVersion } from '../../lib/lab/base-tree.ts';
import { vmFiles } from '../../lib/lab/vm.ts';
import { vrrpOnlyDropin } from '../../lib/lab/host-files.ts';
import { containerLower } from '../../lib/lab/container.ts';
import { parseUpArgs } from '../../lib/lab/cli.ts';
import { labRelease } from '../../lib/lab/state.ts';

const R = suite('lab: releases');

R('cache paths per release: bookworm exactly where it always was, trixie under its own dir', () => {
  const table: [LabRelease, object][] = [
    ['bookworm', {
      dir: '/var/cache/play-lab', base: '/var/cache/play-lab/base', baseRootfs: '/var/cache/play-lab/base/rootfs',
      repo: '/var/cache/play-lab/repo', vm: '/var/cache/play-lab/vm',
    }],
    ['trixie', {
      dir: '/var/cache/play-lab/trixie', base: '/var/cache/play-lab/trixie/base', baseRootfs: '/var/cache/play-lab/trixie/base/rootfs',
      repo: '/var/cache/play-lab/trixie/repo', vm: '/var/cache/play-lab/trixie/vm', apt: '/var/cache/play-lab/trixie/apt',
    }],
  ];
  for (const [release, want] of table) assert.equal(releaseCache(release), want, release);
  assert.equal(vmFiles('bookworm'), {
    rootfs: '/var/cache/play-lab/vm/rootfs', kernel: '/var/cache/play-lab/vm/vmlinuz',
    initrd: '/var/cache/play-lab/vm/initrd.img', stamp: '/var/cache/play-lab/vm/stamp',
  });
  assert.is(vmFiles('trixie').kernel, '/var/cache/play-lab/trixie/vm/vmlinuz');
  assert.is(containerLower('bookworm'), '/var/cache/play-lab/base/rootfs');
  assert.is(containerLower('trixie'), '/var/cache/play-lab/trixie/base/rootfs');
});

R('bookworm keeps its stamps, so a warm machine stays warm', () => {
  assert.is(baseVersion('bookworm'),
    'base-v3 bookworm minbase systemd-sysv,dbus,libpam-systemd,libnss-systemd,openssh-server,iproute2,procps,curl,python3,sudo,ca-certificates,iputils-ping');
  assert.ok(baseVersion('trixie').startsWith('base-v3 trixie minbase '));
});

R('suites and build machines: one per release, never shared', () => {
  assert.equal(LAB_RELEASES.map(releaseSuite), ['bookworm', 'trixie']);
  assert.equal(LAB_RELEASES.map(buildMachine), ['playlab-build', 'playlab-build-trixie']);
});

const DEB822 = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: https://deb.other.example/node_20.x
Suites: nodistro
Components: main
`;
const ONE_LINE = `deb http://security.example/debian-security bookworm-security main
deb [signed-by=/k.gpg] http://m.example/debian bookworm main contrib
deb https://packages.other.example/apt cloud-sdk-bookworm main
`;

R('mirror for trixie derived from the machine\'s bookworm entry (deb822 and one-line), never -security or a third party', () => {
  const table: [string, ReturnType<typeof parseDeb822Sources>, string, string | undefined][] = [
    ['deb822', parseDeb822Sources(DEB822), 'trixie', 'http://mirror.example/debian'],
    ['deb822', parseDeb822Sources(DEB822), 'bookworm', 'http://mirror.example/debian'],
    ['one-line', parseSourcesList(ONE_LINE), 'trixie', 'http://m.example/debian'],
    ['one-line', parseSourcesList(ONE_LINE), 'bookworm', 'http://m.example/debian'],
    ['a trixie entry wins', parseSourcesList(`${ONE_LINE}deb http://t.example/debian trixie main\n`), 'trixie', 'http://t.example/debian'],
    ['only -security', parseSourcesList('deb http://s.example/debian-security bookworm-security main\n'), 'trixie', undefined],
    ['only a file: source', parseSourcesList('deb file:/srv/repo bookworm main\n'), 'trixie', undefined],
  ];
  for (const [what, sources, suiteName, want] of table) assert.is(pickMirror(suiteName, sources), want, `${what}: ${suiteName}`);
});

R('trixie downloads through its own apt configuration; bookworm through the machine\'s', () => {
  assert.equal(aptConfigOptions(releaseCache('bookworm')), []);
  const a = '/var/cache/play-lab/trixie/apt';
  assert.equal(aptConfigOptions(releaseCache('trixie')), [
    '-o', `Dir::Etc::sourcelist=${a}/sources.list`,
    '-o', `Dir::Etc::sourceparts=${a}/sources.list.d`,
    '-o', `Dir::Etc::preferences=${a}/preferences`,
    '-o', `Dir::Etc::preferencesparts=${a}/preferences.d`,
    '-o', `Dir::State::Lists=${a}/lists`,
    '-o', `Dir::Cache=${a}/cache`,
  ]);
  assert.is(privateSourcesList('http://m.example/debian', 'trixie'),
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://m.example/debian trixie main\n');
});

R('the VRRP-only drop-in per release: the release\'s own ExecStart plus --vrrp (bookworm byte-identical to before)', () => {
  const head = [
    '# play lab: this kernel has no IPVS, and keepalived with a virtual_server block',
    '# dies there whole. Run only the VRRP part; the config is unchanged.',
    '[Service]',
    'ExecStart=',
  ];
  const table: [LabRelease, string][] = [
    ['bookworm', 'ExecStart=/usr/sbin/keepalived --dont-fork --vrrp $DAEMON_ARGS'],
    ['trixie', 'ExecStart=/usr/sbin/keepalived --dont-fork --vrrp $DAEMON_ARGS'],
  ];
  for (const [release, exec] of table) assert.is(vrrpOnlyDropin(release), [...head, exec, ''].join('\n'), release);
});

R('`up --release`: parsed, defaulted, and refused with the releases named', () => {
  const table: [string[], ReturnType<typeof parseUpArgs>][] = [
    [[], { ipvs: false, release: 'bookworm' }],
    [['--release', 'trixie'], { ipvs: false, release: 'trixie' }],
    [['--release=bookworm', '--ipvs'], { ipvs: true, release: 'bookworm' }],
    [['-i', 'inv.ts', '--ipvs', '--release', 'trixie'], { inventory: 'inv.ts', ipvs: true, release: 'trixie' }],
    [['--release'], '--release needs a NAME: bookworm or trixie'],
    [['--release='], '--release needs a NAME: bookworm or trixie'],
    [['--release', 'jammy'], 'unknown release "jammy": the lab builds bookworm or trixie'],
    [['--release=sid'], 'unknown release "sid": the lab builds bookworm or trixie'],
  ];
  for (const [argv, want] of table) assert.equal(parseUpArgs(argv), want, argv.join(' '));
});

R('a profile or state written before releases existed is bookworm', () => {
  assert.is(labRelease({}), 'bookworm');
  assert.is(labRelease({ release: 'trixie' }), 'trixie');
});

R.run();
