/**
 * A command that ends at once: the server's exec reply, output, exit status
 * and close can arrive in one TCP read, and ssh2 parses them all before the
 * channel reaches the transport (ssh2-promise hands it over a promise tick
 * later). Seen with 50 lab hosts on a busy controller: 40 of them failed
 * with "the command ended without an exit status". The exit status must not
 * be lost however the packets are grouped.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectSsh } from '../../lib/transport/ssh.ts';
import { withDeadline } from '../../lib/transport/ssh-commands.ts';
import { keyPair, tempDir } from '../transport/ssh-server.ts';

const Exit = suite('exit status of a command that ends at once');

Exit('output, exit status and close sent in one burst with the exec reply are all seen', async () => {
  const hostKey = keyPair();
  const clientKey = keyPair();
  const clients: ssh2.Connection[] = [];
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    clients.push(client);
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        // Corked: the exec reply and everything after it leave in one TCP segment.
        const sock = (client as unknown as { _sock: { cork(): void; uncork(): void } })._sock;
        sock.cork();
        process.nextTick(() => sock.uncork());
        const stream = acceptExec();
        stream.write(`ran ${info.command}\n`);
        stream.stderr.write('a warning\n');
        stream.exit(info.command === withDeadline('fail', 300_000) ? 3 : 0);
        stream.end();
      });
    }));
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'id'), clientKey.private, { mode: 0o600 });
    writeFileSync(join(dir.path, 'kh'), `[127.0.0.1]:${port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
    const t = await connectSsh({ host: 'X', address: '127.0.0.1', port, identityFile: join(dir.path, 'id'), knownHostsFile: join(dir.path, 'kh') });
    try {
      for (let i = 0; i < 20; i++) {
        const cmd = i % 2 ? 'fail' : 'ok';
        const r = await t.run(cmd);
        assert.equal(r, { code: cmd === 'fail' ? 3 : 0, stdout: `ran ${withDeadline(cmd, 300_000)}\n`, stderr: 'a warning\n' });
      }
    } finally {
      await t.close();
    }
  } finally {
    clients.forEach((c) => c.end());
    await new Promise<void>((resolve) => server.close(() => resolve()));
    dir.remove();
  }
});

Exit.run();
