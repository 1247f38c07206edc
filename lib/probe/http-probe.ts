import { request } from 'node:http';

/** How to probe: one GET every `everyMs`, each on a new connection, bounded in time and count. */
export interface ProbeOptions {
  /** e.g. http://192.168.56.200/ */
  url: string;
  /** Milliseconds between request starts (requests overlap when answers are slow). @default 50 */
  everyMs?: number;
  /** A request not answered (status and whole body) within this is a failure. @default 2000 */
  timeoutMs?: number;
  /** The probe stops by itself after this long, whatever happens. @default 600000 */
  maxMs?: number;
  /** …or after this many requests. @default maxMs / everyMs */
  maxRequests?: number;
  /** Stops the probe early (the requests in flight still finish). */
  signal?: AbortSignal;
}

/** One failed request: when it was sent (ms after the start) and why it failed. */
export interface ProbeFailure {
  atMs: number;
  error: string;
}

/** What a probe saw. */
export interface ProbeReport {
  url: string;
  sent: number;
  ok: number;
  failed: number;
  failures: ProbeFailure[];
  /**
   * The longest stretch in which no request succeeded: from the start of
   * the last answered request before it to the start of the first answered
   * one after it. About `everyMs` when nothing failed.
   */
  longestGapMs: number;
  durationMs: number;
  /** Answers per `<h1>` label of the page (which real server answered). */
  answeredBy: Record<string, number>;
}

/** One GET on a fresh connection: the body, or why it failed. */
function getOnce(url: string, timeoutMs: number): Promise<{ ok: true; body: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: { ok: true; body: string } | { ok: false; error: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    // agent: false and Connection: close: every request is a new TCP connection, so a new IPVS schedule.
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { if (body.length < 65536) body += d; });
      res.on('end', () => finish(res.statusCode && res.statusCode < 400 ? { ok: true, body } : { ok: false, error: `HTTP ${res.statusCode}` }));
      res.on('error', (e) => finish({ ok: false, error: e.message }));
    });
    const timer = setTimeout(() => { finish({ ok: false, error: `no answer within ${timeoutMs} ms` }); req.destroy(); }, timeoutMs);
    req.on('error', (e) => finish({ ok: false, error: e.message }));
    req.end();
  });
}

/**
 * An HTTP probe: a GET every `everyMs` on a new connection, each failing
 * after `timeoutMs`, until stopped or its bound is reached; it always stops
 * by itself. The proof that an operation on a live cluster dropped nothing.
 *
 * @example
 * ```ts
 * import { probeHttp } from './http-probe.ts';
 * const stop = new AbortController();
 * const report = probeHttp({ url: 'http://192.168.56.200/', signal: stop.signal, maxMs: 60_000 });
 * // … the operation …
 * stop.abort();
 * const { sent, failed, longestGapMs } = await report;
 * ```
 */
export async function probeHttp(o: ProbeOptions): Promise<ProbeReport> {
  const every = o.everyMs ?? 50;
  const timeout = o.timeoutMs ?? 2000;
  const maxMs = o.maxMs ?? 600_000;
  const maxRequests = o.maxRequests ?? Math.ceil(maxMs / every);
  const start = Date.now();
  const results: Array<Promise<{ atMs: number; r: Awaited<ReturnType<typeof getOnce>> }>> = [];
  while (!o.signal?.aborted && results.length < maxRequests && Date.now() - start < maxMs) {
    const atMs = Date.now() - start;
    results.push(getOnce(o.url, timeout).then((r) => ({ atMs, r })));
    const next = start + results.length * every;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.max(0, next - Date.now()));
      function done() { o.signal?.removeEventListener('abort', done); clearTimeout(t); resolve(); }
      o.signal?.addEventListener('abort', done, { once: true });
    });
  }
  const all = await Promise.all(results);
  const failures = all.filter((x) => !x.r.ok).map((x) => ({ atMs: x.atMs, error: (x.r as { error: string }).error }));
  const answered = all.filter((x) => x.r.ok);
  const answeredBy: Record<string, number> = {};
  for (const a of answered) {
    const label = /<h1>([^<]*)<\/h1>/.exec((a.r as { body: string }).body)?.[1] ?? '(no label)';
    answeredBy[label] = (answeredBy[label] ?? 0) + 1;
  }
  let longest = 0;
  const okTimes = answered.map((a) => a.atMs);
  const edges = [...(failures.length && (okTimes.length === 0 || failures[0]!.atMs < okTimes[0]!) ? [0] : []), ...okTimes];
  for (let i = 1; i < edges.length; i++) longest = Math.max(longest, edges[i]! - edges[i - 1]!);
  // Failures after the last answer count up to the end of the probe.
  const last = all.at(-1);
  if (last && !last.r.ok) longest = Math.max(longest, last.atMs - (okTimes.at(-1) ?? 0));
  return { url: o.url, sent: all.length, ok: answered.length, failed: failures.length, failures, longestGapMs: longest, durationMs: Date.now() - start, answeredBy };
}

/** "412 requests, 0 failed (0.0 %), longest gap 61 ms; answered by RS1 206, RS2 206". */
export function describeProbe(r: ProbeReport): string {
  const share = r.sent ? ((100 * r.failed) / r.sent).toFixed(1) : '0.0';
  const by = Object.entries(r.answeredBy).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${r.sent} requests, ${r.failed} failed (${share} %), longest gap ${r.longestGapMs} ms${by ? `; answered by ${by}` : ''}`;
}
