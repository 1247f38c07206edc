/**
 * A converged Debian host of the simulated fleet, as the answers to the exact
 * fact commands play sends it. Every answer is keyed by the command lib's own
 * fact builders produce (fileState, sysctlValue, dpkgStatus, serviceState…)
 * and written in the format their parsers read, so a change to a fact's
 * command makes the simulator refuse it instead of answering stale text.
 * Anything else is refused loudly (exit 127, the command named on stderr):
 * the benchmark must never time an error path.
 */
import { createHash } from 'node:crypto';
import { parseBatchScript, renderBatchOutput } from '../../lib/engine/fact-batch.ts';
import { fileState, fileText } from '../../lib/tasks/file-facts.ts';
import { dpkgStatus } from '../../lib/tasks/dpkg-facts.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import { serviceState, scriptName } from '../../lib/tasks/service-facts.ts';
import { setSysctlLine } from '../../lib/tasks/sysctl-conf.ts';
import { sysctlValue } from '../../lib/tasks/sysctl-facts.ts';
import type { RunResult } from '../../lib/core/transport.ts';
import { FLEET_PACKAGES, FLEET_SERVICE, FLEET_SYSCTL, FLEET_TEMPLATE, FLEET_VARS } from './fleet.ts';

/** A regular file on the simulated host. */
export interface SimFile {
  content: string;
  /** Four octal digits. */
  mode: string;
  owner: string;
  group: string;
  uid: number;
  gid: number;
}

/** What a simulated host holds: only what its play asks about. */
export interface SimHost {
  files: Readonly<Record<string, SimFile>>;
  sysctls: Readonly<Record<string, string>>;
  /** Installed packages and their versions, and the lists of names the play asks dpkg about at once. */
  packages: Readonly<Record<string, string>>;
  packageQueries: readonly (readonly string[])[];
  /** systemd units, active (running) and enabled. */
  services: readonly string[];
}

const rootFile = (content: string, mode: string): SimFile => ({ content, mode, owner: 'root', group: 'root', uid: 0, gid: 0 });

/**
 * Host `name` as the fleet's play leaves it: the template rendered as the
 * template task renders it (the host's variables, then the task's), the
 * sysctl set and persisted, the packages installed, the service running and
 * enabled.
 */
export function convergedHost(name: string): SimHost {
  const rendered = renderTemplate(FLEET_TEMPLATE.src, { ...FLEET_VARS, host: name });
  if (!rendered.ok) throw new Error(rendered.message);
  return {
    files: {
      [FLEET_TEMPLATE.dest]: rootFile(rendered.text, FLEET_TEMPLATE.mode),
      [FLEET_SYSCTL.file]: rootFile(setSysctlLine('', FLEET_SYSCTL.name, FLEET_SYSCTL.value), '0644'),
    },
    sysctls: { [FLEET_SYSCTL.name]: FLEET_SYSCTL.value },
    packages: FLEET_PACKAGES,
    packageQueries: [Object.keys(FLEET_PACKAGES)],
    services: [FLEET_SERVICE],
  };
}

/** What the simulator answers a command with. */
export type Responder = (cmd: string) => RunResult;

/** Answer of a command the simulated host does not know. */
export function refusal(cmd: string): RunResult {
  const shown = cmd.length > 400 ? `${cmd.slice(0, 400)}…` : cmd;
  return { code: 127, stdout: '', stderr: `fleet simulator: not a command a converged host of this play is asked: ${JSON.stringify(shown)}\n` };
}

/**
 * The answers of `h` to every fact command its play sends (also inside a
 * batched fact script); any other command is refused.
 */
export function responder(h: SimHost): Responder {
  const table = factAnswers(h);
  const one = (cmd: string): RunResult => {
    const out = table.get(cmd);
    return out === undefined ? refusal(cmd) : { code: 0, stdout: out, stderr: '' };
  };
  return (cmd) => {
    const batch = parseBatchScript(cmd);
    if (!batch) return one(cmd);
    const outputs: string[] = [];
    for (const c of batch.commands) {
      const r = one(c);
      // One unknown fact fails the whole batch, and says which.
      if (r.code !== 0) return r;
      outputs.push(r.stdout);
    }
    return { code: 0, stdout: renderBatchOutput(batch.token, outputs), stderr: '' };
  };
}

/** Command → stdout, in the formats the fact parsers read. */
function factAnswers(h: SimHost): Map<string, string> {
  const t = new Map<string, string>();
  for (const [path, f] of Object.entries(h.files)) {
    const bytes = Buffer.from(f.content);
    // As `stat -c '%a %u %g %s %U %G'` and `sha256sum < file` print them.
    t.set(fileState(path).command, [
      'type=file',
      `stat=${Number.parseInt(f.mode, 8).toString(8)} ${f.uid} ${f.gid} ${bytes.length} ${f.owner} ${f.group}`,
      `sha256=${createHash('sha256').update(bytes).digest('hex')}  -`,
      'parent=yes',
    ].join('\n') + '\n');
    t.set(fileText(path).command, f.content);
  }
  for (const [name, value] of Object.entries(h.sysctls)) t.set(sysctlValue(name).command, `value=${value}\n`);
  for (const names of h.packageQueries) {
    t.set(dpkgStatus(names).command, names.filter((n) => h.packages[n] !== undefined).map((n) => `${n}\tii \t${h.packages[n]}\n`).join(''));
  }
  for (const s of h.services) {
    t.set(serviceState(s, scriptName(s)).command, [
      'init=systemd', 'LoadState=loaded', 'ActiveState=active', 'SubState=running', 'UnitFileState=enabled', 'NeedDaemonReload=no',
    ].join('\n') + '\n');
  }
  return t;
}

/**
 * The command play meant, out of what its SSH transport sends: `exec timeout
 * -k K T sh -c WORD` (lib/transport/ssh.ts, withDeadline), WORD one
 * single-quoted shell word or a bare safe one. Undefined when `sent` is not
 * in that form: the simulator then refuses it.
 */
export function unwrapDeadline(sent: string): string | undefined {
  const m = /^exec timeout -k \d+ \d+(?:\.\d+)? sh -c (.+)$/s.exec(sent);
  return m ? shellWord(m[1]!) : undefined;
}

/** The value of one POSIX shell word made of '…' runs and \' escapes (what quote() writes), or a bare safe word. */
function shellWord(w: string): string | undefined {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
  let out = '';
  let i = 0;
  while (i < w.length) {
    if (w[i] === "'") {
      const end = w.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += w.slice(i + 1, end);
      i = end + 1;
    } else if (w.startsWith("\\'", i)) {
      out += "'";
      i += 2;
    } else return undefined;
  }
  return out;
}
