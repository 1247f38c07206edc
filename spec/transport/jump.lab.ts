/**
 * ProxyJump against real lab hosts: RS1 reached through RS2 (both real
 * OpenSSH servers, the lab's key and known_hosts), with the jump from the
 * inventory's `proxyJump` and from an ssh_config `Host` alias. The proof
 * that the jump is used is what RS1's sshd sees as its client
 * (`$SSH_CONNECTION`): RS2's address, where a direct connection shows the
 * controller's. Both host keys are checked: a known_hosts without RS2's key
 * is refused, naming the jump host, before anything reaches RS1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeConnector } from '../../lib/cli/connector.ts';
import { HostKeyError } from '../../lib/core/errors.ts';
import type { HostView } from '../../lib/core/host.ts';
import type { LabProfile } from '../../lib/lab/index.ts';
import { noSshConfig, sshConfigLookup, type SshConfigLookup } from '../../lib/transport/ssh-config.ts';
import { freshLab, labDown } from '../support/lab.ts';
import { tempDir } from './ssh-server.ts';

const Jump = suite('ProxyJump on the lab: RS1 through RS2, both host keys checked');
const RS1 = '192.168.56.103';
const RS2 = '192.168.56.104';
const dir = tempDir('play-jump-lab-');
let lab: LabProfile;

const host = (settings: HostView['settings'], address = RS1): HostView => ({
  name: 'RS1', address, port: 22, user: 'root', become: false, groups: [], vars: {}, settings,
});
const connect = (h: HostView, config: SshConfigLookup = noSshConfig) =>
  makeConnector({ acceptNewHostKeys: false, connectTimeoutMs: 15_000, commandTimeoutMs: 30_000 }, undefined, config)(h);

/** The client address RS1's sshd saw for this connection. */
async function clientSeen(h: HostView, config?: SshConfigLookup): Promise<string> {
  const t = await connect(h, config);
  try {
    const r = await t.run('echo "$SSH_CONNECTION"');
    assert.is(r.code, 0, r.stderr);
    return r.stdout.trim().split(' ')[0]!;
  } finally {
    await t.close();
  }
}

Jump('lab up', async () => {
  lab = await freshLab();
});

Jump('direct: RS1 sees the controller', async () => {
  assert.is(await clientSeen(host({ identityFile: lab.identityFile, knownHostsFile: lab.knownHostsFile })), '192.168.56.1');
});

Jump('the inventory\'s proxyJump root@RS2: RS1 sees RS2', async () => {
  assert.is(await clientSeen(host({ identityFile: lab.identityFile, knownHostsFile: lab.knownHostsFile, proxyJump: `root@${RS2}` })), RS2);
});

Jump('~/.ssh/config: a Host alias with HostName and ProxyJump by alias, the key and known_hosts from there too', async () => {
  const config = sshConfigLookup(`Host rs1-behind-rs2
  HostName ${RS1}
  ProxyJump rs2
Host rs2
  HostName ${RS2}
Host *
  User root
  IdentityFile ${lab.identityFile}
  UserKnownHostsFile ${lab.knownHostsFile}
`);
  assert.is(await clientSeen(host({}, 'rs1-behind-rs2'), config), RS2);
});

Jump('the jump host\'s key not in known_hosts: refused, naming the jump host', async () => {
  const onlyRs1 = join(dir.path, 'known_hosts-rs1');
  writeFileSync(onlyRs1, readFileSync(lab.knownHostsFile, 'utf8').split('\n').filter((l) => l.split(/\s/)[0] === RS1).join('\n') + '\n');
  const e = await connect(host({ identityFile: lab.identityFile, knownHostsFile: onlyRs1, proxyJump: `root@${RS2}` })).then(() => undefined, (x: unknown) => x);
  assert.instance(e, HostKeyError);
  assert.match((e as Error).message, `(jump host ${RS2}`);
});

Jump('the target\'s key not in known_hosts: refused, though RS2 let the channel through', async () => {
  const onlyRs2 = join(dir.path, 'known_hosts-rs2');
  writeFileSync(onlyRs2, readFileSync(lab.knownHostsFile, 'utf8').split('\n').filter((l) => l.split(/\s/)[0] === RS2).join('\n') + '\n');
  const e = await connect(host({ identityFile: lab.identityFile, knownHostsFile: onlyRs2, proxyJump: `root@${RS2}` })).then(() => undefined, (x: unknown) => x);
  assert.instance(e, HostKeyError);
  assert.match((e as Error).message, /^RS1: host key for 192\.168\.56\.103 is not known/);
});

Jump.after(async () => {
  dir.remove();
  await labDown();
});
Jump.run();
