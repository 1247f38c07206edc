import * as assert from 'uvu/assert';
import { ConnectError } from '../../lib/core/errors.ts';
import type { HostView } from '../../lib/core/host.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import { definePlaybook, type Play } from '../../lib/dsl/playbook.ts';
import { compile, type Selection } from '../../lib/engine/compile.ts';
import { runPlays } from '../../lib/engine/runner.ts';
import { FakeTransport, type Scripted } from './fake-transport.ts';
import { RecordingReporter } from './recording-reporter.ts';

export interface FakeRunOptions {
  check?: boolean;
  sel?: Selection;
  forceHandlers?: boolean;
  signal?: AbortSignal;
  /** @default 10 */
  forks?: number;
}

/**
 * Compile plays against an inventory (no problems allowed) and run them on
 * fake hosts; `script(host)` gives each host's answers, or 'unreachable'.
 */
export async function runOnFakes<V>(inv: Inventory<V>, plays: Play<V>[], script: (h: HostView) => Scripted[] | 'unreachable', o: FakeRunOptions = {}) {
  const c = compile(definePlaybook<V>({ name: 'pb', plays }), inv, o.sel);
  assert.equal(c.problems, []);
  const hosts = new Map<string, FakeTransport>();
  const reporter = new RecordingReporter();
  const recap = await runPlays(c.plays, {
    playbook: 'pb', check: o.check ?? false, diff: false, forks: o.forks ?? 10, forceHandlers: o.forceHandlers ?? false, reporter, allHosts: inv.hosts, signal: o.signal,
    connect: async (h) => {
      const s = script(h);
      if (s === 'unreachable') throw new ConnectError(h.name, 'connect ECONNREFUSED');
      const t = new FakeTransport(h.name, s);
      hosts.set(h.name, t);
      return t;
    },
  });
  return { reporter, recap, hosts };
}
