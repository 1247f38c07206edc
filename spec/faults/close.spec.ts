/**
 * Closing a connection whose peer has gone silent (a cut link, a host
 * powered off: the goodbye is never answered) must not leave the socket open:
 * an open socket keeps play's process alive after its recap, for as long as
 * TCP keeps retrying. Loopback stand-in for the dead peer: a relay that
 * stops forwarding and never closes its side; an open socket shows as an
 * active resource of this process.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectSsh } from '../../lib/transport/ssh.ts';
import { keyPair, startSshServer, tempDir } from '../transport/ssh-server.ts';

const Close = suite('closing a connection to a silent peer');

Close('close() drops the socket within its grace time when the peer never answers the goodbye', async () => {
  const hostKey = keyPair();
  const clientKey = keyPair();
  const server = await startSshServer({ hostKeys: [hostKey], clientKey });
  const dir = tempDir();
  let frozen = false;
  const inbound: net.Socket[] = [];
  // allowHalfOpen: our FIN is acknowledged by the kernel but never answered, as with a dead host.
  const relay = net.createServer({ allowHalfOpen: true }, (inb) => {
    const out = net.connect(server.port, '127.0.0.1');
    inbound.push(inb, out);
    inb.on('data', (b) => { if (!frozen) out.write(b); });
    out.on('data', (b) => { if (!frozen) inb.write(b); });
    inb.on('error', () => {});
    out.on('error', () => {});
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as net.AddressInfo).port;
  try {
    writeFileSync(join(dir.path, 'id'), clientKey.private, { mode: 0o600 });
    writeFileSync(join(dir.path, 'kh'), `[127.0.0.1]:${port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
    const t = await connectSsh({ host: 'X', address: '127.0.0.1', port, identityFile: join(dir.path, 'id'), knownHostsFile: join(dir.path, 'kh') });
    assert.is((await t.run('echo hi')).stdout, 'hi\n');
    frozen = true;
    // Every other socket here (relay both ways, server side) stays open: only the client's may go.
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = sockets();
    const t0 = Date.now();
    await t.close();
    const ms = Date.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(sockets(), before - 1, 'the socket to the silent peer is still open after close()');
    assert.ok(ms < 2500, `close() took ${ms} ms`);
  } finally {
    inbound.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => relay.close(() => resolve()));
    await server.close();
    dir.remove();
  }
});

Close.run();
