/**
 * The lab's pure parts: mirror parsing, subnet arithmetic, names, inventory
 * validation, CLI usage. Nothing here touches the network or the machine.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseDeb822Sources, parseSourcesList } from '../../lib/lab/mirror.ts';
import { linkName, macFor, overlaps, subnetOf } from '../../lib/lab/network.ts';
import { validateHosts } from '../../lib/lab/spec.ts';
import { EXIT } from '../../lib/core/exit-codes.ts';
import { DEFAULT_LAB_HOSTS, LabError, runLabCli } from '../../lib/lab/index.ts';

const Units = suite('lab: pure helpers');

Units('deb822 sources: the deb URI of the suite, comments and deb-src ignored', () => {
  const text = `Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
`;
  assert.equal(parseDeb822Sources(text), [{ uri: 'http://mirror.example/debian', suites: ['bookworm', 'bookworm-updates'] }]);
});

Units('one-line sources.list with options', () => {
  assert.equal(parseSourcesList('deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n# deb http://x y z\n'),
    [{ uri: 'http://m.example/debian', suites: ['bookworm'] }]);
});

Units('subnets and overlaps', () => {
  assert.is(subnetOf('192.168.56.101'), '192.168.56.0/24');
  assert.ok(overlaps('192.168.56.0/24', '192.168.56.0/24'));
  assert.ok(overlaps('192.168.0.0/16', '192.168.56.0/24'));
  assert.ok(overlaps('192.168.56.7', '192.168.56.0/24'));
  assert.not.ok(overlaps('192.168.57.0/24', '192.168.56.0/24'));
  assert.not.ok(overlaps('default', '192.168.56.0/24'), 'the default route is what the lab route overrides');
});

Units('fixed MACs are locally administered and follow the address', () => {
  assert.is(macFor('192.168.56.101'), '02:70:6c:a8:38:65');
  assert.is.not(macFor('192.168.56.101'), macFor('192.168.56.102'));
});

Units('link names fit IFNAMSIZ and stay distinct', () => {
  assert.is(linkName('lb1'), 'plab-lb1');
  const a = linkName('webserver-frontend-01'), b = linkName('webserver-frontend-02');
  assert.ok(a.length <= 15 && b.length <= 15);
  assert.is.not(a, b);
});

Units('the default hosts are the seed\'s', () => {
  assert.equal(DEFAULT_LAB_HOSTS.map((h) => [h.name, h.address, h.iface, h.director]), [
    ['LB1', '192.168.56.101', 'enp0s8', true], ['LB2', '192.168.56.102', 'enp0s8', true],
    ['RS1', '192.168.56.103', 'enp0s8', false], ['RS2', '192.168.56.104', 'enp0s8', false],
  ]);
  assert.equal(validateHosts(DEFAULT_LAB_HOSTS), { subnet: '192.168.56.0/24', gateway: '192.168.56.1', prefixLen: 24 });
});

Units('validation reports every problem at once', () => {
  try {
    validateHosts([
      { name: 'A', address: '10.0.0.1', iface: 'eth0', director: false },
      { name: 'B', address: '10.0.1.5', iface: 'eth0', director: false },
      { name: 'b', address: '10.0.1.5', iface: 'lo', director: false },
    ]);
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, LabError);
    const m = (e as Error).message;
    for (const re of [/the bridge \(\.1\)/, /same machine name "b"/, /also host B's/, /not a valid Linux interface name/, /several \/24 subnets/]) assert.match(m, re);
  }
});

Units('CLI: usage errors exit 1 (as in play) without touching anything', async () => {
  const out: string[] = [];
  const cli = (argv: string[]) => runLabCli(argv, { resolveHosts: async () => [], out: (s) => out.push(s) });
  const cases: Array<[string[], RegExp]> = [
    [[], /usage:/],
    [['frobnicate'], /unknown lab command "frobnicate"/],
    [['up', '--bogus'], /unexpected argument "--bogus"/],
    [['up', '-i'], /-i needs a path/],
    [['up', '--release'], /--release needs a NAME: bookworm or trixie/],
    [['up', '--release', 'jammy'], /unknown release "jammy": the lab builds bookworm or trixie/],
    [['ssh'], /ssh needs a HOST/],
    [['down', 'extra'], /unexpected argument "extra"/],
    [['status', 'extra'], /unexpected argument "extra"/],
    [['reboot'], /reboot needs a HOST/],
    [['heal'], /heal needs a HOST/],
    [['cut'], /cut needs one HOST$/m],
    [['cut', 'LB1', 'LB2'], /cut needs one HOST, not LB1 LB2/],
    [['cut', 'LB1', '--for'], /--for needs whole seconds from 1 to 3600, not ""/],
    [['cut', 'LB1', '--for', '0'], /--for needs whole seconds from 1 to 3600, not "0"/],
    [['cut', 'LB1', '--for', '3601'], /not "3601"/],
    [['cut', 'LB1', '--for', '1.5'], /not "1.5"/],
    [['cut', 'LB1', '--from'], /--from needs a HOST/],
    [['cut', 'LB1', '--vrrp'], /unexpected argument "--vrrp"/],
  ];
  for (const [argv, said] of cases) {
    out.length = 0;
    assert.is(await cli(argv), EXIT.usage, argv.join(' '));
    assert.match(out.join('\n'), said, argv.join(' '));
  }
  assert.is(await cli(['--help']), 0);
  assert.match(out.join('\n'), /play lab ssh HOST/);
});

Units('a non-root user gets a clear error saying why root is needed', () => {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) return; // needs root to drop to nobody
  const script = "import('./lib/cli/main.ts').then(async (m) => process.exit(await m.main(['lab', 'up'])))";
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', script], {
    cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8', env: { ...process.env, HOME: '/tmp' },
  });
  assert.is(r.status, EXIT.labPrerequisite, r.stderr);
  assert.match(r.stdout, /must run as root: it creates network namespaces/);
});

Units.run();
