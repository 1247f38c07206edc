/**
 * An HTTP/1.1 keep-alive connection from the controller, left idle between
 * requests: what a browser or a client's connection pool holds open through
 * an operation. The sync daemon sends a connection to the other directors
 * only when a packet passes, so an idle one proves what a director keeps
 * of its own table, not what it learns.
 */
import { connect, type Socket } from 'node:net';

export interface KeepAlive {
  /** GET `path` on this same connection: the answer's `<h1>` label, or why there was none within `timeoutMs`. */
  ask(path?: string, timeoutMs?: number): Promise<{ label?: string; error?: string }>;
  close(): void;
}

/** Open a connection to `host`:`port` (80). */
export async function keepAlive(host: string, port = 80): Promise<KeepAlive> {
  const socket: Socket = connect({ host, port });
  let received = '';
  let ended: string | undefined;
  socket.on('data', (b: Buffer) => { received += b.toString('latin1'); });
  socket.on('error', (e: NodeJS.ErrnoException) => { ended = e.code ?? e.message; });
  socket.on('close', () => { ended ??= 'closed'; });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    async ask(path = '/', timeoutMs = 5000) {
      if (ended) return { error: `connection ${ended} before the request` };
      received = '';
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const label = /<h1>([^<]*)<\/h1>/.exec(received)?.[1];
        if (label) return { label };
        if (ended) return { error: `connection ${ended}` };
        if (Date.now() >= deadline) return { error: `no answer within ${timeoutMs} ms` };
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => { socket.destroy(); },
  };
}
