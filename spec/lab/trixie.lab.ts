/**
 * Debian 13 "trixie" as the lab's release (#16): `labUp({ release:
 * 'trixie' })` builds the seed's hosts as trixie containers (their own base
 * tree and offline repo, cached apart from bookworm's); the site playbook
 * converges on them, a re-run changes nothing, verify passes, and the hosts
 * really are trixie with keepalived 2.3, which accepts every golden config;
 * `play lab status` says trixie.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { labStatus } from '../../lib/lab/index.ts';
import { connectLab, eventsOf, freshLab, labDown, playCli, recapOf } from '../support/lab.ts';
import { configTestGoldens } from '../support/goldens.ts';

const HOSTS = ['LB1', 'LB2', 'RS1', 'RS2'];
const Trixie = suite('the seed on Debian 13 trixie (container lab)');
const conns = new Map<string, Transport>();

Trixie.before(async () => {
  const lab = await freshLab({ release: 'trixie' });
  assert.is(lab.release, 'trixie');
  for (const h of HOSTS) conns.set(h, await connectLab(h, lab));
});
Trixie.after(async () => {
  for (const c of conns.values()) await c.close().catch(() => undefined);
  await labDown();
});

Trixie('every host runs trixie', async () => {
  for (const h of HOSTS) {
    const r = await conns.get(h)!.run('. /etc/os-release && echo "$VERSION_CODENAME"');
    assert.is(r.stdout.trim(), 'trixie', h);
  }
});

Trixie('`play lab status` names the release', async () => {
  assert.match(await labStatus(), /^lab on playlab0 \(192\.168\.56\.0\/24\), Debian trixie/);
});

Trixie('the site playbook converges (code 0) and verify passes', async () => {
  const r = await playCli(['site', '-i', 'inventory', '--json'], { timeoutMs: 600_000 });
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
  const verify = eventsOf(r.stdout).find((e) => e.kind === 'verify');
  assert.ok(verify, 'the site playbook ran verify');
  const rows = verify!.table.rows as string[][];
  assert.ok(rows.every((row) => row[4] !== 'no'), JSON.stringify(rows));
  for (const [h, n] of Object.entries(recapOf(r.stdout))) assert.is(n.failed + n.unreachable, 0, h);
});

Trixie('a re-run changes nothing on any host, and verify still passes', async () => {
  const r = await playCli(['site', '-i', 'inventory', '--json'], { timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const recap = recapOf(r.stdout);
  assert.equal(Object.keys(recap).filter((h) => h !== 'controller').sort(), [...HOSTS].sort());
  for (const [h, n] of Object.entries(recap)) {
    assert.is(n.changed, 0, `${h}: ${JSON.stringify(eventsOf(r.stdout).filter((e) => e.host === h && e.status !== 'ok'))}`);
  }
  const rows = eventsOf(r.stdout).find((e) => e.kind === 'verify')!.table.rows as string[][];
  assert.ok(rows.every((row) => row[4] !== 'no'), JSON.stringify(rows));
});

Trixie('the directors run trixie\'s keepalived 2.3, active under the lab\'s VRRP-only drop-in', async () => {
  for (const d of ['LB1', 'LB2']) {
    const c = conns.get(d)!;
    const v = await c.run("dpkg-query -W -f '${Version}' keepalived");
    assert.match(v.stdout, /^1:2\.3\./, `${d}: keepalived ${v.stdout}`);
    assert.is((await c.run('systemctl is-active keepalived')).stdout.trim(), 'active', d);
    assert.match((await c.run('systemctl show -p ExecStart keepalived')).stdout, /--vrrp/, d);
  }
});

Trixie('every rendered golden passes trixie\'s keepalived --config-test (as the director role runs it)', async () => {
  await configTestGoldens(conns.get('LB1')!);
});

Trixie.run();
