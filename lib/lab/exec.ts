/**
 * The lab's only way to run a program on the machine: argv arrays, never a
 * shell string, so names and paths cannot be misread as syntax.
 */
import { spawn } from 'node:child_process';
import { LabError } from './errors.ts';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the program after this many milliseconds. @default no limit */
  timeoutMs?: number;
}

/** Run `cmd args…` to completion and return its exit code and output, whatever the code. */
export function exec(cmd: string, args: readonly string[], o: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: o.env ?? process.env,
      cwd: o.cwd,
      stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: o.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // stdout and stderr are pipes (set above), so never null.
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new LabError(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => resolve({
      code: code ?? (signal ? 128 : 1),
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8') + (signal ? `\n(killed by ${signal})` : ''),
    }));
    if (o.input !== undefined && child.stdin) {
      child.stdin.on('error', () => { /* the program exited without reading its input; its exit code says why */ });
      child.stdin.end(o.input);
    }
  });
}

/** Like {@link exec} but a non-zero exit throws a LabError saying `what` failed, with the program's stderr. */
export async function must(what: string, cmd: string, args: readonly string[], o: ExecOptions = {}): Promise<string> {
  const r = await exec(cmd, args, o);
  if (r.code !== 0) {
    throw new LabError(`${what}: \`${[cmd, ...args].join(' ')}\` exited with ${r.code}`, r.stderr || r.stdout);
  }
  return r.stdout;
}

/** Run a list of async steps in parallel, wait for all, and throw one LabError listing every failure. */
export async function allOrThrow<T>(what: string, steps: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(steps);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
  if (failures.length) throw new LabError(`${what}:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
