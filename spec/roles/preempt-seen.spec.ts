/**
 * The shell that times a handover's quiesce, run for real against a fake
 * `journalctl` on PATH (it writes keepalived-like lines, then follows
 * forever, as `journalctl -f` does): the first "received lower priority"
 * line is reported with its timestamp and the time it was seen, at once
 * (the follower is stopped, not waited for); no such line is a bounded exit 1.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { preemptSeenCommand } from '../../roles/director/keepalived-commands.ts';

const Seen = suite('preempt seen: the journal follower');
const dir = mkdtempSync(join(tmpdir(), 'play-preempt-'));

/** A journalctl that records its arguments, prints `lines` (a pause before each), then follows forever. */
function fakeJournal(lines: string[]): void {
  const body = lines.map((l) => `sleep 0.1; echo '${l}'`).join('\n');
  writeFileSync(join(dir, 'journalctl'), `#!/bin/sh\necho "$@" > ${dir}/args\n${body}\nexec sleep 60\n`);
  chmodSync(join(dir, 'journalctl'), 0o755);
}
function run(cmd: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => execFile('sh', ['-c', cmd], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 20_000 }, (err, stdout) => {
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
  }));
}

Seen('the first lower-priority advert: its log time and the time seen; the follower does not hold the command', async () => {
  fakeJournal([
    '1000.100000 lb2 Keepalived_vrrp[800]: (VI_1) Changing effective priority from 200 to 1',
    '1000.902362 lb2 Keepalived_vrrp[800]: (VI_1) received lower priority (1) advert from 192.168.56.101 - discarding',
    '1001.900124 lb2 Keepalived_vrrp[800]: (VI_1) received lower priority (1) advert from 192.168.56.101 - discarding',
  ]);
  const t = Date.now();
  const r = await run(preemptSeenCommand('s=abc;i=1', 30));
  assert.is(r.code, 0);
  const [logged, seen] = r.stdout.trim().split(' ').map(Number);
  assert.is(logged, 1000.902362);
  assert.ok(Math.abs(seen! * 1000 - Date.now()) < 10_000, `seen at ${seen}: this host's clock`);
  // Not the 30 s bound: the follower was stopped once the line came.
  assert.ok(Date.now() - t < 15_000);
  assert.match(readFileSync(join(dir, 'args'), 'utf8'), /-u keepalived --after-cursor s=abc;i=1 -f -o short-unix/);
});

Seen('no such line within the bound: exit 1, nothing printed', async () => {
  fakeJournal(['1000.100000 lb2 Keepalived_vrrp[800]: (VI_1) Entering BACKUP STATE']);
  const r = await run(preemptSeenCommand('s=abc', 1));
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
});

Seen.after(() => rmSync(dir, { recursive: true, force: true }));
Seen.run();
