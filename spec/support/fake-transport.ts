import type { RunOptions, RunResult, Transport } from '../../lib/core/transport.ts';
import { parseBatchScript, renderBatchOutput } from '../../lib/engine/fact-batch.ts';

/** One scripted answer: a command (exact, or a pattern) and what it returns. */
export interface Scripted {
  cmd: string | RegExp;
  stdout?: string;
  stderr?: string;
  code?: number;
  /** Answer only this many times (then the next matching entry answers). */
  times?: number;
  /** Run before answering, e.g. to flip the host's state after an apply. */
  effect?: () => void;
}

/**
 * A host made of recorded command outputs. A command nobody scripted fails
 * the test loudly: a planner that asks for an unexpected fact is a bug.
 * Batched fact scripts are answered command by command.
 */
export class FakeTransport implements Transport {
  readonly calls: Array<{ cmd: string; stdin?: string }> = [];
  commandCount = 0;
  closed = false;

  constructor(readonly host: string, private script: Scripted[] = [], readonly fail?: (msg: string) => never) {}

  /** Add answers at the end of the script. */
  answer(...entries: Scripted[]): this {
    this.script.push(...entries);
    return this;
  }

  async run(cmd: string, o: RunOptions = {}): Promise<RunResult> {
    this.commandCount++;
    this.calls.push({ cmd, stdin: o.stdin === undefined ? undefined : String(o.stdin) });
    const batch = parseBatchScript(cmd);
    if (batch) {
      const outputs = batch.commands.map((c) => this.answerOne(c).stdout);
      return { code: 0, stdout: renderBatchOutput(batch.token, outputs), stderr: '' };
    }
    return this.answerOne(cmd);
  }

  /** Commands run that were not fact batches (the changes applied). */
  get applied(): string[] {
    return this.calls.filter((c) => !parseBatchScript(c.cmd)).map((c) => c.cmd);
  }

  private answerOne(cmd: string): RunResult {
    const i = this.script.findIndex((s) => (typeof s.cmd === 'string' ? s.cmd === cmd : s.cmd.test(cmd)));
    if (i < 0) {
      const msg = `FakeTransport(${this.host}): no scripted answer for command:\n${cmd}`;
      if (this.fail) this.fail(msg);
      throw new Error(msg);
    }
    const s = this.script[i]!;
    if (s.times !== undefined && --s.times <= 0) this.script.splice(i, 1);
    s.effect?.();
    return { code: s.code ?? 0, stdout: s.stdout ?? '', stderr: s.stderr ?? '' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
