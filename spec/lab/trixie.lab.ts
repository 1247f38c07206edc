/**
 * Debian 13 "trixie" as the lab's release (#16): the whole container e2e
 * suite (spec/e2e/site-suite.ts: check byte-identity, converge, re-run,
 * per-role runs, the rollouts, the drill, reboots, split brain, cuts) on
 * trixie containers, their own base tree and offline repo cached apart
 * from bookworm's; and, on the converged cluster, that the hosts really
 * are trixie with keepalived 2.3, which accepts every golden config, and
 * that `play lab status` says trixie.
 */
import * as assert from 'uvu/assert';
import { labStatus } from '../../lib/lab/index.ts';
import { siteSuite } from '../e2e/site-suite.ts';
import { configTestGoldens } from '../support/goldens.ts';

const HOSTS = ['LB1', 'LB2', 'RS1', 'RS2'];

siteSuite('trixie', (Trixie, on) => {
  Trixie('trixie: every host runs it, and `play lab status` names it', async () => {
    for (const h of HOSTS) assert.is((await on(h).run('. /etc/os-release && echo "$VERSION_CODENAME"')).stdout.trim(), 'trixie', h);
    assert.match(await labStatus(), /^lab on playlab0 \(192\.168\.56\.0\/24\), Debian trixie/);
  });

  Trixie('trixie: the directors run keepalived 2.3, active under the lab\'s VRRP-only drop-in', async () => {
    for (const d of ['LB1', 'LB2']) {
      const c = on(d);
      const v = await c.run("dpkg-query -W -f '${Version}' keepalived");
      assert.match(v.stdout, /^1:2\.3\./, `${d}: keepalived ${v.stdout}`);
      assert.is((await c.run('systemctl is-active keepalived')).stdout.trim(), 'active', d);
      assert.match((await c.run('systemctl show -p ExecStart keepalived')).stdout, /--vrrp/, d);
    }
  });

  Trixie('trixie: every rendered golden passes keepalived 2.3\'s --config-test (as the director role runs it)', async () => {
    await configTestGoldens(on('LB1'));
  });
}).run();
