import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { joinNegativeNumbers, parseNumber, type NumberRule } from '../cli/number-options.ts';
import { EXIT } from '../core/exit-codes.ts';
import { describeProbe, probeHttp } from './http-probe.ts';

export const PROBE_USAGE = `play probe URL [--every MS] [--timeout MS] [--for S] [--json] [-- COMMAND [ARG…]]

An HTTP GET to URL every MS milliseconds (default 50), each on a new
connection and failed after --timeout MS (default 2000). With a COMMAND, the
probe runs while the command runs and stops when it ends (exit code: the
command's); without one, for --for S seconds (default 10). Always bounded:
never longer than --for S (default 600 with a command).`;

/** The probe's numeric options and their ranges. */
const NUMBERS = {
  every: { min: 1, integer: false, what: 'a number of milliseconds ≥ 1' },
  timeout: { min: 1, integer: false, what: 'a number of milliseconds ≥ 1' },
  for: { min: 0.1, integer: false, what: 'a number of seconds ≥ 0.1' },
} as const satisfies Record<string, NumberRule>;

/** `play probe`: the client-side proof that an operation dropped no request. */
export async function runProbeCli(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const cmd = dash < 0 ? [] : argv.slice(dash + 1);
  let v;
  try {
    v = parseArgs({ args: joinNegativeNumbers(own, Object.keys(NUMBERS)), allowPositionals: true, strict: true, options: {
      every: { type: 'string' }, timeout: { type: 'string' }, for: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    } });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${PROBE_USAGE}`);
  }
  if (v.values.help) { out(`${PROBE_USAGE}\n`); return EXIT.ok; }
  const [url, ...extra] = v.positionals;
  if (!url || extra.length) throw new UsageError(`play probe needs one URL${extra.length ? `, got also: ${extra.join(' ')}` : ''}\n${PROBE_USAGE}`);
  if (!/^http:\/\/[^/\s]+/.test(url)) throw new UsageError(`play probe: URL must start with http://, got "${url}"`);
  const num = (name: keyof typeof NUMBERS, raw: string | undefined, dflt: number) => (raw === undefined ? dflt : parseNumber(NUMBERS[name], raw, `--${name}`));
  const everyMs = num('every', v.values.every, 50);
  const timeoutMs = num('timeout', v.values.timeout, 2000);
  const maxMs = num('for', v.values.for, cmd.length ? 600 : 10) * 1000;
  const stop = new AbortController();
  const report = probeHttp({ url, everyMs, timeoutMs, maxMs, signal: stop.signal });
  // With a command, its exit code is ours (documented as a pass-through in EXIT_CODES' notes).
  let code: number = EXIT.ok;
  if (cmd.length) {
    code = await new Promise<number>((resolve) => {
      const child = spawn(cmd[0]!, cmd.slice(1), { stdio: 'inherit' });
      child.on('error', (e) => { out(`play probe: cannot run ${cmd[0]}: ${e.message}\n`); resolve(127); });
      child.on('close', (c) => resolve(c ?? 1));
    });
    stop.abort();
  }
  const r = await report;
  out(v.values.json ? `${JSON.stringify(r)}\n` : `probe ${url}: ${describeProbe(r)}\n`);
  return code;
}
