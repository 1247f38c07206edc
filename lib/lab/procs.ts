/**
 * The processes the lab starts (systemd-nspawn, qemu) are recorded by PID and
 * start time, and the lab only ever signals a process it recorded and that is
 * still that same process: a PID reused since by anything else is left alone.
 */
import { openSync, closeSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { LabError } from './errors.ts';

/** A process the lab started. `starttime` is field 22 of /proc/PID/stat, in clock ticks since boot. */
export interface ProcRecord {
  pid: number;
  starttime: string;
}

function stat(pid: number): { state: string; starttime: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', starttime: rest[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** Is the recorded process still running (and still the one we started)? Zombies count as gone. */
export function isAlive(p: ProcRecord): boolean {
  const s = stat(p.pid);
  return !!s && s.starttime === p.starttime && s.state !== 'Z' && s.state !== 'X';
}

/** Start a long-running program detached, stdout and stderr to `logFile`, and record it. */
export function startDetached(cmd: string, args: readonly string[], o: { logFile: string; env?: NodeJS.ProcessEnv }): ProcRecord {
  const fd = openSync(o.logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: o.env ?? process.env });
    child.on('error', () => { /* reported below via the missing pid or by the readiness wait */ });
    child.unref();
    if (child.pid === undefined) throw new LabError(`cannot start ${cmd}; see ${o.logFile}`);
    const s = stat(child.pid);
    if (!s) throw new LabError(`${cmd} exited at once; see ${o.logFile}`);
    return { pid: child.pid, starttime: s.starttime };
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Send `signal` to a recorded process and wait up to `waitMs` for it to go. Returns true if it is gone. */
export async function signalAndWait(p: ProcRecord, signal: NodeJS.Signals, waitMs: number): Promise<boolean> {
  if (!isAlive(p)) return true;
  try { process.kill(p.pid, signal); } catch { return !isAlive(p); }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if (!isAlive(p)) return true;
    await sleep(50);
  }
  return !isAlive(p);
}

/** Stop a recorded process: `signal` first, SIGKILL after `graceMs`. Throws only if it survives both. */
export async function stopRecorded(p: ProcRecord, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (await signalAndWait(p, signal, graceMs)) return;
  if (await signalAndWait(p, 'SIGKILL', 5000)) return;
  throw new LabError(`process ${p.pid} survived SIGKILL`);
}

/** Resident memory of a recorded process in MiB, or undefined if it is gone. */
export function rssMiB(p: ProcRecord): number | undefined {
  if (!isAlive(p)) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** The first child of a recorded process (for nspawn: the container's init), recorded in turn. */
export function firstChild(p: ProcRecord): ProcRecord | undefined {
  if (!isAlive(p)) return undefined;
  try {
    const pid = Number(readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    const s = Number.isInteger(pid) && pid > 0 ? stat(pid) : undefined;
    return s ? { pid, starttime: s.starttime } : undefined;
  } catch {
    return undefined;
  }
}
