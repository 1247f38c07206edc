/**
 * `play lab` on the machine's kernel: the seed's four hosts as nspawn
 * containers, reached over real SSH. Brings the lab up itself and tears it
 * down in an `after` hook, whatever failed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { EXIT } from '../../lib/core/exit-codes.ts';
import { main } from '../../lib/cli/main.ts';
import { DEFAULT_LAB_HOSTS, LabError, labDown, labStatus, labUp, readLabProfile, type LabProfile } from '../../lib/lab/index.ts';
import type { ProcRecord } from '../../lib/lab/procs.ts';
import { assertNothingLeft, downOnSignal, eventually, recordedProcs, requireRootForLab, ssh, sshOk } from './support.ts';

requireRootForLab();
downOnSignal();

const Lab = suite('play lab: containers on the machine kernel');
const log = (line: string) => console.log(`    lab: ${line}`);
let profile: LabProfile | undefined;
const hostsOf = () => DEFAULT_LAB_HOSTS.map((h) => ({ ...h, machine: h.name.toLowerCase() }));
function lab(): LabProfile {
  if (!profile) throw new Error('the lab is not up (the first test failed)');
  return profile;
}

Lab.after(async () => {
  await labDown({ log });
});

Lab('refuses a subnet already used on this machine, before creating anything', async () => {
  const addrs = JSON.parse(await new Promise<string>((resolve) => {
    import('node:child_process').then(({ execFile }) => execFile('ip', ['-j', '-4', 'addr', 'show', 'scope', 'global'], (_e, out) => resolve(out)));
  })) as { ifname: string; addr_info: { local: string }[] }[];
  const used = addrs.flatMap((a) => a.addr_info.map((i) => i.local)).find((a) => !a.startsWith('127.'));
  if (!used) return; // nothing configured to collide with
  const taken = used.replace(/\.\d+$/, '.250') === used ? used.replace(/\.\d+$/, '.251') : used.replace(/\.\d+$/, '.250');
  try {
    await labUp({ hosts: [{ name: 'X1', address: taken, iface: 'eth9', director: false }] });
    assert.unreachable('labUp accepted a subnet in use');
  } catch (e) {
    assert.instance(e, LabError);
    assert.match((e as Error).message, /refusing to build the lab on .* already in use/);
  }
  assert.not.ok(existsSync('/run/play-lab/profile.json'));
});

Lab('rejects invalid inventories with every problem at once', async () => {
  try {
    await labUp({ hosts: [
      { name: 'A', address: '10.9.9.300', iface: 'eth0', director: false },
      { name: 'a', address: '10.9.8.5', iface: 'a-very-long-interface-name', director: false },
    ] });
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, LabError);
    const m = (e as Error).message;
    assert.match(m, /not an IPv4 address/);
    assert.match(m, /same machine name "a"/);
    assert.match(m, /not a valid Linux interface name/);
  }
});

Lab('up: the seed\'s four hosts answer SSH', async () => {
  const t0 = Date.now();
  profile = await labUp({ hosts: DEFAULT_LAB_HOSTS, log });
  log(`up took ${((Date.now() - t0) / 1000).toFixed(1)} s (includes any one-time cache build)`);
  assert.equal(profile.hosts.map((h) => [h.name, h.address, h.kind]), DEFAULT_LAB_HOSTS.map((h) => [h.name, h.address, 'container']));
  assert.is(profile.bridge, 'playlab0');
  assert.is(profile.subnet, '192.168.56.0/24');
  assert.is(profile.ipvs, false);
  assert.equal(readLabProfile(), profile);
  const known = readFileSync(profile.knownHostsFile, 'utf8').trim().split('\n');
  assert.equal(known.map((l) => l.split(' ')[0]), DEFAULT_LAB_HOSTS.map((h) => h.address), 'one plain known_hosts entry per address');
});

Lab('every host has its hostname, address and interface name', async () => {
  for (const h of hostsOf()) {
    const out = await sshOk(lab(), h.address, `hostname; ip -o -4 addr show dev ${h.iface}; ls /sys/class/net; ip route`);
    const [hostname, addr, ...rest] = out.trim().split('\n');
    assert.is(hostname, h.machine);
    assert.match(addr ?? '', new RegExp(`inet ${h.address.replace(/\./g, '\\.')}/24`));
    assert.ok(rest.includes(h.iface), `${h.machine} has ${h.iface}: ${rest.join(' ')}`);
    assert.not.ok(rest.some((l) => l.startsWith('default')), `${h.machine} must have no default route: lab hosts reach only the lab subnet`);
  }
});

Lab('systemd is PID 1 and the system is running', async () => {
  for (const h of hostsOf()) {
    const out = await sshOk(lab(), h.address, 'ps -o comm= -p 1; systemctl is-system-running --wait || true');
    assert.match(out, /^systemd\n(running|degraded)/);
  }
});

Lab('isolation: a file written on one host is absent on the others and on the machine', async () => {
  const name = `/root/isolation-${randomBytes(6).toString('hex')}`;
  const [first, ...others] = hostsOf();
  await sshOk(lab(), first!.address, `echo secret > ${name} && cat ${name}`);
  for (const h of others) {
    const r = await ssh(lab(), h.address, `test -e ${name}`);
    assert.is(r.code, 1, `${name} visible on ${h.machine}`);
  }
  assert.not.ok(existsSync(name), `${name} visible on the machine`);
  assert.not.ok(existsSync(`/var/cache/play-lab/base/rootfs${name}`), `${name} leaked into the shared base tree`);
  const ids = await Promise.all(hostsOf().map((h) => sshOk(lab(), h.address, 'cat /etc/machine-id')));
  assert.is(new Set(ids).size, ids.length, 'each host has its own machine-id');
});

Lab('apt installs offline from the lab repo; nginx serves on a real server', async () => {
  const rs1 = hostsOf().find((h) => h.name === 'RS1')!;
  await sshOk(lab(), rs1.address, 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx');
  await sshOk(lab(), rs1.address, 'systemctl is-active nginx');
  const status = await new Promise<number>((resolve, reject) => {
    request({ host: rs1.address, port: 80, path: '/', timeout: 5000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); })
      .on('error', reject).end();
  });
  assert.is(status, 200);
});

Lab('directors: keepalived runs VRRP-only via the lab drop-in, and the VIP fails over', async () => {
  const [lb1, lb2] = hostsOf().filter((h) => h.director);
  const conf = (id: string, state: string, prio: number) => `global_defs {\n   router_id ${id}\n}\n
vrrp_instance VI_1 {\n    state ${state}\n    interface enp0s8\n    virtual_router_id 62\n    priority ${prio}\n    advert_int 1
    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        192.168.56.200\n    }\n}
virtual_server 192.168.56.200 80 {\n    delay_loop 3\n    lb_algo rr\n    lb_kind DR\n    protocol TCP
    real_server 192.168.56.103 80 {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 10\n            retry 3\n            delay_before_retry 3\n            connect_port 80\n        }\n    }\n}\n`;
  await Promise.all([lb1!, lb2!].map((h) => sshOk(lab(), h.address, 'test -s /etc/systemd/system/keepalived.service.d/play-lab-vrrp-only.conf && DEBIAN_FRONTEND=noninteractive apt-get install -y -q keepalived ipvsadm')));
  // The seed's config, virtual_server block included: it validates, and VRRP runs.
  await sshOk(lab(), lb1!.address, 'cat > /etc/keepalived/keepalived.conf && keepalived -t -f /etc/keepalived/keepalived.conf && systemctl restart keepalived', conf('LVS_MASTER', 'MASTER', 200));
  await sshOk(lab(), lb2!.address, 'cat > /etc/keepalived/keepalived.conf && systemctl restart keepalived', conf('LVS_BACKUP', 'BACKUP', 100));
  const ipvsadm = await ssh(lab(), lb1!.address, 'ipvsadm -Ln');
  assert.is.not(ipvsadm.code, 0, 'this kernel has no IPVS: ipvsadm must fail');
  const hasVip = async (address: string) => (await sshOk(lab(), address, 'ip -o -4 addr show dev enp0s8')).includes('192.168.56.200/32');
  await eventually('VIP on lb1', 10_000, () => hasVip(lb1!.address));
  assert.not.ok(await hasVip(lb2!.address), 'VIP must not be on lb2 too');
  await sshOk(lab(), lb1!.address, 'systemctl stop keepalived');
  await eventually('VIP moves to lb2 (VRRP multicast crosses the bridge)', 10_000, () => hasVip(lb2!.address));
  await sshOk(lab(), lb1!.address, 'systemctl start keepalived');
  await eventually('VIP back on lb1', 10_000, () => hasVip(lb1!.address));
  await sshOk(lab(), lb1!.address, 'systemctl is-active keepalived');
});

Lab('status reports hosts up and IPVS absent', async () => {
  const text = await labStatus();
  for (const h of DEFAULT_LAB_HOSTS) assert.match(text, new RegExp(`${h.name}\\s+${h.address.replace(/\./g, '\\.')}\\s+container\\s+up`));
  assert.match(text, /IPVS: absent/);
});

Lab('`play lab ssh HOST cmd` returns the command\'s exit code', async () => {
  const out: string[] = [];
  // Through the CLI's error boundary, which turns a LabError into its exit code.
  const cli = (argv: string[]) => main(['lab', ...argv], { out: (s) => out.push(s), err: (s) => out.push(s), color: false });
  assert.is(await cli(['ssh', 'RS2', 'exit 7']), 7);
  assert.is(await cli(['ssh', 'rs2', 'true']), 0);
  assert.is(await cli(['ssh', 'NOPE', 'true']), EXIT.labFailed);
  assert.match(out.join('\n'), /no lab host "NOPE"/);
});

Lab('up over a lab that is already up (as after a crash) replaces it', async () => {
  profile = await labUp({ hosts: DEFAULT_LAB_HOSTS, log });
  for (const h of hostsOf()) assert.is((await sshOk(lab(), h.address, 'hostname')).trim(), h.machine);
  // Fresh overlays: what the previous lab installed is gone.
  assert.is((await ssh(lab(), '192.168.56.103', 'test -e /usr/sbin/nginx')).code, 1);
});

Lab('every container runs in cgroups of its own, not in one tree shared by all', async () => {
  // nspawn sits in <machine>/supervisor, the container's init in <machine>/payload.
  const mine = new Set(recordedProcs().map((p) => /^0::\/play-lab\/([a-z0-9]+)\//m.exec(readFileSync(`/proc/${p.pid}/cgroup`, 'utf8'))?.[1]));
  assert.equal([...mine].sort(), hostsOf().map((h) => h.machine).sort());
});

Lab('down leaves nothing behind', async () => {
  const procs: ProcRecord[] = recordedProcs();
  assert.ok(procs.length >= 8, 'nspawn and init of every host were recorded');
  const t0 = Date.now();
  await labDown({ log });
  log(`down took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await assertNothingLeft(hostsOf().map((h) => h.machine), procs);
  assert.is(readLabProfile(), undefined);
  profile = undefined;
});

Lab('a different inventory gives a different lab: 10 hosts, another subnet and interface name', async () => {
  const hosts = Array.from({ length: 10 }, (_, i) => ({ name: `Web${i + 1}`, address: `192.168.77.${11 + i}`, iface: 'eth1', director: i < 2 }));
  const inotify = () => readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8').trim();
  const before = inotify();
  const t0 = Date.now();
  profile = await labUp({ hosts, log });
  log(`up of 10 hosts took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(profile.subnet, '192.168.77.0/24');
  await Promise.all(hosts.map(async (h) => {
    const out = await sshOk(lab(), h.address, 'hostname; ip -o -4 addr show dev eth1; test -e /etc/systemd/system/keepalived.service.d/play-lab-vrrp-only.conf && echo director || echo plain');
    const [hostname, addr, role] = out.trim().split('\n');
    assert.is(hostname, h.name.toLowerCase());
    assert.match(addr ?? '', new RegExp(`inet ${h.address.replace(/\./g, '\\.')}/24`));
    assert.is(role, h.director ? 'director' : 'plain');
  }));
  const procs = recordedProcs();
  await labDown({ log });
  profile = undefined;
  await assertNothingLeft(hosts.map((h) => h.name.toLowerCase()), procs);
  assert.is(inotify(), before, 'fs.inotify.max_user_instances restored');
});

Lab.run();
