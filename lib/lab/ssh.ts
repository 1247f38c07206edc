/**
 * Real SSH to lab hosts: a root key the lab generates, a host key per host
 * generated before boot, and a known_hosts file (one plain entry per
 * address) that play's transport uses with strict checking.
 */
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LabError } from './errors.ts';
import { exec, must } from './exec.ts';

/** Generate the lab's root identity (ed25519, no passphrase) at `path`; returns the public key line. */
export async function generateIdentity(path: string): Promise<string> {
  await must('generating the lab SSH key', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'play-lab', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/**
 * Put a host's SSH files into its overlay upper dir before boot: its own
 * ed25519 host key (LAB.md: without host keys ssh.service fails) and root's
 * authorized_keys. Returns the host's public key as "ssh-ed25519 AAAA…".
 */
export async function seedSshFiles(upper: string, machine: string, identityPub: string): Promise<string> {
  mkdirSync(join(upper, 'etc/ssh'), { recursive: true, mode: 0o755 });
  const key = join(upper, 'etc/ssh/ssh_host_ed25519_key');
  await must(`generating the host key of ${machine}`, 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${machine}`, '-f', key]);
  // The upper dir's copy of /root decides the merged mode: sshd's StrictModes wants 0700.
  mkdirSync(join(upper, 'root/.ssh'), { recursive: true, mode: 0o700 });
  chmodSync(join(upper, 'root'), 0o700);
  writeFileSync(join(upper, 'root/.ssh/authorized_keys'), `${identityPub}\n`, { mode: 0o600 });
  const [type, blob] = readFileSync(`${key}.pub`, 'utf8').trim().split(/\s+/);
  return `${type} ${blob}`;
}

/** Write known_hosts: one plain (unhashed) line per host address. */
export function writeKnownHosts(path: string, entries: readonly { address: string; hostKey: string }[]): void {
  writeFileSync(path, entries.map((e) => `${e.address} ${e.hostKey}\n`).join(''), { mode: 0o644 });
}

/**
 * OpenSSH arguments that reach a lab host and nothing else: no user or system
 * ssh config (it could name a proxy), the lab's key only, strict checking
 * against the lab's known_hosts only.
 */
export function sshArgs(o: { identityFile: string; knownHostsFile: string; address: string; batch?: boolean }): string[] {
  return [
    '-F', '/dev/null',
    '-i', o.identityFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${o.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'LogLevel=ERROR',
    ...(o.batch ? ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5'] : []),
    `root@${o.address}`,
  ];
}

/** Can a TCP connection to `address:port` be opened within `timeoutMs`? */
export function tcpOpen(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until a lab host answers SSH: first TCP 22 opens, then `ssh … true`
 * succeeds. Only ever called with lab addresses, after the route check.
 * `alive` lets the caller stop waiting when the host's process has died.
 */
export async function waitForSsh(o: {
  machine: string; address: string; identityFile: string; knownHostsFile: string; timeoutMs: number; alive: () => boolean; logHint: string;
}): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'TCP port 22 never opened';
  while (Date.now() < deadline) {
    if (!o.alive()) throw new LabError(`${o.machine} (${o.address}) stopped while booting; see ${o.logHint}`);
    if (await tcpOpen(o.address, 22, 1000)) {
      // Answering SSH is not being booted: units started right after (the
      // first play) failed with systemd's 219/CGROUP while boot was still
      // settling. Wait for the boot to finish; "degraded" is finished too.
      const r = await exec('ssh', [...sshArgs({ ...o, batch: true }), 'systemctl is-system-running --wait >/dev/null 2>&1; true'], { timeoutMs: 60_000 });
      if (r.code === 0) return;
      last = `ssh exited with ${r.code}: ${r.stderr.trim()}`;
    }
    await sleep(200);
  }
  throw new LabError(`${o.machine} (${o.address}) did not answer SSH within ${o.timeoutMs / 1000} s (${last}); see ${o.logHint}`);
}
