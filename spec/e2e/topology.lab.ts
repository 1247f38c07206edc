/**
 * Another topology on the container lab (#16): three directors on an
 * interface named eth1, given once, in the cluster. `play lab up -i`
 * builds the hosts from it; the site playbook converges and verifies,
 * a re-run changes nothing, and the failover drill moves the VIP from the
 * MASTER to the next priority and back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import eth1 from '../fixtures/inventory/lab-eth1.ts';
import { connectLab, eventsOf, freshLab, labDown, playCli, recapOf } from '../support/lab.ts';

const INVENTORY = 'spec/fixtures/inventory/lab-eth1.ts';
const DIRECTORS = ['LB1', 'LB2', 'LB3'];
const Topology = suite('three directors on eth1 (container lab)');
const conns = new Map<string, Transport>();
const holders = async () => (await Promise.all(DIRECTORS.map(async (d) => ((await conns.get(d)!.run('ip -o -4 addr show dev eth1')).stdout.includes(' 192.168.56.200/') ? [d] : [])))).flat();

Topology.before(async () => {
  const lab = await freshLab({ inventory: eth1 });
  for (const h of [...DIRECTORS, 'RS1', 'RS2']) conns.set(h, await connectLab(h, lab));
});
Topology.after(async () => {
  for (const c of conns.values()) await c.close().catch(() => undefined);
  await labDown();
});

Topology('the lab built each director with the cluster\'s interface name', async () => {
  for (const d of DIRECTORS) assert.is((await conns.get(d)!.run('ip -o link show eth1 >/dev/null && echo yes')).stdout.trim(), 'yes', d);
});

Topology('the site playbook converges and verifies; a re-run changes nothing', async () => {
  const r = await playCli(['site', '-i', INVENTORY, '--json'], { timeoutMs: 600_000 });
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
  const rows = eventsOf(r.stdout).find((e) => e.kind === 'verify')!.table.rows as string[][];
  assert.ok(rows.every((row) => row[4] !== 'no'), JSON.stringify(rows));
  assert.equal(await holders(), ['LB1']);
  const again = await playCli(['site', '-i', INVENTORY, '--json'], { timeoutMs: 300_000 });
  assert.is(again.code, 0, again.stderr + again.stdout.slice(-3000));
  for (const [h, n] of Object.entries(recapOf(again.stdout))) assert.is(n.changed, 0, `${h}: ${JSON.stringify(eventsOf(again.stdout).filter((e) => e.host === h && e.status !== 'ok'))}`);
});

Topology('the failover drill: the VIP to LB2 (the next priority, not LB3) and back', async () => {
  const r = await playCli(['failover', '-i', INVENTORY, '--json'], { timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const rows = eventsOf(r.stdout).find((e) => e.kind === 'failover')!.table.rows as string[][];
  assert.equal(rows.find((x) => x[0] === 'failover: VIP to BACKUP')?.[1], 'LB2', JSON.stringify(rows));
  assert.ok(rows.every((x) => x[4] !== 'no'), JSON.stringify(rows));
  console.log(`      ${rows.map((x) => `${x[0]} ${x[1]}: ${x[3]}`).join('; ')}`);
  assert.equal(await holders(), ['LB1']);
});

Topology.run();
