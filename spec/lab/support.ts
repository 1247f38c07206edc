/**
 * Shared by the lab specs: OpenSSH to a lab host with the lab's key and
 * strict known_hosts checking (independent of play's transport), polling,
 * and the "nothing left behind" check after `down`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { labDown, type LabProfile } from '../../lib/lab/index.ts';
import { isAlive, type ProcRecord } from '../../lib/lab/procs.ts';
import { readLabState } from '../../lib/lab/state.ts';

export interface Ran { code: number; stdout: string; stderr: string }

/** `ssh … root@ADDRESS COMMAND` with the lab's key and known_hosts, strict host key checking. */
export function ssh(p: LabProfile, address: string, command: string, input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [
      '-F', '/dev/null', '-i', p.identityFile, '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${p.knownHostsFile}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
      `root@${address}`, command,
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Like {@link ssh} but fails the test on a non-zero exit; returns stdout. */
export async function sshOk(p: LabProfile, address: string, command: string, input?: string): Promise<string> {
  const r = await ssh(p, address, command, input);
  assert.is(r.code, 0, `ssh ${address} ${JSON.stringify(command)} exited ${r.code}: ${r.stderr}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

/** Poll `check` until it returns true or `ms` pass. */
export async function eventually(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.unreachable(`${what}: not true within ${ms / 1000} s`);
}

/** The processes the lab recorded (nspawn, container inits, qemu). */
export function recordedProcs(): ProcRecord[] {
  return (readLabState()?.hosts ?? []).flatMap((h) => [h.proc, h.init].filter((p): p is ProcRecord => !!p));
}

function runText(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

/** After `down`: no namespace, veth, tap, bridge, mount, process, runtime dir or nspawn entry is left. */
export async function assertNothingLeft(machines: string[], procs: ProcRecord[]): Promise<void> {
  const netns = (await runText('ip', ['netns', 'list'])).split('\n').filter((l) => l.startsWith('playlab-'));
  assert.equal(netns, [], 'lab network namespaces left');
  const links = (JSON.parse(await runText('ip', ['-j', 'link', 'show'])) as { ifname: string }[])
    .map((l) => l.ifname).filter((n) => n.startsWith('plab-') || n === 'playlab0');
  assert.equal(links, [], 'lab links (veth, tap, bridge) left');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/run/play-lab') || l.includes('playlab-'));
  assert.equal(mounts, [], 'lab mounts left');
  assert.not.ok(existsSync('/run/play-lab'), '/run/play-lab left');
  const propagate = '/run/systemd/nspawn/propagate';
  const entries = existsSync(propagate) ? readdirSync(propagate).filter((d) => machines.includes(d)) : [];
  assert.equal(entries, [], 'nspawn propagate dirs left');
  const cgroups = ['/sys/fs/cgroup/play-lab', '/sys/fs/cgroup/systemd/play-lab', '/sys/fs/cgroup/unified/play-lab'].filter((d) => existsSync(d));
  assert.equal(cgroups, [], 'the containers\' cgroups left');
  assert.equal(procs.filter((p) => isAlive(p)).map((p) => p.pid), [], 'recorded processes still alive');
  const routes = (await runText('ip', ['-4', 'route', 'show', 'table', 'all'])).split('\n').filter((l) => l.includes('playlab0'));
  assert.equal(routes, [], 'routes through the lab bridge left');
}

/** Tear the lab down if the run is interrupted, so a ^C leaves nothing either. */
export function downOnSignal(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      labDown().catch((e: Error) => console.error(e.message)).finally(() => process.exit(130));
    });
  }
}

/** Fail early and clearly when the lab suite is not run as root. */
export function requireRootForLab(): void {
  if (process.getuid?.() !== 0) throw new Error('the lab specs (*.lab.ts) bring real hosts up and must run as root');
}
