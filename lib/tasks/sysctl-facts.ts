import { fact, type Fact } from '../core/fact.ts';
import { quote } from '../core/shell.ts';

/** The running value of a kernel parameter; `undefined` when the key does not exist. */
export interface SysctlValue {
  value?: string;
}

/**
 * `sysctl -n NAME`, framed so a missing key (module not loaded) is a fact,
 * not a failure. Output: `value=…` (possibly tab-separated, e.g.
 * ip_local_port_range) or `missing`.
 */
export function sysctlValue(name: string): Fact<SysctlValue> {
  return fact(
    `sysctl:${name}`,
    `if v=$(sysctl -n ${quote(name)} 2>/dev/null); then printf 'value=%s\\n' "$v"; else echo missing; fi`,
    (out) => (out.startsWith('value=') ? { value: out.slice('value='.length).replace(/\n$/, '') } : {}),
  );
}

/** Compare kernel values as the kernel prints them: runs of whitespace are one space. */
export function normalizeSysctl(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}

/** /proc/sys path of a key, for diffs: dots are separators, slashes stand for dots (eth0/100 = eth0.100). */
export function procPath(name: string): string {
  return `/proc/sys/${name.split('.').map((s) => s.replace(/\//g, '.')).join('/')}`;
}
