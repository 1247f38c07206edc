/**
 * Where a host's connection settings come from: the host's own, then its
 * groups' (in declaration order, later wins), then the inventory's
 * defaults, then ~/.ssh/config for its address, then play's defaults.
 * Tables: an inventory (and an ssh_config text) in, SSH options out.
 */
import { homedir } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sshOptionsOf } from '../../lib/cli/connector.ts';
import { parseJump } from '../../lib/core/jump-spec.ts';
import { defineInventory, type InventoryDef } from '../../lib/dsl/inventory.ts';
import { noSshConfig, sshConfigLookup } from '../../lib/transport/ssh-config.ts';

const Settings = suite('connection settings: host > groups > defaults > ~/.ssh/config > play');
const home = process.env.HOME || homedir();

const base: InventoryDef<Record<string, unknown>> = {
  vars: {},
  defaults: { user: 'deploy', knownHostsFile: '/etc/play/known_hosts' },
  groups: {
    web: { hosts: ['web1', 'web2'], port: 2200, identityFile: '/keys/web' },
    dmz: { hosts: ['web2'], proxyJump: 'bastion', port: 2222 },
  },
  hosts: {
    web1: { address: 'web1.internal' },
    web2: { address: 'web2.internal', user: 'root' },
    db1: { address: 'db1' },
  },
};

const sshConfig = `Host db1
  HostName 10.0.0.5
  User dbadmin
  Port 2022
  IdentityFile ~/.ssh/db
  StrictHostKeyChecking accept-new
Host bastion
  HostName 192.0.2.1
  User jump
Host *
  Port 2999
`;

const cases: Array<{ host: string; config?: string; want: object }> = [
  {
    host: 'web1', // group port and key, the defaults' user and known_hosts
    want: { address: 'web1.internal', port: 2200, user: 'deploy', identityFile: '/keys/web', knownHostsFile: '/etc/play/known_hosts', acceptNewHostKeys: false },
  },
  {
    host: 'web2', // its own user; dmz declared after web: its port wins; the jump host from ~/.ssh/config, checked against the inventory's known_hosts
    config: sshConfig,
    want: {
      address: 'web2.internal', port: 2222, user: 'root', identityFile: '/keys/web', knownHostsFile: '/etc/play/known_hosts', acceptNewHostKeys: false,
      jump: { address: '192.0.2.1', port: 2999, user: 'jump', identityFile: '/keys/web', knownHostsFile: '/etc/play/known_hosts' },
    },
  },
  {
    host: 'db1', // ~/.ssh/config fills in what the inventory leaves out (the defaults' user is set, so dbadmin is not used)
    config: sshConfig,
    want: { address: '10.0.0.5', port: 2022, user: 'deploy', identityFile: `${home}/.ssh/db`, knownHostsFile: '/etc/play/known_hosts', acceptNewHostKeys: true },
  },
  {
    host: 'db1', // no ssh_config: play's defaults
    want: { address: 'db1', port: 22, user: 'deploy', knownHostsFile: '/etc/play/known_hosts', acceptNewHostKeys: false },
  },
];

const timeouts = { connectTimeoutMs: 10_000, commandTimeoutMs: 300_000 };

for (const c of cases) {
  Settings(`${c.host}${c.config ? ' with ~/.ssh/config' : ''}`, () => {
    const inv = defineInventory(base);
    assert.equal(inv.problems, []);
    const view = inv.hosts.find((h) => h.name === c.host)!;
    // What play decides for every host is added as given; the rest is the host's own.
    assert.equal(sshOptionsOf(view, c.config ? sshConfigLookup(c.config) : noSshConfig, { acceptNewHostKeys: false, ...timeouts }), { host: c.host, ...timeouts, become: false, ...c.want });
  });
}

Settings('the host view shows the merged settings with play\'s defaults, for listings and the lab', () => {
  const inv = defineInventory(base);
  assert.equal(inv.hosts.map((h) => [h.name, h.user, h.port, h.proxyJump]), [['web1', 'deploy', 2200, undefined], ['web2', 'root', 2222, 'bastion'], ['db1', 'deploy', 22, undefined]]);
});

Settings('a group\'s port that is not a TCP port is a problem of each host it reaches', () => {
  const inv = defineInventory({ vars: {}, groups: { web: { hosts: ['a'], port: 70000 } }, hosts: { a: { address: 'a' } } });
  assert.equal(inv.problems.map((p) => [p.host, p.field]), [['a', 'port']]);
});

Settings.run();

const Jumps = suite('proxyJump: [user@]host[:port], checked before anything connects');

const jumpCases: Array<[string, ReturnType<typeof parseJump>]> = [
  ['bastion', { host: 'bastion' }],
  ['deploy@bastion:2222', { user: 'deploy', host: 'bastion', port: 2222 }],
  ['[2001:db8::1]:22', { host: '2001:db8::1', port: 22 }],
  ['bastion:http', undefined],
  ['bastion:70000', undefined],
  ['a b', undefined],
  ['', undefined],
];
for (const [spec, want] of jumpCases) Jumps(JSON.stringify(spec), () => assert.equal(parseJump(spec), want));

Jumps('an inventory\'s proxyJump that is not one: a problem naming host and field', () => {
  const inv = defineInventory({ vars: {}, hosts: { a: { address: 'a', proxyJump: 'bastion:http' }, b: { address: 'b', proxyJump: 7 as never } } });
  assert.equal(inv.problems, [
    { host: 'a', field: 'proxyJump', message: 'must be [user@]host[:port], got the string "bastion:http"' },
    { host: 'b', field: 'proxyJump', message: 'must be [user@]host[:port], got 7' },
  ]);
});

Jumps.run();
