/**
 * How the benchmark runs and measures things: child processes timed from
 * spawn to exit (with the controller's peak memory when asked), recaps read
 * from each tool's own output, Ansible configured in a temp dir.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  /** Peak of the summed RSS of the process tree (and of processes whose command line holds `rssAlso`), MiB. */
  peakRssMiB?: number;
}

export interface TimedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Sample the tree's memory every `sampleMs` ms. */
  sampleMs?: number;
  /** Also count processes whose command line contains this (Ansible's ControlPersist masters detach from the tree). */
  rssAlso?: string;
  /** Written to its stdin (else stdin is closed). */
  input?: string;
  /** Each stdout chunk as it arrives (for marks a command prints on its way). */
  onStdout?: (text: string) => void;
}

/** Run a command; wall time from spawn to exit. */
export function timed(cmd: string, args: readonly string[], o: TimedOptions = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (o.input !== undefined) child.stdin!.end(o.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => {
      out.push(b);
      o.onStdout?.(b.toString());
    });
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let peak = 0;
    const sampler = o.sampleMs && child.pid
      ? setInterval(() => { peak = Math.max(peak, treeRssKiB(child.pid!, o.rssAlso)); }, o.sampleMs)
      : undefined;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')}: timed out`)); }, o.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      resolve({
        ms, code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(),
        ...(o.sampleMs ? { peakRssMiB: Math.round(peak / 1024) } : {}),
      });
    });
  });
}

const PAGE_KIB = 4;

/** Summed RSS (KiB) of `root` and its descendants, plus processes whose command line contains `also`. */
export function treeRssKiB(root: number, also?: string): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  const extra = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name, which may contain spaces: state ppid … (rss is field 24).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(pid, Number(f[1]));
      rss.set(pid, Number(f[21]) * PAGE_KIB);
      if (also && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(also)) extra.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0;
  for (const [pid, kib] of rss) {
    let p: number | undefined = pid;
    while (p && p !== root && p !== 1) p = parent.get(p);
    if (p === root || extra.has(pid)) sum += kib;
  }
  return sum;
}

export type Recap = Record<string, { ok: number; changed: number; failed: number; unreachable: number }>;

/** play's `--json` recap (last line) and the summary event before it. */
export function playRecap(stdout: string): { recap: Recap; commands: Record<string, number>; runMs: number } {
  const lines = stdout.trim().split('\n');
  const recap = (JSON.parse(lines.at(-1)!) as { recap: Recap }).recap;
  const summary = JSON.parse(lines.at(-2)!) as { event: string; commands: Record<string, number>; durationMs: number };
  if (summary.event !== 'summary') throw new Error(`no summary event before play's recap: ${lines.at(-2)}`);
  return { recap, commands: summary.commands, runMs: summary.durationMs };
}

/** Ansible's PLAY RECAP lines. */
export function ansibleRecap(stdout: string): Recap {
  const recap: Recap = {};
  const re = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm;
  for (const m of stdout.matchAll(re)) recap[m[1]!] = { ok: +m[2]!, changed: +m[3]!, unreachable: +m[4]!, failed: +m[5]! };
  return recap;
}

/** Why a recap does not show the expected outcome, or undefined when it does. */
export function recapProblem(recap: Recap, hosts: readonly string[], expect: 'converged' | 'changed'): string | undefined {
  for (const h of hosts) {
    const r = recap[h];
    if (!r) return `${h} missing from the recap`;
    if (r.failed || r.unreachable) return `${h}: failed ${r.failed}, unreachable ${r.unreachable}`;
    if (expect === 'converged' && r.changed !== 0) return `${h}: ${r.changed} changed on a converged host`;
    if (expect === 'changed' && r.changed === 0) return `${h}: nothing changed on a fresh host`;
  }
  return undefined;
}

export interface AnsibleSetup {
  dir: string;
  /** ControlPersist sockets. */
  controlDir: string;
  env(forks: number): NodeJS.ProcessEnv;
}

/**
 * Ansible's fastest fair configuration, in `dir`: pipelining, ControlPersist
 * (sockets in `dir/cp`), forks as given, no fact gathering, the Python
 * interpreter named (no discovery round trip), the lab's key and known_hosts
 * with strict host key checking.
 */
export function ansibleSetup(dir: string, lab: { identityFile: string; knownHostsFile: string }, hosts: ReadonlyArray<{ name: string; address: string; groups?: readonly string[] }>): AnsibleSetup {
  const controlDir = join(dir, 'cp');
  mkdirSync(controlDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'home'), { recursive: true });
  const groups = new Map<string, string[]>();
  for (const h of hosts) for (const g of h.groups ?? []) groups.set(g, [...(groups.get(g) ?? []), h.name]);
  const line = (h: { name: string; address: string }) => `${h.name} ansible_host=${h.address}`;
  writeFileSync(join(dir, 'hosts.ini'), [
    ...hosts.filter((h) => !h.groups?.length).map(line), '',
    ...[...groups].flatMap(([g, names]) => [`[${g}]`, ...names.map((n) => line(hosts.find((h) => h.name === n)!)), '']),
  ].join('\n'));
  writeFileSync(join(dir, 'ansible.cfg'), `[defaults]
inventory = ${join(dir, 'hosts.ini')}
gathering = explicit
host_key_checking = True
interpreter_python = /usr/bin/python3
private_key_file = ${lab.identityFile}
remote_user = root
local_tmp = ${join(dir, 'home', 'tmp')}
retry_files_enabled = False
nocows = 1

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=900s -o UserKnownHostsFile=${lab.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes
control_path_dir = ${controlDir}
control_path = %(directory)s/%%C
`);
  return {
    dir,
    controlDir,
    env: (forks) => ({
      ...process.env,
      ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
      ANSIBLE_HOME: join(dir, 'home'),
      ANSIBLE_FORKS: String(forks),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_DEPRECATION_WARNINGS: 'False',
    }),
  };
}

/** Close Ansible's ControlPersist masters, so the next run connects cold. */
export async function closeMasters(a: AnsibleSetup, addresses: readonly string[]): Promise<void> {
  await Promise.all(addresses.map((addr) => timed('ssh', ['-o', `ControlPath=${a.controlDir}/%C`, '-O', 'exit', `root@${addr}`], { timeoutMs: 10_000 }).catch(() => undefined)));
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
