/**
 * A long-lived connection for live-operation scenarios: an HTTP/1.0 GET read
 * at a set rate from the controller, so one TCP connection carries traffic
 * through the directors for the whole operation.
 *
 * Paced here, not by curl: Debian 12's curl 7.88 judges `--limit-rate` over
 * its last three seconds at least, so on the lab's bridge a 3 MB file came
 * at full speed and was done in about 2 s, before the operation it was to
 * span had started. Reading slowly keeps the kernel's receive window small
 * (it grows with what the reader takes), and the real server can only send
 * that far ahead.
 */
import { connect } from 'node:net';

export interface SlowDownload {
  /** The HTTP status, or '' when no status line came. */
  code: string;
  /** Body bytes received. */
  bytes: number;
  /** How the connection ended when it did not end cleanly ('timeout', an error code). */
  error?: string;
  /** First byte to last, ms. */
  ms: number;
}

/** GET http://`host`:`port``path`, reading at most `bytesPerSecond`; gives up after `timeoutMs` without a byte. */
export function slowDownload(host: string, path: string, o: { port?: number; bytesPerSecond: number; timeoutMs?: number }): Promise<SlowDownload> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: o.port ?? 80 });
    let head = Buffer.alloc(0);
    let code = '';
    let bytes = 0;
    let started = 0;
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ code, bytes, ...(error ? { error } : {}), ms: started ? Date.now() - started : 0 });
    };
    socket.setTimeout(o.timeoutMs ?? 30_000, () => finish('timeout'));
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      if (!started) started = Date.now();
      if (!code) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        code = /^HTTP\/\d\.\d (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? '?';
        bytes += head.length - end - 4;
      } else bytes += chunk.length;
      // Ahead of the rate: stop reading until the budget catches up.
      const aheadMs = (bytes / o.bytesPerSecond) * 1000 - (Date.now() - started);
      if (aheadMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), aheadMs);
      }
    });
    socket.on('end', () => finish());
    socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
  });
}
