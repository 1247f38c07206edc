/**
 * `play agent status [--json] | stop | serve [--persist S] [--hand-over FILE]`:
 * look at or stop the connection agent. `serve` is how a run starts it (with
 * the hosts it connected to, in a hand-over file); people need not.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { EXIT } from '../core/exit-codes.ts';
import { AgentClient } from './client.ts';
import { sweepHandOvers, takeHandOver } from './hand-over.ts';
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
    v = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, persist: { type: 'string' }, 'hand-over': { type: 'string' } } });
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
      // The run that started us hands over the hosts it connected to: read
      // (and removed) first, so that it is gone even if another agent serves.
      const file = v.values['hand-over'];
      let handedOver: WireSshOptions[] = [];
      if (file !== undefined) {
        try {
          handedOver = takeHandOver(dir, file);
        } catch {
          // An unreadable hand-over: the next run connects to those hosts itself.
        }
      }
      // An agent already serving throws AgentRunning, which the CLI's error boundary takes for success.
      const agent = await serveAgent({ dir, persistMs: persist * 1000 });
      process.once('SIGTERM', () => void agent.stop());
      process.once('SIGINT', () => void agent.stop());
      sweepHandOvers(dir);
      agent.keep(handedOver);
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

function describe(s: AgentStatus, socket: string): string {
  const lines = [`agent ${s.pid} on ${socket}: keeps connections ${s.persistMs / 1000} s after the last run; ${s.clients - 1} run(s) attached`];
  if (s.connections.length === 0) lines.push('  no connections');
  for (const c of s.connections) {
    lines.push(`  ${c.host}  ${c.user}@${c.address}:${c.port}  ${c.open ? 'open' : 'closed'}  ${c.runs} run(s), ${c.commands} command(s), idle ${(c.idleMs / 1000).toFixed(1)} s`);
  }
  return `${lines.join('\n')}\n`;
}
