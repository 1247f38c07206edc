/**
 * A reload that makes keepalived replace its VRRP instance (a new VRID,
 * interface, multicast ↔ unicast, a new unicast source) leaves the MASTER
 * without its VIPs for a master-down interval: which edits do, and the
 * bridge that keeps the VIPs served from lo meanwhile, run for real in a
 * network namespace of its own (a veth interface plays the cluster's).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseKeepalived, replacedInstances } from '../../roles/director/keepalived-parse.ts';
import { vipsBridgedCommand } from '../../roles/director/keepalived-commands.ts';

const LB1 = readFileSync(new URL('./fixtures/keepalived-LB1.conf', import.meta.url), 'utf8');
const Replaced = suite('a reload that replaces the VRRP instance');

const unicast = (src: string) => (s: string) => s.replace('    advert_int 1\n', `    advert_int 1\n    unicast_src_ip ${src}\n    unicast_peer {\n        192.168.56.102\n    }\n`);
// edit of the seed's LB1 config → instances replaced
const cases: Array<[string, (s: string) => string, string[]]> = [
  ['nothing', (s) => s, []],
  ['a weight and the priority (updated in place)', (s) => s.replace('weight 1', 'weight 2').replace('priority 200', 'priority 150'), []],
  ['advert_int and the password (updated in place)', (s) => s.replace('advert_int 1', 'advert_int 2').replace('auth_pass 1111', 'auth_pass 2222'), []],
  ['a second VIP (updated in place)', (s) => s.replace(/^(\s+)192\.168\.56\.200$/m, '$1192.168.56.200\n$1192.168.56.201'), []],
  ['multicast → unicast', unicast('192.168.56.101'), ['VI_1']],
  ['the VRID', (s) => s.replace('virtual_router_id 62', 'virtual_router_id 63'), ['VI_1']],
  ['the interface', (s) => s.replace('interface enp0s8', 'interface enp0s9'), ['VI_1']],
];
for (const [what, edit, want] of cases) {
  Replaced(`${what} → ${want.join(', ') || 'none replaced'}`, () => assert.equal(replacedInstances(parseKeepalived(LB1), parseKeepalived(edit(LB1))), want));
}
Replaced('unicast → multicast, and a new unicast source, replace it too; the same peers in another order do not', () => {
  const uni = unicast('192.168.56.101')(LB1);
  assert.equal(replacedInstances(parseKeepalived(uni), parseKeepalived(LB1)), ['VI_1']);
  assert.equal(replacedInstances(parseKeepalived(uni), parseKeepalived(unicast('192.168.56.111')(LB1))), ['VI_1']);
  assert.equal(replacedInstances(parseKeepalived(uni), parseKeepalived(uni.replace('192.168.56.102', '192.168.56.103'))), []);
});

const Bridge = suite('the VIPs held on lo while the new instance waits');
/** Run bash in a fresh network namespace with a veth `d0` (no dummy module needed) holding 10.9.9.1/24 and the VIPs 10.9.9.200 and .201. */
function inNetns(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const setup = 'ip link set lo up; ip link add d0 type veth peer name d1; ip link set d0 up; ip addr add 10.9.9.1/24 dev d0; ip addr add 10.9.9.200/32 dev d0; ip addr add 10.9.9.201/32 dev d0';
  return new Promise((resolve) => execFile('unshare', ['--net', 'bash', '-c', `${setup}\n${script}`], { timeout: 20_000 }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
  }));
}
const onLo = `ip -o -4 addr show dev lo | grep -o '10\\.9\\.9\\.[0-9]*' | tr '\\n' ' '; echo`;
// Plays keepalived replacing its instance: the VIPs go at once, and come back 1 s later.
const replacing = `ip addr del 10.9.9.200/32 dev d0; ip addr del 10.9.9.201/32 dev d0; echo "during: $(${onLo})"; (sleep 1; ip addr add 10.9.9.200/32 dev d0; ip addr add 10.9.9.201/32 dev d0) &`;

Bridge('while the VIPs are off the interface they are on lo; once back, lo has none', async () => {
  const r = await inNetns(`${vipsBridgedCommand(['10.9.9.200', '10.9.9.201'], 'd0', replacing, 5)}\necho "rc $?"; echo "after: $(${onLo})"`);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /during: 10\.9\.9\.200 10\.9\.9\.201 \n/);
  assert.match(r.stdout, /rc 0\n/);
  assert.match(r.stdout, /after: \n/);
});
Bridge('the new instance never takes them: fails, and lo keeps none', async () => {
  const r = await inNetns(`( ${vipsBridgedCommand(['10.9.9.200'], 'd0', 'ip addr del 10.9.9.200/32 dev d0', 1)} ); echo "rc $?"; echo "after: $(${onLo})"`);
  assert.match(r.stdout, /rc 1\n/);
  assert.match(r.stderr, /did not take the VIPs within 1 s/);
  assert.match(r.stdout, /after: \n/);
});
Bridge('the reload fails: its exit code, and lo keeps none', async () => {
  const r = await inNetns(`( ${vipsBridgedCommand(['10.9.9.200'], 'd0', 'exit 7', 5)} ); echo "rc $?"; echo "after: $(${onLo})"`);
  assert.match(r.stdout, /rc 7\n/);
  assert.match(r.stdout, /after: \n/);
});
Bridge('a VIP this director does not hold is not put on lo (it would answer ARP for another director\'s VIP)', async () => {
  const r = await inNetns(`ip addr del 10.9.9.201/32 dev d0; ${vipsBridgedCommand(['10.9.9.200', '10.9.9.201'], 'd0', `echo "during: $(${onLo})"`, 5)}`);
  assert.match(r.stdout, /during: 10\.9\.9\.200 \n/);
});

Replaced.run();
Bridge.run();
