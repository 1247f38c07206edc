/**
 * Atomic writes under a cut connection: a 6 MiB file is being written to a
 * lab host (its link throttled to ~1 MiB/s so the write takes seconds) when
 * the connection is cut — silently (link down, no RST) or abruptly (the
 * host's sshd session killed). The destination holds the old content or the
 * new one, never a mix; the run names the host and why; a re-run after the
 * link is back leaves no temp file.
 */
import { statSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bigContent, BIG_PATH } from '../fixtures/playbooks/faults-bigfile.ts';
import {
  eventually, faultLab, hostFileSha, hostProcs, inventoryHosts, jsonRun, labDown, once, onHost, play, setLink, sha256, sleep, tempFiles, throttle,
  type Counts, type FaultHost, type Ran,
} from './support.ts';

const HOST = 'A1';
const SIZE_MB = 6;
const OLD = sha256(bigContent('old', SIZE_MB));
const NEW = sha256(bigContent('new', SIZE_MB));
const Atomic = suite('atomic writes under a cut connection');
let hosts: FaultHost[] = [];
const lab = once(async () => {
  const p = await faultLab([{ name: HOST, address: '192.168.57.21', iface: 'eth1', director: false }]);
  hosts = inventoryHosts(p);
  return p;
});

Atomic.after(async () => {
  await setLink(HOST, 'up').catch(() => undefined);
  await throttle(HOST, undefined).catch(() => undefined);
  await labDown();
});

const bigRun = (seed: string, extra: string[] = [], onStart?: () => void) =>
  play(['spec/fixtures/playbooks/faults-bigfile.ts', '--json', ...extra], { hosts, vars: { seed, sizeMb: SIZE_MB }, onStart });

/** Wait until the write's temp file on the host holds at least `bytes` (and not all of them yet). */
async function midWrite(bytes: number): Promise<void> {
  await eventually('the temp file of the write grows', 30_000, () => {
    const [t] = tempFiles(HOST, '/var/tmp');
    const size = t ? statSync(onHost(HOST, `/var/tmp/${t}`), { throwIfNoEntry: false })?.size ?? 0 : 0;
    assert.ok(size < SIZE_MB * 1024 * 1024, 'the write completed before the cut: the throttle did not hold');
    return size >= bytes;
  }, 20);
}

function assertOldOrNew(when: string): void {
  const sha = hostFileSha(HOST, BIG_PATH);
  assert.ok(sha === OLD || sha === NEW, `${when}: ${BIG_PATH} has sha256 ${sha}, neither the old (${OLD.slice(0, 12)}…) nor the new (${NEW.slice(0, 12)}…) content`);
}

function assertHostDown(r: Ran, statuses: string[]): void {
  assert.ok(r.code === 2 || r.code === 4, `exit ${r.code}\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  const { tasks, recap } = jsonRun(r.stdout);
  const bad = tasks.find((t) => t.host === HOST && (t.status === 'failed' || t.status === 'unreachable'));
  assert.ok(bad, `no failed/unreachable task for ${HOST}: ${JSON.stringify(tasks)}`);
  assert.ok(statuses.includes(bad!.status), `status ${bad!.status}, expected ${statuses.join(' or ')}`);
  assert.match(bad!.error, new RegExp(`${HOST}.*(timed out|connection|lost|closed)`, 's'));
  assert.is(recap[HOST]![bad!.status as keyof Counts], 1, JSON.stringify(recap));
  console.log(`      ${HOST} ${bad!.status} (exit ${r.code}, ${(r.ms / 1000).toFixed(1)} s): ${bad!.error.split('\n')[0]}`);
}

Atomic('a first run writes the old content', async () => {
  await lab();
  const r = await bigRun('old');
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-2000));
  assert.is(hostFileSha(HOST, BIG_PATH), OLD);
});

Atomic('link cut silently mid-write: old content stays, the run ends with the host failed, a re-run leaves no temp file', async () => {
  await lab();
  await throttle(HOST, '8mbit');
  const running = bigRun('new', ['--command-timeout', '8']);
  await midWrite(1024 * 1024);
  await setLink(HOST, 'down');
  const cutAt = Date.now();
  assertOldOrNew('right after the cut');
  const r = await running;
  const afterCut = Date.now() - cutAt;
  assertOldOrNew('after the run');
  assert.is(hostFileSha(HOST, BIG_PATH), OLD, 'the write cannot have completed');
  assertHostDown(r, ['failed', 'unreachable']);
  // 8 s command timeout from the start of the write, plus closing: the run must not wait on the dead link.
  assert.ok(afterCut < 15_000, `the run took ${afterCut} ms after the cut`);

  await setLink(HOST, 'up');
  await throttle(HOST, undefined);
  const again = await bigRun('new');
  assert.is(again.code, 0, again.stderr + again.stdout.slice(-3000));
  assert.is(hostFileSha(HOST, BIG_PATH), NEW);
  // The remote writer of the cut run may still be waiting for input it will never get: give it a moment.
  await eventually('no temp file beside the destination', 10_000, () => tempFiles(HOST, '/var/tmp').length === 0, 250);
});

Atomic('sshd session killed mid-write: old content stays, the host is unreachable, no temp file remains', async () => {
  await lab();
  // Back to the old content, then interrupt a write of the new one.
  assert.is((await bigRun('old')).code, 0);
  await throttle(HOST, '8mbit');
  const running = bigRun('new', ['--command-timeout', '30']);
  await midWrite(1024 * 1024);
  const sessions = hostProcs(HOST).filter((p) => /^sshd: root/.test(p.cmd));
  assert.ok(sessions.length > 0, JSON.stringify(hostProcs(HOST)));
  for (const s of sessions) process.kill(s.pid, 'SIGKILL');
  const r = await running;
  assertOldOrNew('after the run');
  assert.is(hostFileSha(HOST, BIG_PATH), OLD);
  assertHostDown(r, ['unreachable']);
  assert.is(r.code, 4);
  await throttle(HOST, undefined);
  // The remote shell saw its input end early: checksum mismatch, temp file removed, nothing renamed.
  await eventually('the interrupted write removes its temp file', 10_000, () => tempFiles(HOST, '/var/tmp').length === 0, 250);
  await sleep(200);
  assert.is(hostFileSha(HOST, BIG_PATH), OLD);
});

Atomic.run();
