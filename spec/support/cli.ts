import { ConnectError } from '../../lib/core/errors.ts';
import type { HostView } from '../../lib/core/host.ts';
import { main } from '../../lib/cli/main.ts';
import { FakeTransport, type Scripted } from './fake-transport.ts';

/** How a fake host answers a connection: its scripted commands, down (unreachable), or a test failure (it must not be contacted). */
export type FakeHost = Scripted[] | 'down' | 'refuse';

/**
 * The CLI in-process, with fake hosts: `hosts` scripts each host (the
 * controller included). Every connection attempt is recorded in
 * `contacted`, so a spec can assert that nothing was contacted.
 */
export async function runCli(argv: readonly string[], hosts: (h: HostView) => FakeHost = () => []) {
  let out = '', err = '';
  const contacted: string[] = [];
  const code = await main(argv, {
    out: (s) => { out += s; }, err: (s) => { err += s; }, color: false, signal: new AbortController().signal,
    connector: async (h) => {
      contacted.push(h.name);
      const s = hosts(h);
      if (s === 'down') throw new ConnectError(h.name, `connect ECONNREFUSED ${h.address}:${h.port}`);
      if (s === 'refuse') throw new Error(`contacted ${h.name}`);
      return new FakeTransport(h.name, s);
    },
  });
  return { code, out, err, contacted };
}
