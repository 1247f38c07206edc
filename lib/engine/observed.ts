import type { RunOptions, RunResult, Transport } from '../core/transport.ts';
import type { CommandEvent } from '../report/reporter.ts';

/** Wrap a transport so every command is reported (for -v) as it finishes. */
export function observed(t: Transport, onCommand: ((e: CommandEvent) => void) | undefined): Transport {
  if (!onCommand) return t;
  return {
    host: t.host,
    get commandCount() { return t.commandCount; },
    async run(cmd: string, o?: RunOptions): Promise<RunResult> {
      const start = Date.now();
      const r = await t.run(cmd, o);
      onCommand({ host: t.host, cmd, code: r.code, stdout: r.stdout, stderr: r.stderr, durationMs: Date.now() - start });
      return r;
    },
    close: () => t.close(),
  };
}
