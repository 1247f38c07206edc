/**
 * The simulated fleet's SSH side: one process serving a range of the fleet's
 * hosts, each on its own port of 127.0.0.1 (ssh2's Server; public-key login
 * with the benchmark's key). Every exec is answered by the converged host's
 * responder (converged.ts); nothing is ever run. Started by bench.ts with
 * `fork`, it reports over IPC and exits when its parent goes.
 *
 * argv[2]: JSON { dir, basePort, first, count, total }.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { convergedHost, refusal, responder, unwrapDeadline, type Responder } from './converged.ts';
import { fleetHosts } from './fleet.ts';

/** What the benchmark asks a server process for between runs. */
export interface ServerStats {
  connections: number;
  commands: number;
  /** Commands refused (first few kept): any one voids the run. */
  refused: number;
  refusedSamples: string[];
  /** CPU this simulator process used since the last ask, ms: what the hosts' side took of the shared cores. */
  cpuMs: number;
}

export interface ServerConfig {
  dir: string;
  basePort: number;
  /** Index of the first host this process serves, and how many. */
  first: number;
  count: number;
  /** The fleet's size (host names are numbered over the whole fleet). */
  total: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
// Never outlive the benchmark: it may have died without a word.
process.on('disconnect', () => process.exit(0));

const hostKey = readFileSync(join(cfg.dir, 'host_ed25519'));
const allowed = parsed(readFileSync(join(cfg.dir, 'id_ed25519.pub'), 'utf8'));
const allowedBlob = allowed.getPublicSSH();
const stats: ServerStats = { connections: 0, commands: 0, refused: 0, refusedSamples: [], cpuMs: 0 };
let cpuSince = process.cpuUsage();

function parsed(key: string): ParsedKey {
  const k = ssh2.utils.parseKey(key);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0] : k;
}

function serve(name: string, port: number): Promise<void> {
  let answer: Responder | undefined;
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    stats.connections++;
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== 'root') return ctx.reject(['publickey']);
      const same = ctx.key.data.length === allowedBlob.length && timingSafeEqual(ctx.key.data, allowedBlob);
      if (!same || (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true)) return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acceptExec, _reject, info) => {
        const stream = acceptExec();
        stats.commands++;
        const cmd = unwrapDeadline(info.command);
        // Built on first use: a host nobody asks costs nothing.
        answer ??= responder(convergedHost(name));
        const r = cmd === undefined ? refusal(info.command) : answer(cmd);
        if (r.code === 127) {
          stats.refused++;
          if (stats.refusedSamples.length < 5) stats.refusedSamples.push(`${name}: ${r.stderr.trim()}`);
          process.stderr.write(`${name}: ${r.stderr}`);
        }
        // The command's input (none for facts) is read and dropped, as a shell that ignores it would.
        stream.on('data', () => undefined);
        if (r.stdout) stream.write(r.stdout);
        if (r.stderr) stream.stderr.write(r.stderr);
        stream.exit(r.code);
        stream.end();
      });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

const hosts = fleetHosts(cfg.total, cfg.basePort).slice(cfg.first, cfg.first + cfg.count);
try {
  await Promise.all(hosts.map((h) => serve(h.name, h.port)));
} catch (e) {
  process.stderr.write(`fleet simulator: cannot listen: ${(e as Error).message}\n`);
  process.exit(1);
}
process.on('message', (m) => {
  if (m === 'stats') {
    const used = process.cpuUsage(cpuSince);
    cpuSince = process.cpuUsage();
    process.send!({ stats: { ...stats, cpuMs: Math.round((used.user + used.system) / 1000) } });
    stats.connections = 0;
    stats.commands = 0;
    stats.refused = 0;
    stats.refusedSamples = [];
  }
});
process.send!({ listening: hosts.length });
