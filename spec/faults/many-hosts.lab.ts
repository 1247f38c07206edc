/**
 * Fifty lab hosts at once with the default forks: a small playbook (one
 * template, one sysctl, one command) succeeds everywhere, a second run
 * changes nothing, and node prints no warning (MaxListenersExceededWarning
 * or any other). Prints the controller's wall time and peak RSS.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { faultLab, inventoryHosts, jsonRun, labDown, once, play, plainHosts, type FaultHost, type Ran } from './support.ts';

const COUNT = 50;
const Many = suite(`${COUNT} hosts at once`);
let hosts: FaultHost[] = [];
const lab = once(async () => {
  const t0 = Date.now();
  const p = await faultLab(plainHosts('h', COUNT, 57, 101));
  console.log(`      lab of ${COUNT} hosts up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  hosts = inventoryHosts(p);
  return p;
});

Many.after(async () => {
  await labDown();
});

/** A run under /usr/bin/time, warnings traced; returns the run and the peak RSS in MiB. */
async function timed(): Promise<{ r: Ran; rssMiB: number }> {
  const r = await play(['spec/fixtures/playbooks/faults-many.ts', '--json'], {
    hosts, wrap: ['/usr/bin/time', '-f', 'peak-rss-kib=%M'], env: { NODE_OPTIONS: '--trace-warnings' }, timeoutMs: 180_000,
  });
  const m = /peak-rss-kib=(\d+)\s*$/.exec(r.stderr);
  assert.ok(m, `no RSS from /usr/bin/time in: ${r.stderr.slice(-500)}`);
  return { r: { ...r, stderr: r.stderr.slice(0, m!.index) }, rssMiB: Number(m![1]) / 1024 };
}

Many(`a small playbook over ${COUNT} hosts converges, then changes nothing; no warnings`, async () => {
  await lab();
  for (const [i, want] of [[1, 'changed'], [2, 'unchanged']] as const) {
    const { r, rssMiB } = await timed();
    const { tasks, recap } = jsonRun(r.stdout);
    const failures = [...new Set(tasks.filter((t) => t.status === 'failed' || t.status === 'unreachable').map((t) => String(t.error)))];
    assert.is(r.code, 0, `run ${i}: ${failures.length} distinct failure(s):\n${failures.slice(0, 5).join('\n')}\n${r.stderr}`);
    assert.is(r.stderr.trim(), '', `stderr of run ${i}`);
    assert.equal(Object.keys(recap).sort(), hosts.map((h) => h.name).sort());
    for (const [h, c] of Object.entries(recap)) {
      assert.is(c.failed + c.unreachable, 0, `${h}: ${JSON.stringify(c)}`);
      if (want === 'changed') assert.is(c.changed, 2, `${h}: ${JSON.stringify(c)}`);
      else assert.is(c.changed, 0, `${h}: ${JSON.stringify(c)}`);
    }
    console.log(`      run ${i} (${want}): ${(r.ms / 1000).toFixed(1)} s, controller peak RSS ${rssMiB.toFixed(0)} MiB`);
  }
});

Many.run();
