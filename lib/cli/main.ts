import { readFileSync } from 'node:fs';
import { LoadError, PlayError, ValidationError, type Problem } from '../core/errors.ts';
import type { Task } from '../core/task.ts';
import { EXIT, type ExitCode } from '../core/exit-codes.ts';
import { packageFile } from '../core/package-root.ts';
import { redact } from '../core/secret.ts';
import { compile, type Compiled } from '../engine/compile.ts';
import { runPlays } from '../engine/runner.ts';
import { JsonReporter } from '../report/json.ts';
import type { Reporter, RunRecap } from '../report/reporter.ts';
import { parseCli, USAGE, type RunArgs } from './args.ts';
import { makeConnector } from './connector.ts';
import { loadBoth, loadInventory, resolveFile, resolveRunFiles } from './load.ts';
import { controllerHost } from '../dsl/inventory.ts';
import type { Connector } from '../engine/connections.ts';
import type { AgentClient } from '../agent/client.ts';
import { AgentRunning } from '../agent/location.ts';
// The error classes alone: the lab module's index loads all of `play lab`.
import { LabError, LabPrerequisiteError, NoLabError } from '../lab/errors.ts';
import type { SshOptions } from '../transport/ssh-options.ts';

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

/**
 * Exit code from a recap (codes: lib/core/exit-codes.ts): interrupted;
 * else taskFailed if a task failed on a host play reached; else unreachable
 * if a host was not reached; else taskFailed if a task failed on the
 * controller; else ok.
 *
 * Why the controller comes after unreachable hosts: controller tasks (the
 * verify role) check the hosts from outside, so when hosts are unreachable
 * they fail because of them, and "unreachable" is the one thing to fix.
 *
 * @example
 * ```ts
 * import { exitCode } from './main.ts';
 * const h = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, durationMs: 0, changes: [], commands: 0 };
 * // verify failed on the controller because RS1 was down: 4, not 2.
 * exitCode({ hosts: { RS1: { ...h, unreachable: 1 }, controller: { ...h, failed: 1 } }, local: ['controller'], durationMs: 0, check: false, interrupted: false });
 * ```
 */
export function exitCode(r: RunRecap): ExitCode {
  const hosts = Object.entries(r.hosts);
  const local = new Set(r.local ?? []);
  if (r.interrupted) return EXIT.interrupted;
  if (hosts.some(([name, h]) => h.failed > 0 && !local.has(name))) return EXIT.taskFailed;
  if (hosts.some(([, h]) => h.unreachable > 0)) return EXIT.unreachable;
  if (hosts.some(([, h]) => h.failed > 0)) return EXIT.taskFailed;
  return EXIT.ok;
}

/**
 * Is this a run asked for with --json? Looked at before parsing, so that a
 * usage error is reported as JSON too. The subcommands have their own output.
 */
function wantsJson(argv: readonly string[]): boolean {
  if (argv[0] === 'lab' || argv[0] === 'agent' || argv[0] === 'probe') return false;
  const dash = argv.indexOf('--');
  return (dash < 0 ? argv : argv.slice(0, dash)).includes('--json');
}

/** The problems an error stands for, for the JSON `problems` event. */
function problemsOf(e: unknown, internal: string): Problem[] {
  if (e instanceof ValidationError) return e.problems;
  if (e instanceof LoadError) return [{ file: e.file, message: e.reason }];
  if (e instanceof PlayError) return [{ message: e.message }];
  return [{ message: internal }];
}

/** The lab speaks in lines. */
function labLines(io: CliIo): (line: string) => void {
  return (line) => io.out(line.endsWith('\n') ? line : `${line}\n`);
}

/**
 * The CLI, and the single place where play's errors are caught and turned
 * into an exit code and a message.
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let json = wantsJson(argv) ? new JsonReporter(io.out) : undefined;
  const done = (code: ExitCode): ExitCode => {
    json?.exit(code);
    return code;
  };
  try {
    const parsed = parseCli(argv);
    if (parsed.kind === 'help') { io.out(`${USAGE}\n`); return EXIT.ok; }
    if (parsed.kind === 'version') { io.out(`play ${version()}\n`); return EXIT.ok; }
    if (parsed.kind === 'lab') {
      const { runLabCli } = await import('../lab/index.ts');
      const { labHostsFromInventory } = await import('./lab-hosts.ts');
      return await runLabCli(parsed.argv, {
        resolveHosts: async (path) => labHostsFromInventory(await loadInventory(resolveFile(path, 'inventory'))),
        out: labLines(io),
      });
    }
    if (parsed.kind === 'probe') {
      const { runProbeCli } = await import('../probe/cli.ts');
      return await runProbeCli(parsed.argv, io.out);
    }
    if (parsed.kind === 'init') {
      const { runInitCli } = await import('./init.ts');
      return runInitCli(parsed.argv, io.out);
    }
    if (parsed.kind === 'agent') {
      const { runAgentCli } = await import('../agent/cli.ts');
      return await runAgentCli(parsed.argv, io.out);
    }
    if (parsed.args.json) json = new JsonReporter(io.out, parsed.args.verbose);
    return done(await run(parsed.args, io, json));
  } catch (e) {
    // A concurrent run started an agent first (`play agent serve`): that one serves.
    if (e instanceof AgentRunning) return EXIT.ok;
    if (e instanceof LabError) {
      // Where the lab's progress went, so its last line says what stopped it.
      labLines(io)(`play lab ${argv[1]}: ${e.message}`);
      return e instanceof NoLabError ? EXIT.noLab : e instanceof LabPrerequisiteError ? EXIT.labPrerequisite : EXIT.labFailed;
    }
    const internal = `internal error: ${redact((e as Error)?.stack ?? String(e))}`;
    // stderr says it for people; with --json, stdout says it for scripts.
    io.err(`play: ${e instanceof PlayError ? e.message : internal}\n`);
    json?.problems(problemsOf(e, internal));
    return done(e instanceof PlayError ? EXIT.usage : EXIT.internal);
  }
}

async function run(a: RunArgs, io: CliIo, json: JsonReporter | undefined): Promise<ExitCode> {
  const { playbookFile, inventoryFile } = resolveRunFiles(a.playbook, a.inventory);
  // Looked for while the playbook loads.
  const agent = a.persist > 0 && !io.connector && !a.listHosts && !a.listTasks ? reachAgent() : undefined;
  let compiled: Compiled, inventory, playbook;
  try {
    ({ inventory, playbook } = await loadBoth(playbookFile, inventoryFile, { vaultPasswordFile: a.vaultPasswordFile }));
    compiled = compile(playbook, inventory, { limit: a.limit, roles: a.roles, tags: a.tags, skipTags: a.skipTags }, { playbook: playbookFile, inventory: inventoryFile });
    if (compiled.problems.length) throw new ValidationError(compiled.problems);
  } catch (e) {
    void agent?.then((r) => { if ('client' in r) r.client.close(); });
    throw e;
  }
  if (a.listHosts || a.listTasks) { io.out(redact(listing(compiled, a.listTasks))); return EXIT.ok; }

  const reporter: Reporter = json
    // Loaded only when used: chalk, cli-table3 and diff are a tenth of play's start-up.
    ?? new (await import('../report/console.ts')).ConsoleReporter({ write: io.out, color: io.color, diff: a.diff, verbose: a.verbose });
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
    startAgentProcess(reached.absent, a.persist * 1000, direct);
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
  for (const [k, play] of c.plays.entries()) {
    const rolling = play.batches.length > 1;
    // Nothing connects here: a rollIf is not asked, so both ways are named.
    const beside = k > 0 && c.plays[k - 1]!.group === play.group ? `, side by side with "${c.plays[k - 1]!.name}" when neither rolls` : '';
    const ifRolling = rolling && play.rollIf ? ' when its rollIf says so (else all at once)' : '';
    lines.push(`play "${play.name}" (${play.work.length} host(s)${rolling ? `, in ${play.batches.length} batches${ifRolling}` : ''}${beside})`);
    for (const [i, batch] of play.batches.entries()) {
      if (rolling) lines.push(`  batch ${i + 1}/${play.batches.length}: ${batch.map((w) => w.host.name).join(', ')}`);
      for (const w of batch) {
        lines.push(`${rolling ? '    ' : '  '}${w.host.name}${w.host.local ? '' : ` ${w.host.address}`}`);
        if (tasks) for (const t of w.tasks) lines.push(`${rolling ? '      ' : '    '}${t.phase === 'pre' ? 'pre: ' : t.phase === 'post' ? 'post: ' : ''}${t.role ? `${t.role}: ` : ''}${t.task.name}${t.task.options.tags?.length ? `  [${t.task.options.tags.join(', ')}]` : ''}${factsNote(t.task)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What `--list-tasks` says of a task that depends on host facts, which it
 * cannot read (nothing connects): the facts it names. Its `when` is not
 * judged, and a task built from facts shows its title, not what it builds.
 */
function factsNote(t: Task): string {
  const names = Object.keys(t.options.facts ?? {});
  if (names.length === 0) return '';
  return t.kind === 'withFacts' ? `  (built from facts: ${names.join(', ')})` : `  (when reads facts: ${names.join(', ')})`;
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
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

