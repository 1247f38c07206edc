/**
 * Ctrl-C: the first SIGINT stops scheduling new tasks, lets the running
 * commands finish, closes every connection and prints the partial recap
 * (exit 130); a second one quits at once, even mid-write, and the host is
 * still left with the old file or the new one and no temp file.
 */
import { statSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LabProfile } from '../../lib/lab/index.ts';
import { bigContent, BIG_PATH } from '../fixtures/playbooks/faults-bigfile.ts';
import { MARKER } from '../fixtures/playbooks/faults-slow.ts';
import {
  eventually, faultLab, hostFileSha, hostProcs, inventoryHosts, labDown, once, onHost, play, plainHosts, rmOnHost, sha256, sleep,
  sshSessions, tempFiles, throttle, type FaultHost,
} from './support.ts';

const Interrupt = suite('interrupt (SIGINT)');
const HOSTS = ['I1', 'I2', 'I3', 'I4'];
let profile: LabProfile;
let hosts: FaultHost[] = [];
const lab = once(async () => {
  profile = await faultLab(plainHosts('I', 4, 57, 51));
  hosts = inventoryHosts(profile);
  return profile;
});

Interrupt.after(async () => {
  await throttle('I1', undefined).catch(() => undefined);
  await labDown();
});

/** Until every host runs the slow command. */
const allSleeping = (secs: number) => eventually(`sleep ${secs} runs on every host`, 15_000,
  () => HOSTS.every((h) => hostProcs(h).some((p) => p.cmd === `sleep ${secs}`)), 25);

Interrupt('first SIGINT: running commands finish, no new task starts, connections close, partial recap, exit 130', async () => {
  await lab();
  await Promise.all(HOSTS.map((h) => rmOnHost(h, MARKER)));
  let sentAt = 0;
  const r = await play(['spec/fixtures/playbooks/faults-slow.ts'], {
    hosts, vars: { sleep: 3 },
    onStart: (child) => void allSleeping(3).then(() => { sentAt = Date.now(); child.kill('SIGINT'); }),
  });
  const afterSignal = Date.now() - sentAt;
  assert.ok(sentAt > 0, `never interrupted: ${r.stdout}`);
  assert.is(r.code, 130, r.stderr + r.stdout);
  assert.match(r.stdout, /RECAP \(interrupted\)/);
  assert.match(r.stderr, /interrupted/);
  for (const h of HOSTS) assert.match(r.stdout, new RegExp(`\\b${h}\\b`), `${h} missing from the recap`);
  // The sleeps finished (≤ 3 s), nothing else ran, and closing took no longer than a moment.
  assert.ok(afterSignal < 3000 + 1500, `exit ${afterSignal} ms after SIGINT`);
  console.log(`      exit 130 ${afterSignal} ms after SIGINT`);
  for (const h of HOSTS) {
    assert.is(hostFileSha(h, MARKER), 'missing', `${h}: a task started after the interrupt`);
    assert.equal(tempFiles(h, '/var/tmp'), [], h);
  }
  await eventually('every SSH session on the hosts is closed', 3000, () => HOSTS.every((h) => sshSessions(h).length === 0), 100);
});

Interrupt('second SIGINT quits at once, even mid-write; the destination is old or new and no temp file remains', async () => {
  await lab();
  const OLD = sha256(bigContent('old', 6));
  const NEW = sha256(bigContent('new', 6));
  const big = (seed: string, onStart?: Parameters<typeof play>[1]['onStart']) =>
    play(['spec/fixtures/playbooks/faults-bigfile.ts'], { hosts: hosts.filter((h) => h.name === 'I1'), vars: { seed, sizeMb: 6 }, onStart });
  assert.is((await big('old')).code, 0);
  await throttle('I1', '8mbit');
  let secondAt = 0;
  const r = await big('new', (child) => void (async () => {
    await eventually('the write is under way', 20_000, () => {
      const [t] = tempFiles('I1', '/var/tmp');
      return !!t && (statSync(onHost('I1', `/var/tmp/${t}`), { throwIfNoEntry: false })?.size ?? 0) > 512 * 1024;
    }, 20);
    child.kill('SIGINT');
    await sleep(200);
    secondAt = Date.now();
    child.kill('SIGINT');
  })());
  const afterSecond = Date.now() - secondAt;
  assert.ok(secondAt > 0, 'never interrupted twice');
  assert.is(r.code, 130, r.stderr + r.stdout);
  assert.ok(afterSecond < 1000, `exit ${afterSecond} ms after the second SIGINT`);
  console.log(`      exit 130 ${afterSecond} ms after the second SIGINT`);
  await throttle('I1', undefined);
  const sha = hostFileSha('I1', BIG_PATH);
  assert.ok(sha === OLD || sha === NEW, `a half-written ${BIG_PATH}: ${sha}`);
  await eventually('the cut write removes its temp file', 10_000, () => tempFiles('I1', '/var/tmp').length === 0, 250);
  assert.ok([OLD, NEW].includes(hostFileSha('I1', BIG_PATH)));
});

Interrupt.run();
