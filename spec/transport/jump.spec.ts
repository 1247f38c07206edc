/**
 * ProxyJump: a host reached only through another, both in-process SSH
 * servers on 127.0.0.1 (the jump host opens the TCP channel to the target,
 * ssh2's forwardOut), with both host keys checked against known_hosts. The
 * jump comes from ~/.ssh/config (sshConfigLookup, as the connector reads
 * it) or from the inventory's proxyJump.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentClient } from '../../lib/agent/client.ts';
import { serveAgent } from '../../lib/agent/server.ts';
import { makeConnector } from '../../lib/cli/connector.ts';
import { Connections } from '../../lib/engine/connections.ts';
import { HostKeyError } from '../../lib/core/errors.ts';
import type { HostView } from '../../lib/core/host.ts';
import type { Transport } from '../../lib/core/transport.ts';
import { knownHostsLine } from '../../lib/transport/known-hosts.ts';
import { noSshConfig, readSshConfig, sshConfigLookup, type SshConfigLookup } from '../../lib/transport/ssh-config.ts';
import { keyPair, startSshServer, tempDir, type TestServer } from './ssh-server.ts';

const jumpKey = keyPair();
const targetKey = keyPair();
const clientKey = keyPair();

const Jump = suite('ProxyJump through a jump host on 127.0.0.1, both host keys checked');
const dir = tempDir('play-jump-');
let jump: TestServer;
let target: TestServer;
let identityFile: string;
const knownHosts = (name: string, ...lines: string[]) => {
  const f = join(dir.path, name);
  writeFileSync(f, lines.join(''));
  return f;
};
let both: string;

Jump.before(async () => {
  jump = await startSshServer({ hostKeys: [jumpKey], clientKey, forwarding: true });
  target = await startSshServer({ hostKeys: [targetKey], clientKey });
  identityFile = join(dir.path, 'id_test');
  writeFileSync(identityFile, clientKey.private, { mode: 0o600 });
  both = knownHosts('both', knownHostsLine('127.0.0.1', jump.port, jumpKey.blob), knownHostsLine('127.0.0.1', target.port, targetKey.blob));
});
Jump.after(async () => {
  await jump.close();
  await target.close();
  dir.remove();
});

const host = (settings: HostView['settings'], address = 'target'): HostView => ({
  name: 'web1', address, port: 22, user: 'root', become: false, groups: [], vars: {}, settings,
});
const connect = (h: HostView, config: SshConfigLookup = noSshConfig) => makeConnector({ acceptNewHostKeys: false, connectTimeoutMs: 5_000, commandTimeoutMs: 10_000 }, undefined, config)(h);

async function runs(t: Transport): Promise<void> {
  try {
    const r = await t.run('echo through');
    assert.is(r.stdout, 'through\n');
  } finally {
    await t.close();
  }
}

Jump('from ~/.ssh/config: Host patterns, HostName, Port, User, ProxyJump by alias; the target only through the jump host', async () => {
  const config = sshConfigLookup(`Host target
  HostName 127.0.0.1
  Port ${target.port}
  ProxyJump jumper
Host jump*
  HostName 127.0.0.1
  Port ${jump.port}
Host *
  User root
`);
  const before = { forwards: jump.forwards.length, commands: target.commands.length, jumpCommands: jump.commands.length };
  await runs(await connect(host({ identityFile, knownHostsFile: both }), config));
  assert.equal(jump.forwards.slice(before.forwards), [`127.0.0.1:${target.port}`]);
  assert.is(target.commands.length - before.commands, 1);
  assert.is(jump.commands.length, before.jumpCommands, 'a command ran on the jump host');
});

Jump('from the inventory: proxyJump user@host:port, no ssh config', async () => {
  const before = jump.forwards.length;
  await runs(await connect(host({ identityFile, knownHostsFile: both, port: target.port, proxyJump: `root@127.0.0.1:${jump.port}` }, '127.0.0.1')));
  assert.equal(jump.forwards.slice(before), [`127.0.0.1:${target.port}`]);
});

Jump('the jump host\'s key unknown: refused before anything reaches the target', async () => {
  const before = { forwards: jump.forwards.length, connections: target.connections };
  const onlyTarget = knownHosts('only-target', knownHostsLine('127.0.0.1', target.port, targetKey.blob));
  const e = await connect(host({ identityFile, knownHostsFile: onlyTarget, port: target.port, proxyJump: `127.0.0.1:${jump.port}` }, '127.0.0.1')).then(() => undefined, (x: unknown) => x);
  assert.instance(e, HostKeyError);
  assert.match((e as Error).message, `web1 (jump host 127.0.0.1:${jump.port}): host key for [127.0.0.1]:${jump.port}`);
  assert.is(jump.forwards.length, before.forwards);
  assert.is(target.connections, before.connections);
});

Jump('the target\'s key unknown: refused, though the jump host let the channel through', async () => {
  const onlyJump = knownHosts('only-jump', knownHostsLine('127.0.0.1', jump.port, jumpKey.blob));
  const e = await connect(host({ identityFile, knownHostsFile: onlyJump, port: target.port, proxyJump: `127.0.0.1:${jump.port}` }, '127.0.0.1')).then(() => undefined, (x: unknown) => x);
  assert.instance(e, HostKeyError);
  assert.match((e as Error).message, /^web1: host key for \[127\.0\.0\.1\]:\d+ is not known/);
});

Jump('through the connection agent: a second run reuses the connection made through the jump host (one login on each); once known_hosts drops the jump host, it is not reused', async () => {
  const agentDir = join(dir.path, 'agent');
  const agent = await serveAgent({ dir: agentDir, persistMs: 30_000 });
  const clients: AgentClient[] = [];
  const before = { jump: jump.connections, target: target.connections };
  const kh = knownHosts('agent-known-hosts', knownHostsLine('127.0.0.1', jump.port, jumpKey.blob), knownHostsLine('127.0.0.1', target.port, targetKey.blob));
  try {
    for (const word of ['one', 'two']) {
      const c = await AgentClient.find(agentDir);
      if (!c) throw new Error(`no agent in ${agentDir}`);
      clients.push(c);
      const connector = makeConnector({ acceptNewHostKeys: false, connectTimeoutMs: 5_000, commandTimeoutMs: 10_000, agent: c }, undefined, noSshConfig);
      const t = await connector(host({ identityFile, knownHostsFile: kh, port: target.port, proxyJump: `127.0.0.1:${jump.port}` }, '127.0.0.1'));
      assert.is((await t.run(`echo ${word}`)).stdout, `${word}\n`);
      await t.close();
      c.close();
    }
    assert.is(jump.connections - before.jump, 1);
    assert.is(target.connections - before.target, 1);
    // The jump host's entry removed from that known_hosts: the kept connection is not reused, and a new one is refused.
    const c = await AgentClient.find(agentDir);
    clients.push(c!);
    const edited = knownHosts('agent-known-hosts', knownHostsLine('127.0.0.1', target.port, targetKey.blob));
    const connector = makeConnector({ acceptNewHostKeys: false, connectTimeoutMs: 5_000, commandTimeoutMs: 10_000, agent: c! }, undefined, noSshConfig);
    const e = await connector(host({ identityFile, knownHostsFile: edited, port: target.port, proxyJump: `127.0.0.1:${jump.port}` }, '127.0.0.1')).then(() => undefined, (x: unknown) => x);
    assert.instance(e, HostKeyError);
    assert.match((e as Error).message, '(jump host 127.0.0.1:');
  } finally {
    for (const c of clients) c.close();
    await agent.stop();
  }
});

Jump('a reconnect (reboot) goes through the same connector: again through the jump host from ~/.ssh/config, both keys checked again', async () => {
  const config = sshConfigLookup(`Host target\n  HostName 127.0.0.1\n  Port ${target.port}\n  ProxyJump 127.0.0.1:${jump.port}\n`);
  const kh = knownHosts('reconnect-known-hosts', knownHostsLine('127.0.0.1', jump.port, jumpKey.blob), knownHostsLine('127.0.0.1', target.port, targetKey.blob));
  const h = host({ identityFile, knownHostsFile: kh });
  const connections = new Connections(makeConnector({ acceptNewHostKeys: false, connectTimeoutMs: 5_000, commandTimeoutMs: 10_000 }, undefined, config));
  const before = { forwards: jump.forwards.length, target: target.connections };
  try {
    const link = await connections.get(h);
    assert.is((await link.run('echo first')).stdout, 'first\n');
    await connections.reconnect(h);
    assert.is((await link.run('echo second')).stdout, 'second\n');
    assert.equal(jump.forwards.slice(before.forwards), [`127.0.0.1:${target.port}`, `127.0.0.1:${target.port}`]);
    assert.is(target.connections - before.target, 2);
    assert.is(link.commandCount, 2);
    // The host rebuilt with another key (known_hosts no longer trusts what it presents): the reconnect is refused.
    knownHosts('reconnect-known-hosts', knownHostsLine('127.0.0.1', jump.port, jumpKey.blob), knownHostsLine('127.0.0.1', target.port, jumpKey.blob));
    const e = await connections.reconnect(h).then(() => undefined, (x: unknown) => x);
    assert.instance(e, HostKeyError);
    assert.match((e as Error).message, /^web1: HOST KEY CHANGED for \[127\.0\.0\.1\]:\d+/, (e as Error).message);
  } finally {
    await connections.closeAll();
  }
});

Jump.run();

const Config = suite('~/.ssh/config: what play takes from it');
const lookup = sshConfigLookup(`Host bastion
  HostName 10.0.0.1
  User jumper
Host web? !web9
  HostName %h.example.net
  Port 2222
  IdentityFile ~/.ssh/web_%r
  UserKnownHostsFile ~/.ssh/kh_a ~/.ssh/kh_b
  StrictHostKeyChecking accept-new
  ProxyJump bastion,other
Host *
  User deploy
  Port 22
`);
const home = process.env.HOME;
const cases: Array<{ host: string; want: object }> = [
  {
    host: 'web1', want: {
      hostName: 'web1.example.net', user: 'deploy', port: 2222, identityFile: `${home}/.ssh/web_deploy`,
      proxyJump: 'bastion', knownHostsFile: [`${home}/.ssh/kh_a`, `${home}/.ssh/kh_b`], acceptNewHostKeys: true,
    },
  },
  { host: 'web9', want: { user: 'deploy', port: 22 } },
  { host: 'bastion', want: { hostName: '10.0.0.1', user: 'jumper', port: 22 } },
];
for (const c of cases) Config(`${c.host}: first value wins, patterns and negation, tokens expanded`, () => assert.equal(lookup(c.host), c.want));
Config('a Port that is not a TCP port is named with its host', () => {
  assert.throws(() => sshConfigLookup('Host x\n  Port 99999\n')('x'), /Port "99999" for host x is not a TCP port/);
});
Config('Include: files inlined where the directive stands, globbed and relative to ~/.ssh, nested; a missing top file is no config', () => {
  const home = tempDir('play-ssh-home-');
  const saved = process.env.HOME;
  try {
    process.env.HOME = home.path;
    mkdirSync(join(home.path, '.ssh/config.d'), { recursive: true });
    writeFileSync(join(home.path, '.ssh/config'), 'Include config.d/*.conf\nHost *\n  User fallback\n');
    writeFileSync(join(home.path, '.ssh/config.d/10-web.conf'), 'Host web*\n  User web\n  Include ~/.ssh/ports\n');
    writeFileSync(join(home.path, '.ssh/config.d/20-db.conf'), 'Host db\n  User db\n');
    writeFileSync(join(home.path, '.ssh/config.d/notes.txt'), 'Host web1\n  User never\n');
    writeFileSync(join(home.path, '.ssh/ports'), 'Port 2201\n');
    const lookup = readSshConfig();
    assert.equal(lookup('web1'), { user: 'web', port: 2201 });
    assert.equal(lookup('db'), { user: 'db' });
    assert.equal(lookup('other'), { user: 'fallback' });
    assert.equal(readSshConfig(join(home.path, 'absent'))('web1'), {});
  } finally {
    process.env.HOME = saved;
    home.remove();
  }
});
Config.run();
