import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpus, hostFacts, initSystem, interfaces, kernel, memory, osRelease, packageManager } from '../../lib/facts/host.ts';
import { FactCache } from '../../lib/engine/fact-cache.ts';
import { FakeTransport } from '../support/fake-transport.ts';

/** Recorded on a Debian 12 host (the outputs of exactly these commands). */
const DEBIAN = {
  os: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
  ip: 'link: 1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n'
    + 'link: 2: enp0s8@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n'
    + 'addr: 1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n'
    + 'addr: 2: enp0s8    inet 192.168.56.101/24 brd 192.168.56.255 scope global enp0s8\\       valid_lft forever preferred_lft forever\n'
    + 'addr: 2: enp0s8    inet 192.168.56.200/32 scope global enp0s8\\       valid_lft forever preferred_lft forever\n'
    + 'addr: 2: enp0s8    inet6 fe80::5054:ff:fe12:3456/64 scope link \\       valid_lft forever preferred_lft forever\n',
};

const Facts = suite('typed host facts: recorded outputs → typed values');

Facts('os-release: Debian and Ubuntu (ID_LIKE), and a host without one', () => {
  assert.equal(osRelease.parse(DEBIAN.os), { id: 'debian', versionId: '12', codename: 'bookworm', like: [], prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  assert.equal(osRelease.parse('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n').like, ['debian']);
  assert.equal(osRelease.parse(''), { id: '', versionId: '', codename: '', like: [], prettyName: '' });
});

Facts('interfaces: state, MAC, MTU and every address; a veth name@peer is the interface name', () => {
  const [lo, eth] = interfaces.parse(DEBIAN.ip);
  assert.equal(lo, { name: 'lo', state: 'UNKNOWN', mtu: 65536, mac: '00:00:00:00:00:00', addresses: [{ family: 'inet', address: '127.0.0.1', prefix: 8, scope: 'host' }] });
  assert.is(eth!.name, 'enp0s8');
  assert.is(eth!.state, 'UP');
  assert.is(eth!.mac, '52:54:00:12:34:56');
  assert.equal(eth!.addresses.map((a) => `${a.address}/${a.prefix} ${a.scope}`), ['192.168.56.101/24 global', '192.168.56.200/32 global', 'fe80::5054:ff:fe12:3456/64 link']);
  assert.equal(interfaces.parse(''), [], 'no iproute2: no interfaces, no failure');
});

Facts('kernel, memory, CPUs, init, package manager', () => {
  assert.equal(kernel.parse('Linux 6.1.0-18-amd64 x86_64\n'), { name: 'Linux', release: '6.1.0-18-amd64', machine: 'x86_64' });
  assert.equal(memory.parse('MemTotal:        2014464 kB\nMemAvailable:    1534208 kB\nSwapTotal:             0 kB\n'), { total: 2014464 * 1024, available: 1534208 * 1024, swapTotal: 0 });
  assert.equal(cpus.parse('count=2\nmodel=Intel(R) Xeon(R) Processor\n'), { count: 2, model: 'Intel(R) Xeon(R) Processor' });
  assert.is(initSystem.parse('systemd\n'), 'systemd');
  assert.is(initSystem.parse('tini\n'), 'tini');
  assert.is(packageManager.parse('apt-get\n'), 'apt');
  assert.is(packageManager.parse(''), '');
});

Facts('all of them in one round trip', async () => {
  const all = Object.values(hostFacts);
  const t = new FakeTransport('h1', [
    { cmd: osRelease.command, stdout: DEBIAN.os }, { cmd: kernel.command, stdout: 'Linux 6.1.0-18-amd64 x86_64\n' }, { cmd: interfaces.command, stdout: DEBIAN.ip },
    { cmd: memory.command, stdout: 'MemTotal: 1024 kB\n' }, { cmd: cpus.command, stdout: 'count=1\n' }, { cmd: initSystem.command, stdout: 'systemd\n' }, { cmd: packageManager.command, stdout: 'apt-get\n' },
  ]);
  const cache = new FactCache(t);
  await cache.load(all);
  assert.is(t.commandCount, 1);
  assert.is((await cache.get(osRelease)).codename, 'bookworm');
  assert.is((await cache.get(memory)).total, 1024 * 1024);
  assert.is(t.commandCount, 1, 'read from the batch');
});

Facts('each command runs with /bin/sh on this machine and parses', () => {
  for (const f of Object.values(hostFacts)) {
    const out = execFileSync('sh', ['-c', f.command]).toString();
    assert.ok(f.parse(out) !== undefined, f.key);
  }
  assert.ok(kernel.parse(execFileSync('sh', ['-c', kernel.command]).toString()).release.length > 0);
  assert.ok(cpus.parse(execFileSync('sh', ['-c', cpus.command]).toString()).count >= 1);
});

Facts.run();
