import { randomBytes } from 'node:crypto';
import type { Fact } from '../core/fact.ts';

/**
 * Several facts in one shell script, so a host costs one round trip for all
 * the facts a play needs. Each fact's output is framed by a random marker so
 * that no fact output can forge another's frame.
 */

const PREFIX = '@@play-fact';

/** The script that runs every command in order, each in its own subshell. */
export function batchScript(commands: readonly string[], token = randomBytes(6).toString('hex')): string {
  return commands
    .map((cmd, i) => `printf '\\n%s\\n' '${PREFIX}:${token}:${i}'; (\n${cmd}\n) 2>/dev/null`)
    .join('\n') + `\nprintf '\\n%s\\n' '${PREFIX}:${token}:end'`;
}

/** Recover the commands of a batch script (the fake transport answers them one by one). */
export function parseBatchScript(script: string): { token: string; commands: string[] } | undefined {
  const m = script.match(new RegExp(`'${PREFIX}:([0-9a-f]+):0'`));
  if (!m) return undefined;
  const token = m[1]!;
  const parts = script.split(new RegExp(`printf '\\\\n%s\\\\n' '${PREFIX}:${token}:(?:\\d+|end)'`));
  const commands = parts.slice(1, -1).map((p) => p.replace(/^; \(\n/, '').replace(/\n\) 2>\/dev\/null\n?$/, ''));
  return { token, commands };
}

/** Render outputs the way the batch script prints them. */
export function renderBatchOutput(token: string, outputs: readonly string[]): string {
  return outputs.map((o, i) => `\n${PREFIX}:${token}:${i}\n${o}`).join('') + `\n${PREFIX}:${token}:end\n`;
}

/** Split the batch's stdout back into one output per command. */
export function splitBatchOutput(stdout: string, count: number): string[] | undefined {
  const m = stdout.match(new RegExp(`\\n${PREFIX}:([0-9a-f]+):0\\n`));
  if (!m) return undefined;
  const token = m[1]!;
  const out: string[] = [];
  let rest = stdout.slice(m.index! + m[0].length);
  for (let i = 1; i <= count; i++) {
    const marker = `\n${PREFIX}:${token}:${i === count ? 'end' : i}\n`;
    const at = rest.indexOf(marker);
    if (at < 0) return undefined;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + marker.length);
  }
  return out;
}

/** Parse a batch's outputs into fact values, by key. */
export function parseFacts(facts: readonly Fact<unknown>[], outputs: readonly string[]): Map<string, unknown> {
  const values = new Map<string, unknown>();
  facts.forEach((f, i) => values.set(f.key, f.parse(outputs[i] ?? '')));
  return values;
}
