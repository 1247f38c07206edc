/**
 * Shared by the fault specs: a lab of plain hosts, the CLI as a child process
 * (with the hosts given to spec/fixtures/inventory/faults.ts through the
 * environment), and ways to look at and hurt a host from the root namespace
 * without going through the network that is being hurt: its files through
 * the overlay's merged view, its processes through its PID namespace, its
 * link with `ip link` and `tc`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as assert from 'uvu/assert';
import { labDown, labUp, type LabHostSpec, type LabProfile } from '../../lib/lab/index.ts';
import { linkName } from '../../lib/lab/network.ts';
import { overlayPaths } from '../../lib/lab/overlay.ts';
import { hostDir } from '../../lib/lab/paths.ts';
import { machineName } from '../../lib/lab/spec.ts';
import { readLabState } from '../../lib/lab/state.ts';
import { assertRoutedToLab } from '../support/lab.ts';
import type { FaultVars } from '../fixtures/inventory/faults.ts';

const execP = promisify(execFile);
export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `count` plain hosts (no directors) named PREFIX01… on 192.168.`net`.`first`…. */
export function plainHosts(prefix: string, count: number, net = 57, first = 11): LabHostSpec[] {
  const width = String(count).length < 2 ? 1 : 2;
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}${String(i + 1).padStart(width, '0')}`, address: `192.168.${net}.${first + i}`, iface: 'eth1', director: false,
  }));
}

/** A fresh lab of these hosts, checked to route to the lab bridge before anything talks to it. */
export async function faultLab(hosts: LabHostSpec[]): Promise<LabProfile> {
  await labDown();
  const p = await labUp({ hosts, log: (l) => process.env.PLAY_SPEC_VERBOSE && console.log(`    lab: ${l}`) });
  await assertRoutedToLab(p);
  return p;
}

export { labDown };

/** A host for the inventory's PLAY_FAULTS. */
export interface FaultHost { name: string; address: string; port?: number; identityFile?: string; vars?: Partial<FaultVars> }

export const inventoryHosts = (p: LabProfile, extra: Record<string, Partial<FaultVars>> = {}): FaultHost[] =>
  p.hosts.map((h) => ({ name: h.name, address: h.address, ...(extra[h.name] ? { vars: extra[h.name] } : {}) }));

export interface Ran { code: number; stdout: string; stderr: string; ms: number }

/** `play <args> -i spec/fixtures/inventory/faults.ts` as a child process; `onStart` gets the child (to signal it). */
export function play(args: readonly string[], o: {
  hosts: readonly FaultHost[]; vars?: Partial<FaultVars>; env?: NodeJS.ProcessEnv; timeoutMs?: number;
  onStart?: (child: ChildProcess) => void; wrap?: readonly string[];
}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, join(repo, 'bin/play.js'), ...args, '-i', 'spec/fixtures/inventory/faults.ts'];
    const [cmd, ...rest] = [...(o.wrap ?? []), ...argv];
    const started = Date.now();
    const child = spawn(cmd!, rest, {
      cwd: repo,
      env: { ...process.env, NO_COLOR: '1', PLAY_FAULTS: JSON.stringify({ hosts: o.hosts, vars: o.vars ?? {} }), ...o.env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`play ${args.join(' ')} did not end in ${(o.timeoutMs ?? 120_000) / 1000} s\n${stdout}\n${stderr}`)); }, o.timeoutMs ?? 120_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, ms: Date.now() - started }); });
    o.onStart?.(child);
  });
}

/** Task events and the recap of a `--json` run. */
export type Counts = { ok: number; changed: number; failed: number; skipped: number; unreachable: number };
export function jsonRun(stdout: string): { tasks: Array<Record<string, any>>; recap: Record<string, Counts> } {
  const lines = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  const last = lines.at(-1);
  assert.ok(last?.recap, `no recap line at the end of:\n${stdout.slice(-2000)}`);
  return { tasks: lines.filter((e) => e.event === 'task'), recap: last!.recap };
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A path inside a running lab host, seen through its overlay from the root namespace. */
export function onHost(name: string, path: string): string {
  return join(overlayPaths(hostDir(machineName(name))).merged, path);
}

/** Remove a file on a host (through its overlay). */
export const rmOnHost = (name: string, path: string) => rm(onHost(name, path), { force: true });

/** sha256 of a file on a host, or 'missing'. */
export function hostFileSha(name: string, path: string): string {
  const f = onHost(name, path);
  return existsSync(f) ? sha256(readFileSync(f)) : 'missing';
}

/** Leftover temp files of play's atomic write in a directory of a host. */
export function tempFiles(name: string, dir: string): string[] {
  const d = onHost(name, dir);
  return existsSync(d) ? readdirSync(d).filter((f) => f.includes('.play-tmp.')) : [];
}

/** Processes of a host (its PID namespace, seen from the root one): pid and command line. */
export function hostProcs(name: string): { pid: number; cmd: string }[] {
  const init = readLabState()?.hosts.find((h) => h.name === name)?.init;
  assert.ok(init, `no recorded init for lab host ${name}`);
  const ns = readlinkSync(`/proc/${init!.pid}/ns/pid`);
  const out: { pid: number; cmd: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/pid`) !== ns) continue;
      out.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** SSH sessions open on a host (sshd's per-connection processes, not the listener). */
export const sshSessions = (name: string) => hostProcs(name).filter((p) => /^sshd: root/.test(p.cmd));

async function ip(args: string[]): Promise<void> {
  await execP(args[0] === 'tc' ? 'tc' : 'ip', args[0] === 'tc' ? args.slice(1) : args);
}

/** Take a host's link (its veth end on the lab bridge) down or up: a silent cut, no RST. */
export const setLink = (name: string, state: 'up' | 'down') => ip(['link', 'set', linkName(machineName(name)), state]);

/** Limit what reaches a host to `rate` (tc tbf on the bridge side of its veth), or lift the limit. */
export async function throttle(name: string, rate: string | undefined): Promise<void> {
  const dev = linkName(machineName(name));
  if (rate) await ip(['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', '32kbit', 'latency', '400ms']);
  else await execP('tc', ['qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
}

/** Poll until `check` holds or `ms` pass. */
export async function eventually(what: string, ms: number, check: () => boolean | Promise<boolean>, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(every);
  }
  assert.unreachable(`${what}: not true within ${ms / 1000} s`);
}

/** Wrap a suite's tests: the lab comes up in the first test (uvu 0.5 swallows errors in `before`). */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}
