import { UsageError } from '../core/errors.ts';

/** The accepted range of a numeric command-line option, said in the error when a value is outside it. */
export interface NumberRule {
  min: number;
  integer: boolean;
  /** How the error names the range: "a whole number of hosts ≥ 1". */
  what: string;
}

/** Plain decimal only: Number() would take "", " ", "0x10" and "1e3". */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/**
 * A numeric option's value, or a UsageError naming the option (`from`) and
 * its range.
 *
 * @example
 * ```ts
 * import { parseNumber } from './number-options.ts';
 * parseNumber({ min: 1, integer: true, what: 'a whole number of hosts ≥ 1' }, '8', '--forks'); // 8
 * ```
 */
export function parseNumber(rule: NumberRule, raw: string, from: string): number {
  const n = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < rule.min || (rule.integer && !Number.isInteger(n))) throw new UsageError(`${from} must be ${rule.what}, got "${raw}"`);
  return n;
}

/**
 * node:util's parseArgs reads the "-3" of `--forks -3` as an option and
 * answers "argument is ambiguous"; joined as `--forks=-3`, the value reaches
 * {@link parseNumber}'s range check. `names` are the numeric long options,
 * `shorts` maps their short forms (`-f` → `forks`). Stops at `--`.
 *
 * @example
 * ```ts
 * import { joinNegativeNumbers } from './number-options.ts';
 * joinNegativeNumbers(['site', '-f', '-3'], ['forks'], { '-f': 'forks' }); // ['site', '--forks=-3']
 * ```
 */
export function joinNegativeNumbers(argv: readonly string[], names: readonly string[], shorts: Readonly<Record<string, string>> = {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { out.push(...argv.slice(i)); break; }
    const long = a.startsWith('--') ? a.slice(2) : shorts[a];
    const next = argv[i + 1];
    if (long && names.includes(long) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`--${long}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
