/**
 * `play agent status [--json] | stop | serve [--persist S]`: look at or stop
 * the connection agent. `serve` is how a run starts it; people need not.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { EXIT } from '../core/exit-codes.ts';
import { AgentClient } from './client.ts';
import { agentDir, socketPath } from './location.ts';
import { DEFAULT_PERSIST_S, type AgentStatus, type WireSshOptions } from './protocol.ts';
import { serveAgent } from './server.ts';

/**
 * Run one `play agent` command; returns the exit code (EXIT.ok; a usage
 * mistake throws UsageError, which the CLI turns into EXIT.usage; `serve`
 * with an agent already serving throws AgentRunning, which it turns into
 * EXIT.ok).
 *
 * @example
 * ```ts
 * import { runAgentCli } from './cli.ts';
 * const code = await runAgentCli(['status'], (s) => process.stdout.write(s));
 * ```
 */
export async function runAgentCli(argv: readonly string[], out: (s: string) => void, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  let v;
  try {
    v = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, persist: { type: 'string' }, 'keep-stdin': { type: 'boolean' } } });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\nUsage: play agent status [--json] | stop`);
  }
  const [command, ...extra] = v.positionals;
  if (extra.length) throw new UsageError(`unexpected: ${extra.join(' ')}`);
  const dir = agentDir(env);
  switch (command) {
    case 'serve': {
      const persist = Number(v.values.persist ?? DEFAULT_PERSIST_S);
      if (!Number.isFinite(persist) || persist <= 0) throw new UsageError(`--persist must be a number > 0, got "${v.values.persist}"`);
      // An agent already serving throws AgentRunning, which the CLI's error boundary takes for success.
      const agent = await serveAgent({ dir, persistMs: persist * 1000 });
      process.once('SIGTERM', () => void agent.stop());
      process.once('SIGINT', () => void agent.stop());
      // The run that started us hands over the hosts it connected to, one JSON line each.
      if (v.values['keep-stdin']) void readAll(process.stdin).then((text) => agent.keep(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as WireSshOptions)), () => undefined);
      await agent.done;
      return EXIT.ok;
    }
    case 'status':
    case 'stop': {
      const client = await AgentClient.find(dir);
      if (!client) {
        out(v.values.json ? `${JSON.stringify({ running: false })}\n` : `no agent is running (${socketPath(dir)})\n`);
        return EXIT.ok;
      }
      try {
        if (command === 'stop') {
          const { pid } = await client.status();
          await client.stop();
          out(`agent ${pid} stopped\n`);
        } else {
          const s = await client.status();
          out(v.values.json ? `${JSON.stringify({ running: true, ...s })}\n` : describe(s, socketPath(dir)));
        }
      } finally {
        client.close();
      }
      return EXIT.ok;
    }
    default:
      throw new UsageError(command === undefined ? 'play agent: status, stop or serve?' : `play agent: unknown command "${command}" (status, stop, serve)`);
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => { text += c; });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

function describe(s: AgentStatus, socket: string): string {
  const lines = [`agent ${s.pid} on ${socket}: keeps connections ${s.persistMs / 1000} s after the last run; ${s.clients - 1} run(s) attached`];
  if (s.connections.length === 0) lines.push('  no connections');
  for (const c of s.connections) {
    lines.push(`  ${c.host}  ${c.user}@${c.address}:${c.port}  ${c.open ? 'open' : 'closed'}  ${c.runs} run(s), ${c.commands} command(s), idle ${(c.idleMs / 1000).toFixed(1)} s`);
  }
  return `${lines.join('\n')}\n`;
}
