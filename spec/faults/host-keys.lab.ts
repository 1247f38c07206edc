/**
 * Host keys against real sshd: a host whose key differs from the recorded
 * one is refused, naming the host and both fingerprints, before anything is
 * sent (its marker file never appears), with or without
 * --accept-new-host-keys; an unknown host is refused unless that flag is
 * given, which records its key. The lab's own known_hosts is switched off
 * (PLAY_LAB=0): the runs read ~/.ssh/known_hosts of a temporary HOME.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LabProfile } from '../../lib/lab/index.ts';
import { MARKER } from '../fixtures/playbooks/faults-marker.ts';
import { faultLab, hostFileSha, jsonRun, labDown, once, play, plainHosts, rmOnHost, type FaultHost } from './support.ts';

const execP = promisify(execFile);
const Keys = suite('host keys');
let profile: LabProfile;
let home = '';
let hosts: FaultHost[] = [];
/** Each lab host's real key line ("ADDRESS ssh-ed25519 AAAA…"), fingerprint, and an impostor key with its fingerprint. */
const real = new Map<string, { line: string; fp: string }>();
let fake = { key: '', fp: '' };

const fingerprint = async (file: string) => (await execP('ssh-keygen', ['-l', '-E', 'sha256', '-f', file])).stdout.split(/\s+/)[1]!;

const lab = once(async () => {
  profile = await faultLab(plainHosts('K', 2, 57, 41));
  home = mkdtempSync(join(tmpdir(), 'play-faults-home-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  hosts = profile.hosts.map((h) => ({ name: h.name, address: h.address, identityFile: profile.identityFile }));
  for (const line of readFileSync(profile.knownHostsFile, 'utf8').trim().split('\n')) {
    const h = profile.hosts.find((x) => x.address === line.split(' ')[0])!;
    const f = join(home, `${h.name}.known`);
    writeFileSync(f, `${line}\n`);
    real.set(h.name, { line, fp: await fingerprint(f) });
  }
  const keyFile = join(home, 'impostor');
  await execP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  fake = { key: readFileSync(`${keyFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' '), fp: await fingerprint(`${keyFile}.pub`) };
  return profile;
});

Keys.after(async () => {
  if (home) rmSync(home, { recursive: true, force: true });
  await labDown();
});

const knownHosts = () => join(home, '.ssh', 'known_hosts');
const address = (name: string) => profile.hosts.find((h) => h.name === name)!.address;
const run = (args: string[] = []) => play(['spec/fixtures/playbooks/faults-marker.ts', '--json', '--connect-timeout', '5', ...args], {
  hosts, env: { PLAY_LAB: '0', HOME: home, SSH_AUTH_SOCK: '' },
});

Keys('a changed host key is refused naming the host and both fingerprints, and nothing reaches the host — with --accept-new-host-keys too', async () => {
  await lab();
  const recorded = `${address('K1')} ${fake.key}\n${real.get('K2')!.line}\n`;
  for (const extra of [[], ['--accept-new-host-keys']]) {
    await Promise.all(['K1', 'K2'].map((h) => rmOnHost(h, MARKER)));
    writeFileSync(knownHosts(), recorded);
    const r = await run(extra);
    assert.is(r.code, 4, `${extra.join(' ')}: ${r.stderr}${r.stdout.slice(-2000)}`);
    const { tasks, recap } = jsonRun(r.stdout);
    assert.is(recap.K1!.unreachable, 1);
    assert.is(recap.K2!.changed, 1, 'the host with the right key is not held back');
    const err: string = tasks.find((t) => t.host === 'K1')!.error;
    assert.match(err, /^K1: HOST KEY CHANGED/);
    assert.ok(err.includes(fake.fp) && err.includes(real.get('K1')!.fp), `${err}\nexpected both ${fake.fp} (known) and ${real.get('K1')!.fp} (presented)`);
    assert.is(hostFileSha('K1', MARKER), 'missing', 'K1 was changed although its key was refused');
    assert.is(readFileSync(knownHosts(), 'utf8'), recorded, 'known_hosts was rewritten');
    if (!extra.length) console.log(`      ${err}`);
  }
});

Keys('an unknown host is refused; --accept-new-host-keys trusts and records it, and the next run needs no flag', async () => {
  await lab();
  await Promise.all(['K1', 'K2'].map((h) => rmOnHost(h, MARKER)));
  writeFileSync(knownHosts(), `${real.get('K2')!.line}\n`);
  const refused = await run();
  assert.is(refused.code, 4, refused.stderr + refused.stdout);
  const err: string = jsonRun(refused.stdout).tasks.find((t) => t.host === 'K1')!.error;
  assert.match(err, /^K1: host key for 192\.168\.57\.41 is not known/);
  assert.ok(err.includes(real.get('K1')!.fp), err);
  assert.is(hostFileSha('K1', MARKER), 'missing');

  const accepted = await run(['--accept-new-host-keys']);
  assert.is(accepted.code, 0, accepted.stderr + accepted.stdout.slice(-2000));
  assert.is.not(hostFileSha('K1', MARKER), 'missing');
  const lines = readFileSync(knownHosts(), 'utf8').trim().split('\n');
  assert.is(lines.length, 2, lines.join('\n'));
  writeFileSync(join(home, 'recorded'), `${lines[1]}\n`);
  assert.is(await fingerprint(join(home, 'recorded')), real.get('K1')!.fp, 'the recorded key is the host\'s');

  const trusted = await run();
  assert.is(trusted.code, 0, trusted.stderr);
  assert.is(readFileSync(knownHosts(), 'utf8').trim().split('\n').length, 2, 'nothing recorded twice');
});

Keys.run();
