import { changes, type Change } from '../core/change.ts';
import { TaskError } from '../core/errors.ts';
import { quote } from '../core/shell.ts';
import { absolutePath, boolean, matching } from './checks.ts';
import { fileState, fileText, TEXT_LIMIT } from './file-facts.ts';
import { planFile } from './file-plan.ts';
import { defineTask } from '../core/define-task.ts';
import { setSysctlLine } from './sysctl-conf.ts';
import { normalizeSysctl, procPath, sysctlValue } from './sysctl-facts.ts';

/** Parameters of {@link sysctl}. */
export interface SysctlParams {
  /** Kernel parameter, e.g. `net.ipv4.conf.all.arp_ignore`. */
  name: string;
  /** Desired value; several numbers are separated by spaces (`'32768 60999'`). */
  value: string | number;
  /**
   * The sysctl.d file that keeps the value across reboots (one line per
   * key, updated in place). Must end in `.conf`: systemd-sysctl reads nothing else.
   * @default '/etc/sysctl.d/99-play.conf'
   */
  file?: string;
  /** Also write the value to `file`. @default true */
  persist?: boolean;
}

/** Where values persist when no `file` is given. */
export const DEFAULT_SYSCTL_FILE = '/etc/sysctl.d/99-play.conf';

/** Kernel parameter names: dot-separated words; `/` stands for a dot inside an interface name. */
const SYSCTL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_:@+-]*(?:[./][A-Za-z0-9_:@+-]+)*$/;

/**
 * Set a kernel parameter now (`sysctl -w`, only when the running value
 * differs) and persist it in a sysctl.d file. Never runs `sysctl --system`,
 * which fails in containers where non-network keys are read-only.
 *
 * @example
 * ```ts
 * import { sysctl } from 'playbook-ts';
 * const arp = sysctl({ name: 'net.ipv4.conf.all.arp_ignore', value: 1, file: '/etc/sysctl.d/90-lvs.conf' });
 * const ports = sysctl({ name: 'net.ipv4.ip_local_port_range', value: '32768 60999', persist: false });
 * ```
 */
export const sysctl = defineTask<SysctlParams>({
  kind: 'sysctl',
  keys: ['name', 'value', 'file', 'persist'],
  required: ['name', 'value'],
  name: (p) => `sysctl ${p.name}`,
  check: (p) => {
    const out = [
      ...matching('name', p.name, SYSCTL_NAME, 'a kernel parameter name such as net.ipv4.ip_forward'),
      ...absolutePath('file', p.file),
      ...boolean('persist', p.persist),
    ];
    if (typeof p.value !== 'string' && typeof p.value !== 'number') out.push({ field: 'value', message: 'must be a string or a number' });
    else if (String(p.value).trim() === '' || /[\x00-\x08\n-\x1f\x7f]/.test(String(p.value))) {
      out.push({ field: 'value', message: `must be a non-empty value on one line, got ${JSON.stringify(String(p.value))}` });
    }
    if (typeof p.file === 'string' && !p.file.endsWith('.conf')) out.push({ field: 'file', message: `must end in .conf (systemd-sysctl reads only those), got ${JSON.stringify(p.file)}` });
    return out;
  },
  facts: (p) => [sysctlValue(p.name), ...(p.persist === false ? [] : [fileState(fileOf(p)), fileText(fileOf(p))])],
  plan: async (p, ctx) => {
    const task = `sysctl ${p.name}`;
    const want = normalizeSysctl(String(p.value));
    const out: Change[] = [];
    const notes: string[] = [];

    const running = await ctx.fact(sysctlValue(p.name));
    const set: Change = {
      summary: '',
      exec: `sysctl -w ${quote(`${p.name}=${want}`)}`,
      failMessage: (r) => `could not set ${p.name} to ${want}: ${r.stderr.trim() || `exit ${r.code}`}`,
    };
    if (running.value === undefined) {
      if (ctx.pending.length === 0) throw new TaskError(ctx.host.name, task, `kernel parameter ${p.name} does not exist on this host (no ${procPath(p.name)}; is its module loaded?)`);
      out.push({ ...set, summary: `set ${p.name} → ${want}`, predicted: `${p.name} does not exist yet (no ${procPath(p.name)}), expected from an earlier change` });
    } else if (normalizeSysctl(running.value) !== want) {
      const before = normalizeSysctl(running.value);
      out.push({ ...set, summary: `set ${p.name} ${before} → ${want}`, diff: { path: procPath(p.name), before: `${before}\n`, after: `${want}\n` } });
    } else {
      notes.push(`${p.name} is ${want}`);
    }

    if (p.persist !== false) {
      const file = fileOf(p);
      const st = await ctx.fact(fileState(file));
      const text = st.type === 'file' ? await ctx.fact(fileText(file)) : '';
      if (st.type === 'file' && (st.size ?? 0) > TEXT_LIMIT) throw new TaskError(ctx.host.name, task, `${file} is larger than ${TEXT_LIMIT} bytes; play edits only small sysctl.d files`);
      const updated = setSysctlLine(text, p.name, want);
      if (updated === text) notes.push(`${p.name} = ${want} is persisted in ${file}`);
      else {
        const written = await planFile(ctx, { path: file, state: 'file', content: updated }, { task, before: text });
        out.push(...written.changes.map((c) => (c.stdin === undefined ? c : { ...c, summary: `persist ${p.name} = ${want} in ${file}` })));
      }
    }
    return changes(out, notes);
  },
});

function fileOf(p: SysctlParams): string {
  return p.file ?? DEFAULT_SYSCTL_FILE;
}
