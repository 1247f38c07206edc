/**
 * The checks `waitFor` makes: as shell for the host (one-shot for the fact,
 * in a bounded loop for the wait), and as Node for the controller. Every
 * value is validated by the task and quoted here.
 */
import { connect } from 'node:net';
import { fact, type Fact } from '../core/fact.ts';
import { quote } from '../core/shell.ts';

export type Target =
  | { kind: 'port'; host: string; port: number }
  | { kind: 'path'; path: string; contains?: string }
  | { kind: 'url'; url: string; status: number };

/** "port 80 on 127.0.0.1", "/run/nginx.pid", "http://x/ answering 200". */
export function describeTarget(t: Target): string {
  if (t.kind === 'port') return `port ${t.port} on ${t.host}`;
  if (t.kind === 'path') return t.contains === undefined ? t.path : `${t.path} containing ${JSON.stringify(t.contains)}`;
  return `${t.url} answering ${t.status}`;
}

/** A shell condition true when the target is there (the port answers, the file exists, the URL gives the status). */
export function probeCommand(t: Target): string {
  if (t.kind === 'port') {
    // dash has no /dev/tcp; bash is essential on Debian. The connect gets 2 s.
    return `timeout 2 bash -c ${quote(`exec 3<>/dev/tcp/${t.host}/${t.port}`)} 2>/dev/null`;
  }
  if (t.kind === 'path') return t.contains === undefined ? `test -e ${quote(t.path)}` : `grep -Fq -- ${quote(t.contains)} ${quote(t.path)} 2>/dev/null`;
  const url = quote(t.url);
  const code = `{ if command -v curl >/dev/null 2>&1; then curl -s -o /dev/null -w '%{http_code}' --max-time 5 ${url}; `
    + `elif command -v wget >/dev/null 2>&1; then wget -S -q -O /dev/null -T 5 -t 1 ${url} 2>&1 | awk '/^  HTTP\\//{c=$2} END{print c}'; `
    + `else echo no-client; fi; } 2>/dev/null`;
  return `[ "$(${code})" = ${quote(String(t.status))} ]`;
}

/** Is the target as wanted right now? One line, `yes` or `no`. */
export function targetNow(t: Target, present: boolean): Fact<boolean> {
  const cond = present ? probeCommand(t) : `! { ${probeCommand(t)}; }`;
  return fact(`wait:${present}:${JSON.stringify(t)}`, `if ${cond}; then echo yes; else echo no; fi`, (out) => out.trim() === 'yes');
}

/** Poll every `sleepS` until the target is as wanted (exit 0), or fail after `timeoutS` (exit 1). */
export function waitCommand(t: Target, present: boolean, timeoutS: number, sleepS: number): string {
  const cond = present ? probeCommand(t) : `! { ${probeCommand(t)}; }`;
  const what = `${describeTarget(t)} ${present ? 'not there' : 'still there'} after ${timeoutS} s`;
  return [
    `end=$(( $(date +%s) + ${timeoutS} ))`,
    'while :; do',
    `  if ${cond}; then exit 0; fi`,
    `  if [ "$(date +%s)" -ge "$end" ]; then echo ${quote(what)} >&2; exit 1; fi`,
    `  sleep ${sleepS}`,
    'done',
  ].join('\n');
}

/** The controller's one-shot check: a TCP connect or an HTTP GET (a path is the host's business). */
export async function probeFromController(t: Target): Promise<boolean> {
  if (t.kind === 'port') {
    return new Promise((resolve) => {
      const s = connect({ host: t.host, port: t.port });
      const done = (ok: boolean) => { s.destroy(); clearTimeout(timer); resolve(ok); };
      const timer = setTimeout(() => done(false), 2000);
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
  }
  if (t.kind === 'url') {
    try {
      const r = await fetch(t.url, { signal: AbortSignal.timeout(5000), redirect: 'manual' });
      await r.body?.cancel();
      return r.status === t.status;
    } catch {
      return false;
    }
  }
  throw new Error('a path is checked on the host, not the controller');
}

/** The controller's bounded wait: the same loop as {@link waitCommand}, in Node. */
export async function waitFromController(t: Target, present: boolean, timeoutS: number, sleepS: number, probe = probeFromController): Promise<{ code: number; stdout: string; stderr: string }> {
  const end = Date.now() + timeoutS * 1000;
  for (;;) {
    if ((await probe(t)) === present) return { code: 0, stdout: '', stderr: '' };
    if (Date.now() >= end) return { code: 1, stdout: '', stderr: `${describeTarget(t)} ${present ? 'not there' : 'still there'} after ${timeoutS} s (from the controller)` };
    await new Promise((r) => setTimeout(r, sleepS * 1000));
  }
}
