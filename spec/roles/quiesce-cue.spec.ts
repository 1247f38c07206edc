/**
 * The taker's cue, run for real in bash: the setup's forwarder is played by
 * this spec (kernel-log records written to the cue's fifo, with the times we
 * choose), and the trigger is caught on a UDP socket on 127.0.0.1. Handing
 * over, the last `hi` advert before the first `lo` is the anchor; taking
 * back, the first advert after the ones already logged, and the priority is
 * raised right after it; the trigger leaves `atMs` after the anchor, never
 * earlier, and not at all when the cue came too late to lead the takeover.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { quiesceCueCommand, quiesceCueSetupCommand, RAISE_MARGIN_MS, type QuiesceCue } from '../../roles/director/keepalived-commands.ts';

const Cue = suite('quiesce cue: the taker times the trigger from the adverts');
const dir = mkdtempSync(join(tmpdir(), 'play-cue-'));

interface Received { text: string; atMs: number }
/** A UDP socket on a loopback address (127.0.0.1 unless told) that records what arrives, and when. */
async function listener(address = '127.0.0.1', port = 0): Promise<{ sock: Socket; port: number; got: Received[] }> {
  const sock = createSocket('udp4');
  const got: Received[] = [];
  sock.on('message', (m) => got.push({ text: m.toString('latin1'), atMs: Date.now() }));
  await new Promise<void>((res) => sock.bind(port, address, () => res()));
  return { sock, port: sock.address().port, got };
}

/** The cue's fifo, held open read-write as the setup's forwarder holds it; records are written with kernel times = epoch µs (offset 0). */
function fakeForwarder(token: string) {
  const fifo = `/run/play-cue.${token}`;
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  const fd = openSync(fifo, 'r+');
  let seq = 0;
  const record = (kind: 'hi' | 'lo', epochMs: number) => {
    seq += 1;
    writeSync(fd, `5,${seq},${Math.round(epochMs * 1000)},-;play-cue ${kind} IN=enp0s8 OUT= SRC=192.168.56.101 DST=224.0.0.18 PROTO=112\n`);
  };
  const other = () => { seq += 1; writeSync(fd, `6,${seq},1,-;IPVS: sync thread started\n`); };
  return { record, other, close: () => { closeSync(fd); rmSync(fifo, { force: true }); } };
}

function run(cmd: string): Promise<{ code: number; stdout: string; endMs: number }> {
  return new Promise((resolve) => execFile('sh', ['-c', cmd], { timeout: 20_000 }, (err, stdout) => {
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, endMs: Date.now() });
  }));
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function scenario(o: {
  cue: Omit<QuiesceCue, 'vip' | 'token' | 'port' | 'virtualRouterId' | 'seconds'> & { seconds?: number };
  first?: number;
  feed: (f: ReturnType<typeof fakeForwarder>) => Promise<void> | void;
  /** A second VIP (another loopback address), listened to on the same port. */
  second?: string;
}) {
  const token = randomBytes(4).toString('hex');
  const udp = await listener();
  const other = o.second ? await listener(o.second, udp.port) : undefined;
  const f = fakeForwarder(token);
  try {
    const vips = o.second ? { vips: ['127.0.0.1', o.second] } : {};
    const cmd = quiesceCueCommand({ vip: '127.0.0.1', ...vips, port: udp.port, token, virtualRouterId: 62, seconds: 3, ...o.cue, setup: `1 0 ${Math.round((o.first ?? Date.now()) * 1000)}` });
    const ran = run(cmd);
    await o.feed(f);
    const r = await ran;
    await sleep(50);
    return { ...r, got: udp.got, gotSecond: other?.got ?? [], token };
  } finally {
    f.close();
    udp.sock.close();
    other?.sock.close();
  }
}

Cue('handing over: the last hi before the first lo is the anchor; the trigger leaves atMs after it, not before', async () => {
  const anchor = Date.now() - 1000;
  const r = await scenario({
    cue: { below: 100, atMs: 1500, latestMs: 3000 },
    first: anchor - 1000,
    feed: (f) => { f.record('hi', anchor); f.other(); f.record('lo', anchor + 1000); },
  });
  assert.is(r.code, 0);
  const [a, , sent] = r.stdout.trim().split(' ').map(Number);
  assert.is(Math.round(a! * 1000), anchor);
  const trigger = r.got.find((g) => g.text === r.token);
  assert.ok(trigger, `no trigger among ${JSON.stringify(r.got)}`);
  assert.ok(trigger.atMs >= anchor + 1500 - 5, `the trigger came ${anchor + 1500 - trigger.atMs} ms early`);
  assert.ok(Math.abs(sent! * 1000 - trigger.atMs) < 100, 'the reported send time is when it left');
  // The early packet that lets the taker learn the VIP's MAC came first, and is not the token.
  assert.is(r.got[0]!.text, 'warm');
});

Cue('several VIPs: each gets the warm-up and the trigger, at the same moment', async () => {
  const anchor = Date.now() - 1000;
  const r = await scenario({ cue: { below: 100, atMs: 1300, latestMs: 3000 }, first: anchor - 1000, second: '127.0.0.2', feed: (f) => { f.record('hi', anchor); f.record('lo', anchor + 1000); } });
  const one = r.got.find((g) => g.text === r.token), two = r.gotSecond.find((g) => g.text === r.token);
  assert.ok(one && two, `triggers: ${JSON.stringify(r.got)} / ${JSON.stringify(r.gotSecond)}`);
  assert.ok(two.atMs >= anchor + 1300 - 5 && Math.abs(two.atMs - one.atMs) < 50, `${one.atMs} / ${two.atMs}`);
  assert.equal(r.gotSecond.map((g) => g.text), ['warm', r.token]);
});

Cue('handing over, no hi after the mark: the first advert the setup saw is the anchor', async () => {
  const first = Date.now() - 500;
  const r = await scenario({ cue: { below: 100, atMs: 900, latestMs: 3000 }, first, feed: (f) => f.record('lo', first + 400) });
  assert.is(Math.round(Number(r.stdout.split(' ')[0]) * 1000), first);
  assert.ok(r.got.find((g) => g.text === r.token)!.atMs >= first + 900 - 5);
});

Cue('the cue read too late to lead the takeover: no trigger, and it says so', async () => {
  const anchor = Date.now() - 5000;
  const r = await scenario({ cue: { below: 100, atMs: 1500, latestMs: 3000 }, first: anchor, feed: (f) => f.record('lo', anchor + 1000) });
  assert.is(r.code, 0);
  assert.is(r.stdout.trim().split(' ')[2], '-');
  assert.not.ok(r.got.find((g) => g.text === r.token));
});

Cue('an anchor in the future (a clock that cannot be trusted): no trigger', async () => {
  const first = Date.now() + 5000;
  const r = await scenario({ cue: { below: 100, atMs: 100, latestMs: 3000 }, first, feed: (f) => f.record('lo', first + 1000) });
  assert.is(r.stdout.trim().split(' ')[2], '-');
  assert.not.ok(r.got.find((g) => g.text === r.token));
});

Cue('no lower-priority advert within the bound: none, no trigger', async () => {
  const r = await scenario({ cue: { below: 100, atMs: 100, latestMs: 200, seconds: 1 }, feed: (f) => f.record('hi', Date.now()) });
  assert.is(r.stdout.trim(), 'none');
  assert.not.ok(r.got.find((g) => g.text === r.token));
});

const RAISES: Array<{ name: string; raiseAtMs?: number; atMs: number }> = [
  { name: 'taking back: adverts logged before are passed over, the priority is raised right after the next one, which is the anchor', atMs: 700 },
  { name: 'taking back with raiseAtMs: the raise waits that long after the advert (keepalived has taken it by then), which stays the anchor', raiseAtMs: 400, atMs: 1000 },
];
for (const row of RAISES) {
  Cue(row.name, async () => {
    const mark = join(dir, `raised-${row.raiseAtMs ?? 0}`);
    let fresh = 0;
    const r = await scenario({
      cue: { raise: `date +%s%3N > ${mark}`, ...(row.raiseAtMs ? { raiseAtMs: row.raiseAtMs } : {}), atMs: row.atMs, latestMs: 2000 },
      feed: async (f) => {
        f.record('hi', Date.now() - 3000);
        f.record('hi', Date.now() - 2000);
        await sleep(400);
        fresh = Date.now();
        f.record('hi', fresh);
      },
    });
    assert.is(r.code, 0, r.stdout);
    assert.is(Math.round(Number(r.stdout.split(' ')[0]) * 1000), fresh);
    const after = Number(readFileSync(mark, 'utf8')) - fresh;
    const at = row.raiseAtMs ?? 0;
    assert.ok(after >= at - 5 && after < at + 300, `raised ${after} ms after the fresh advert, not ${at}`);
    assert.ok(r.got.find((g) => g.text === r.token)!.atMs >= fresh + row.atMs - 5);
  });
}

Cue('taking back on a busy host: an advert that arrived before the raise ended was accepted too, and moves the anchor; one after it does not', async () => {
  let late = 0;
  let after = 0;
  const r = await scenario({
    // The raise runs 600 ms after the advert it follows: the giver's next one comes first.
    cue: { raise: 'sleep 0.6', atMs: 1200, latestMs: 2500 },
    feed: async (f) => {
      await sleep(200);
      f.record('hi', Date.now());
      await sleep(300);
      late = Date.now();
      f.record('hi', late);
      await sleep(RAISE_MARGIN_MS + 600);
      after = Date.now();
      f.record('hi', after);
    },
  });
  assert.is(r.code, 0, r.stdout);
  assert.is(Math.round(Number(r.stdout.split(' ')[0]) * 1000), late, `anchor ${r.stdout}: late ${late}, after ${after}`);
  const trigger = r.got.find((g) => g.text === r.token);
  assert.ok(trigger && trigger.atMs >= late + 1200 - 5, `the trigger came ${late + 1200 - (trigger?.atMs ?? 0)} ms early`);
});

Cue('taking back, a slow raise: the advert that comes after it ended (keepalived discarded it) does not move the anchor', async () => {
  // The case needs the raise to begin on time: on a host too busy to start
  // it within 150 ms the next advert really lands in the raise's window,
  // and counting it is right. Such a try proves nothing, so it is run again.
  const began = join(dir, 'slow-raise-began');
  for (let attempt = 1; ; attempt++) {
    let first = 0;
    let next = 0;
    const r = await scenario({
      // Raised 300 ms after the advert, the command takes 450 ms: the giver's next advert comes 200 ms after it ended.
      cue: { raise: `date +%s%3N > ${began}; sleep 0.45`, raiseAtMs: 300, atMs: 1500, latestMs: 2500 },
      feed: async (f) => {
        await sleep(100);
        first = Date.now();
        f.record('hi', first);
        await sleep(950);
        next = Date.now();
        f.record('hi', next);
      },
    });
    const late = Number(readFileSync(began, 'utf8')) - (first + 300);
    if (late > 150 && attempt < 3) continue;
    assert.ok(late <= 150, `the raise began ${late} ms late in all 3 tries: this host is too busy to run the case`);
    assert.is(Math.round(Number(r.stdout.split(' ')[0]) * 1000), first, `anchor ${r.stdout}: first ${first}, next ${next}`);
    assert.ok(r.got.find((g) => g.text === r.token)!.atMs >= first + 1500 - 5);
    return;
  }
});

Cue('taking back, the forwarder late: a record written after the raise, of an advert that arrived before it, still moves the anchor', async () => {
  let t1 = 0;
  let t2 = 0;
  const r = await scenario({
    cue: { raise: 'sleep 0.5', atMs: 1500, latestMs: 2500 },
    feed: async (f) => {
      await sleep(200);
      t1 = Date.now();
      f.record('hi', t1);
      await sleep(100);
      t2 = Date.now();
      // Arrived at t2 (before the raise ends), read from the kernel log 800 ms later.
      await sleep(800);
      f.record('hi', t2);
    },
  });
  assert.is(Math.round(Number(r.stdout.split(' ')[0]) * 1000), t2, `anchor ${r.stdout}: first ${t1}, second ${t2}`);
  assert.ok(r.got.find((g) => g.text === r.token)!.atMs >= t2 + 1500 - 5);
});

Cue('no setup (no IPVS, nft or kernel log there): taking back, only the raise runs', async () => {
  const mark = join(dir, 'raised-alone');
  const r = await run(quiesceCueCommand({ vip: '127.0.0.1', token: 'abcd1234', virtualRouterId: 62, seconds: 1, atMs: 1, latestMs: 2, raise: `echo yes > ${mark}`, setup: '' }));
  assert.is(r.stdout.trim(), 'none');
  assert.is(readFileSync(mark, 'utf8'), 'yes\n');
});

Cue('a raise that fails: exit 4', async () => {
  const r = await run(quiesceCueCommand({ vip: '127.0.0.1', token: 'abcd1234', virtualRouterId: 62, seconds: 1, atMs: 1, latestMs: 2, raise: 'false', setup: '' }));
  assert.is(r.code, 4);
});

Cue('the setup\'s nft rules name VRRP by number: without /etc/protocols (no netbase, as the lab\'s minimal hosts) nft refuses "vrrp" and the cue would silently not run', () => {
  for (const below of [undefined, 100]) {
    const cmd = quiesceCueSetupCommand({ token: 'abcd1234', virtualRouterId: 62, seconds: 4, ...(below === undefined ? {} : { below }) });
    assert.match(cmd, /ip protocol 112 @th,8,8 62 /);
    assert.not.match(cmd, /protocol vrrp/);
  }
});

Cue.after(() => rmSync(dir, { recursive: true, force: true }));
Cue.run();
