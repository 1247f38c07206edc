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
  const { inventory, playbook } = await loadBoth(playbookFile, inventoryFile);
  const compiled = compile(playbook, inventory, { limit: a.limit, roles: a.roles, tags: a.tags }, { playbook: playbookFile, inventory: inventoryFile });
  if (compiled.problems.length) throw new ValidationError(compiled.problems);
  if (a.listHosts || a.listTasks) { io.out(redact(listing(compiled, a.listTasks))); return 0; }

  const reporter: Reporter = a.json
    ? new JsonReporter(io.out, a.verbose)
    // Loaded only when used: chalk, cli-table3 and diff are a tenth of play's start-up.
    : new (await import('../report/console.ts')).ConsoleReporter({ write: io.out, color: io.color, diff: a.diff, verbose: a.verbose });
  compiled.warnings.forEach((w) => reporter.warning(w));

  const connector = io.connector ?? makeConnector({
    acceptNewHostKeys: a.acceptNewHostKeys, connectTimeoutMs: a.connectTimeout * 1000, commandTimeoutMs: a.commandTimeout * 1000,
  });
  const recap = await runPlays(compiled.plays, {
    playbook: playbook.name, check: a.check, diff: a.diff, forks: a.forks, forceHandlers: a.forceHandlers,
    connect: connector, reporter, signal: io.signal ?? interruptSignal(io), allHosts: [...inventory.hosts, controllerHost(inventory)],
  });
  return exitCode(recap);
}

function listing(c: Compiled, tasks: boolean): string {
  const lines: string[] = [];
  for (const play of c.plays) {
    lines.push(`play "${play.name}" (${play.work.length} host(s))`);
    for (const w of play.work) {
      lines.push(`  ${w.host.name}${w.host.local ? '' : ` ${w.host.address}`}`);
      if (tasks) for (const t of w.tasks) lines.push(`    ${t.role ? `${t.role}: ` : ''}${t.task.name}${t.task.options.tags?.length ? `  [${t.task.options.tags.join(', ')}]` : ''}`);
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

