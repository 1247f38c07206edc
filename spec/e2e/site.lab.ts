/**
 * The user's job end to end on a fresh lab (default kernel, no IPVS):
 * check mode changes nothing, a real run converges and verifies, a second
 * run changes nothing, per-role runs touch only their hosts, one inventory
 * value changes exactly one file and one restart per director, and the
 * failover drill moves the VIP to LB2 and back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import type { LabProfile } from '../../lib/lab/index.ts';
import { connectLab, eventsOf, freshLab, labDown, playCli, recapOf, snapshot } from '../support/lab.ts';

const HOSTS = ['LB1', 'LB2', 'RS1', 'RS2'];
const Site = suite('site.ts on the lab');
let lab: LabProfile;
const conns = new Map<string, Transport>();
const snapshots = async () => Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await snapshot(conns.get(h)!)] as const)));

Site.before(async () => {
  lab = await freshLab();
  for (const h of HOSTS) conns.set(h, await connectLab(h, lab));
});
Site.after(async () => {
  for (const c of conns.values()) await c.close();
  await labDown();
});

Site('--check on a fresh lab lists the changes and leaves every host byte-identical', async () => {
  const before = await snapshots();
  for (const extra of [[], ['--diff']]) {
    const r = await playCli(['site', '-i', 'inventory', '--check', '--json', ...extra]);
    assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
    const recap = recapOf(r.stdout);
    for (const h of HOSTS) assert.ok(recap[h]!.changed > 0 && recap[h]!.failed === 0, `${h}: ${JSON.stringify(recap[h])}`);
    // keepalived's service task comes before keepalived exists: predicted, not failed.
    const svc = eventsOf(r.stdout).find((e) => e.host === 'LB1' && e.kind === 'service');
    assert.ok(svc?.changes.some((c: any) => c.predicted), JSON.stringify(svc));
    const verify = eventsOf(r.stdout).find((e) => e.host === 'controller');
    assert.is(verify?.status, 'skipped', JSON.stringify(verify));
  }
  assert.equal(await snapshots(), before);
});

Site('a real run converges and verify passes', async () => {
  const r = await playCli(['site', '-i', 'inventory', '--json']);
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
  const recap = recapOf(r.stdout);
  for (const h of HOSTS) assert.ok(recap[h]!.changed > 0, h);
  const verify = eventsOf(r.stdout).find((e) => e.host === 'controller')!;
  assert.is(verify.status, 'ok', JSON.stringify(verify));
  const rows: string[][] = verify.table.rows;
  assert.ok(rows.some((row) => row[0] === 'VIP 192.168.56.200 holder' && row[3] === 'LB1' && row[4] === 'yes'), JSON.stringify(rows));
  // The default lab kernel has no IPVS: those checks say so instead of passing silently.
  assert.ok(rows.some((row) => row[4] === 'skipped' && /ipvs/i.test(row[3]!)), JSON.stringify(rows));
});

Site('a second run changes nothing on any host; --check on the converged lab too', async () => {
  for (const extra of [[], ['--check', '--diff']]) {
    const before = await snapshots();
    const r = await playCli(['site', '-i', 'inventory', '--json', ...extra]);
    assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
    const recap = recapOf(r.stdout);
    for (const h of HOSTS) assert.is(recap[h]!.changed, 0, `${extra.join(' ')} ${h}: ${JSON.stringify(eventsOf(r.stdout).filter((e) => e.host === h && e.status !== 'ok'))}`);
    assert.equal(await snapshots(), before);
  }
});

Site('--role realserver touches only the real servers', async () => {
  const r = await playCli(['site', '-i', 'inventory', '--role', 'realserver', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(Object.keys(recapOf(r.stdout)).sort(), ['RS1', 'RS2']);
});

Site('one inventory value changes exactly the director config and one restart per director', async () => {
  const r = await playCli(['site', '-i', 'spec/fixtures/inventory/advert2.ts', '--json']);
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const changed = eventsOf(r.stdout).filter((e) => e.status === 'changed').map((e) => `${e.host} ${e.handler ? 'handler ' : ''}${e.task}`).sort();
  assert.equal(changed, [
    'LB1 handler restart keepalived', 'LB1 template /etc/keepalived/keepalived.conf',
    'LB2 handler restart keepalived', 'LB2 template /etc/keepalived/keepalived.conf',
  ]);
  const conf = await conns.get('LB1')!.run('grep advert_int /etc/keepalived/keepalived.conf');
  assert.match(conf.stdout, /advert_int 2/);
  const back = await playCli(['site', '-i', 'inventory', '--json']);
  assert.is(back.code, 0, back.stderr);
});

Site('the failover drill moves the VIP to LB2 and back', async () => {
  const r = await playCli(['failover', '-i', 'inventory', '--json']);
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const drill = eventsOf(r.stdout).find((e) => e.kind === 'failover')!;
  const rows: string[][] = drill.table.rows;
  const over = rows.find((x) => x[0] === 'failover: VIP to BACKUP')!;
  const back = rows.find((x) => x[0] === 'failback: VIP to MASTER')!;
  assert.is(over[4], 'yes', JSON.stringify(rows));
  assert.is(back[4], 'yes', JSON.stringify(rows));
  console.log(`      failover ${over[3]}, failback ${back[3]}`);
  const vip = await conns.get('LB1')!.run('ip -o -4 addr show dev enp0s8');
  assert.match(vip.stdout, /192\.168\.56\.200\//);
});

Site.run();
