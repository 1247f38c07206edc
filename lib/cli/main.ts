import { readFileSync } from 'node:fs';
import { PlayError, ValidationError } from '../core/errors.ts';
import { redact } from '../core/secret.ts';
import { compile, type Compiled } from '../engine/compile.ts';
import { runPlays } from '../engine/runner.ts';
import { JsonReporter } from '../report/json.ts';
import type { Reporter, RunRecap } from '../report/reporter.ts';
import { parseCli, USAGE, type RunArgs } from './args.ts';
import { makeConnector } from './connector.ts';
import { loadBoth, loadInventory, resolveFile } from './load.ts';
import { controllerHost } from '../dsl/inventory.ts';
import type { Connector } from '../engine/connections.ts';
import type { AgentClient } from '../agent/client.ts';
import type { SshOptions } from '../transport/ssh.ts';

/** Where the CLI writes, and how it connects: real defaults, injected by specs. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  color: boolean;
  connector?: Connector;
  /** Aborted on the first Ctrl-C. */
  signal?: AbortSignal;
}

const defaultIo = (): CliIo => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  color: !!process.stdout.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb',
});

/** Exit code from a recap: 130 interrupted, 2 a task failed, 4 unreachable, else 0. */
export function exitCode(r: RunRecap): number {
  const hosts = Object.values(r.hosts);
  if (r.interrupted) return 130;
  if (hosts.some((h) => h.failed > 0)) return 2;
  if (hosts.some((h) => h.unreachable > 0)) return 4;
  return 0;
}

/**
 * The CLI, and the single place where play's errors are caught and turned
 * into an exit code and a message.
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  try {
    const parsed = parseCli(argv);
    if (parsed.kind === 'help') { io.out(`${USAGE}\n`); return 0; }
    if (parsed.kind === 'version') { io.out(`play ${version()}\n`); return 0; }
    if (parsed.kind === 'lab') {
      const { runLabCli } = await import('../lab/index.ts');
      const { labHostsFromInventory } = await import('./lab-hosts.ts');
      return await runLabCli(parsed.argv, {
        resolveHosts: async (path) => labHostsFromInventory(await loadInventory(resolveFile(path, 'inventory'))),
        // The lab speaks in lines.
        out: (line) => io.out(line.endsWith('\n') ? line : `${line}\n`),
      });
    }
    if (parsed.kind === 'probe') {
      const { runProbeCli } = await import('../probe/cli.ts');
      return await runProbeCli(parsed.argv, io.out);
    }
    if (parsed.kind === 'agent') {
      const { runAgentCli } = await import('../agent/cli.ts');
      return await runAgentCli(parsed.argv, io.out);
    }
    return await run(parsed.args, io);
  } catch (e) {
    if (e instanceof PlayError) {
      io.err(`play: ${e.message}\n`);
      return 1;
    }
    io.err(`play: internal error: ${redact((e as Error)?.stack ?? String(e))}\n`);
    return 3;
  }
}

async function run(a: RunArgs, io: CliIo): Promise<number> {
  const playbookFile = resolveFile(a.playbook, 'playbooks');
  const inventoryFile = resolveFile(a.inventory, 'inventory');
  // Looked for while the playbook loads.
  const agent = a.persist > 0 && !io.connector && !a.listHosts && !a.listTasks ? reachAgent() : undefined;
  let compiled: Compiled, inventory, playbook;
  try {
    ({ inventory, playbook } = await loadBoth(playbookFile, inventoryFile));
    compiled = compile(playbook, inventory, { limit: a.limit, roles: a.roles, tags: a.tags }, { playbook: playbookFile, inventory: inventoryFile });
    if (compiled.problems.length) throw new ValidationError(compiled.problems);
  } catch (e) {
    void agent?.then((r) => { if ('client' in r) r.client.close(); });
    throw e;
  }
  if (a.listHosts || a.listTasks) { io.out(redact(listing(compiled, a.listTasks))); return 0; }

  const reporter: Reporter = a.json
    ? new JsonReporter(io.out, a.verbose)
    // Loaded only when used: chalk, cli-table3 and diff are a tenth of play's start-up.
    : new (await import('../report/console.ts')).ConsoleReporter({ write: io.out, color: io.color, diff: a.diff, verbose: a.verbose });
  compiled.warnings.forEach((w) => reporter.warning(w));

  const reached = await agent;
  if (reached && 'unavailable' in reached) reporter.warning(`connecting without the connection agent: ${reached.unavailable}`);
  const direct: SshOptions[] = [];
  const connector = io.connector ?? makeConnector({
    acceptNewHostKeys: a.acceptNewHostKeys, connectTimeoutMs: a.connectTimeout * 1000, commandTimeoutMs: a.commandTimeout * 1000,
    agent: reached && 'client' in reached ? reached.client : undefined,
    connected: (o) => direct.push(o),
  });
  const recap = await runPlays(compiled.plays, {
    playbook: playbook.name, check: a.check, diff: a.diff, forks: a.forks, forceHandlers: a.forceHandlers,
    connect: connector, reporter, signal: io.signal ?? interruptSignal(io), allHosts: [...inventory.hosts, controllerHost(inventory)],
  });
  // No agent ran: one starts now, as this run ends (not while it runs, on
  // the same cores), and connects to this run's hosts for the next run.
  if (reached && 'absent' in reached && direct.length > 0) {
    const { startAgentProcess } = await import('../agent/client.ts');
    startAgentProcess(reached.absent, a.persist * 1000).handOver(direct);
  }
  return exitCode(recap);
}

/**
 * The running agent; else the directory a new one will serve (this run
 * connects by itself: waiting for an agent to boot would cost more than it
 * saves); else why there can be none. Never throws: without an agent the
 * run connects by itself.
 */
async function reachAgent(): Promise<{ client: AgentClient } | { absent: string } | { unavailable: string }> {
  const { AgentClient } = await import('../agent/client.ts');
  const { agentDir } = await import('../agent/location.ts');
  try {
    const dir = agentDir();
    const running = await AgentClient.find(dir);
    return running ? { client: running } : { absent: dir };
  } catch (e) {
    if (e instanceof PlayError) return { unavailable: e.message };
    throw e;
  }
}

function listing(c: Compiled, tasks: boolean): string {
  const lines: string[] = [];
  for (const play of c.plays) {
    const rolling = play.batches.length > 1;
    lines.push(`play "${play.name}" (${play.work.length} host(s)${rolling ? `, in ${play.batches.length} batches` : ''})`);
    for (const [i, batch] of play.batches.entries()) {
      if (rolling) lines.push(`  batch ${i + 1}/${play.batches.length}: ${batch.map((w) => w.host.name).join(', ')}`);
      for (const w of batch) {
        lines.push(`${rolling ? '    ' : '  '}${w.host.name}${w.host.local ? '' : ` ${w.host.address}`}`);
        if (tasks) for (const t of w.tasks) lines.push(`${rolling ? '      ' : '    '}${t.phase === 'pre' ? 'pre: ' : t.phase === 'post' ? 'post: ' : ''}${t.role ? `${t.role}: ` : ''}${t.task.name}${t.task.options.tags?.length ? `  [${t.task.options.tags.join(', ')}]` : ''}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** First Ctrl-C: stop scheduling, finish running commands, print the recap. Second: leave at once. */
function interruptSignal(io: CliIo): AbortSignal {
  const ac = new AbortController();
  const onInt = () => {
    if (ac.signal.aborted) process.exit(130);
    io.err('\nplay: interrupted — finishing running commands (Ctrl-C again to quit now)\n');
    ac.abort();
  };
  process.on('SIGINT', onInt);
  return ac.signal;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

