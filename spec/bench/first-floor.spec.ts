/**
 * The first run's shell floor (bench/first-floor.ts) is a script bash
 * accepts for every seed host, writing the bytes play renders: each
 * director's keepalived.conf in both kernels' versions, each real server's
 * page and VIP unit; the packages are the roles' own.
 */
import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { floorScripts } from '../../bench/first-floor.ts';
import seed from '../../inventory/inventory.ts';

const Floor = suite('first-run floor: one shell script per seed host');
const scripts = floorScripts();

Floor('a script for every seed host, and bash parses each', () => {
  assert.equal(Object.keys(scripts).sort(), seed.hosts.map((h) => h.name).sort());
  for (const [h, text] of Object.entries(scripts)) {
    execFileSync('bash', ['-n'], { input: text, stdio: ['pipe', 'ignore', 'inherit'] });
    assert.ok(text.startsWith('set -e\n'), h);
  }
});

const cases = [
  { host: 'LB1', has: ['keepalived ipvsadm nftables', 'state MASTER', 'router_id LVS_MASTER', 'lvs_sync_daemon enp0s8 VI_1', 'systemctl enable -q --now lvs-director-no-rst'] },
  { host: 'LB2', has: ['state BACKUP', 'priority 100', 'keepalived --config-test -f /etc/keepalived/keepalived.conf'] },
  { host: 'RS1', has: ['--no-install-recommends', ' nginx >/dev/null', 'net.ipv4.conf.all.arp_announce = 2', '/etc/systemd/system/lvs-vip.service', '<h1>RS1</h1>', 'enable -q --now lvs-vip nginx'] },
  { host: 'RS2', has: ['<h1>RS2</h1>'] },
];
for (const c of cases) {
  Floor(`${c.host}: ${c.has.join(' · ')}`, () => {
    for (const want of c.has) assert.ok(scripts[c.host]!.includes(want), `${c.host} lacks ${JSON.stringify(want)}`);
  });
}

Floor('a director writes keepalived.conf as rendered for its kernel: with IPVS (sync daemon) or without', () => {
  const lb1 = scripts.LB1!;
  const withIpvs = lb1.indexOf('lvs_sync_daemon'), fork = lb1.indexOf('\nelse\n');
  assert.ok(withIpvs > 0 && withIpvs < fork, 'the sync daemon only in the IPVS branch');
  assert.not.ok(lb1.slice(fork, lb1.indexOf('\nfi\n', fork)).includes('lvs_sync_daemon'));
});

Floor.run();
