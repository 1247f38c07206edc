/**
 * The cluster model beyond the seed, on the IPVS lab (directors are qemu
 * VMs with real IPVS, real servers containers): the seed's cluster rolls
 * out, live, to two services on two VIPs over unicast VRRP
 * (spec/fixtures/inventory/lab-services.ts) and back. Each VIP's requests
 * spread over RS1 and RS2; an HTTP_GET removes a real server whose health
 * page fails while its TCP port still accepts (the TCP_CHECK service keeps
 * it); with multicast dropped between the directors, unicast VRRP still
 * elects one MASTER, fails over and back; a tracked maintenance file
 * moves the VIPs away and back; a planned handover moves both
 * VIPs without a failed request on either; every rendered golden passes
 * `keepalived --config-test` on the lab's release.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { localTransport } from '../../lib/transport/local.ts';
import { readLabProfile } from '../../lib/lab/index.ts';
import { probeHttp, type ProbeReport } from '../../lib/probe/http-probe.ts';
import { parseIpvsadm, parseLabels } from '../../roles/verify/parse.ts';
import { settle } from '../../roles/verify/checks.ts';
import withRs3 from '../fixtures/inventory/live-rs3.ts';
import { assertRoutedToLab, connectLab, eventsOf, labDown, sharedLab, playCli, recapOf, tasksAround } from '../support/lab.ts';
import { configTestGoldens } from '../support/goldens.ts';

const VIP1 = '192.168.56.200';
const VIP2 = '192.168.56.201';
const SERVICES = 'spec/fixtures/inventory/lab-services.ts';
const ACTIVE = 'spec/fixtures/inventory/lab-active.ts';
const Services = suite('several services, HTTP_GET, unicast VRRP (--ipvs lab)');
const conns = new Map<string, Transport>();
const controller = localTransport();
const on = (h: string) => conns.get(h)!;

/** N requests to a VIP: the <h1> label of each answer. */
async function ask(vip: string, n: number): Promise<string[]> {
  const r = await controller.run(`for i in $(seq 1 ${n}); do printf '#%s\\n' "$(curl -s -m 3 http://${vip}/ | grep -o '<h1>[^<]*</h1>')"; done`);
  return parseLabels(r.stdout);
}
/** Real servers in LB1's IPVS table for VIP:80. */
async function reals(vip: string): Promise<string[]> {
  const out = (await on('LB1').run('ipvsadm -Ln')).stdout;
  return (parseIpvsadm(out).find((s) => s.address === vip && s.port === 80)?.reals ?? []).map((r) => r.address).sort();
}
/** Directors holding `vip` on the cluster interface. */
const holders = async (vip = VIP1) => (await Promise.all(['LB1', 'LB2'].map(async (d) => ((await on(d).run('ip -o -4 addr show dev enp0s8')).stdout.includes(` ${vip}/`) ? [d] : [])))).flat();

/** `fn` under one probe per VIP (a GET every 50 ms, 2 s timeout, bounded), after checking both route to the lab bridge. */
async function underProbes<T>(vips: readonly string[], fn: () => Promise<T>): Promise<{ result: T; probes: ProbeReport[] }> {
  await assertRoutedToLab(readLabProfile()!, vips);
  const stop = new AbortController();
  const reports = vips.map((v) => probeHttp({ url: `http://${v}/`, everyMs: 50, timeoutMs: 2000, maxMs: 900_000, signal: stop.signal }));
  try {
    const result = await fn();
    stop.abort();
    return { result, probes: await Promise.all(reports) };
  } finally {
    stop.abort();
    await Promise.all(reports);
  }
}
const told = (p: ProbeReport) => `${p.url}: ${p.sent} requests, ${p.failed} failed, longest gap ${p.longestGapMs} ms`;

/**
 * `play ARGS` under probes of `vips`; asserts exit 0 and no failed request,
 * and (unless the VIP moves: a preempting director takes it an advert
 * before the other lets go, by design) that never two directors hold VIP1.
 */
async function live(what: string, args: string[], vips: readonly string[], o: { movesVip?: boolean } = {}) {
  let most = 0;
  let watching = true;
  const watcher = (async () => { while (watching) most = Math.max(most, (await holders()).length); })();
  const start = Date.now();
  const { result: r, probes } = await underProbes(vips, () => playCli([...args, '--json'], { timeoutMs: 900_000 }));
  watching = false;
  await watcher;
  console.log(`      ${what} (${((Date.now() - start) / 1000).toFixed(0)} s): ${probes.map(told).join('; ')}; most directors holding ${VIP1} at once: ${most}`);
  const notes = eventsOf(r.stdout).filter((e) => e.kind === 'vip-handover' || e.kind === 'keepalived').map((e) => String(e.stdout ?? '')).join('\n');
  const quiesce = notes.split('\n').filter((l) => /quiesce|trigger/.test(l));
  if (quiesce.length) console.log(`      ${quiesce.join('; ')}`);
  const slow = eventsOf(r.stdout).filter((e) => typeof e.durationMs === 'number' && e.durationMs > 20_000).map((e) => `${e.host} ${e.task} ${(e.durationMs / 1000).toFixed(0)} s`);
  if (slow.length) console.log(`      slow tasks: ${slow.join('; ')}`);
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
  const failures = probes.flatMap((p) => p.failures);
  if (failures.length) console.log(`      tasks around the failed requests:\n        ${tasksAround(r.lines, start, failures).join('\n        ')}`);
  for (const p of probes) assert.is(p.failed, 0, `${what}, ${p.url}: ${JSON.stringify(p.failures.slice(0, 5))}`);
  if (!o.movesVip) assert.is(most, 1, 'never two directors holding the VIP');
  return r;
}

Services('lab up with IPVS directors; the seed converges', async () => {
  // ipvs.lab.ts's lab, kept (RS3 idle there, outside these inventories).
  const lab = await sharedLab({ ipvs: true, inventory: withRs3 });
  await assertRoutedToLab(lab, [VIP2]);
  for (const h of ['LB1', 'LB2', 'RS1', 'RS2']) conns.set(h, await connectLab(h, lab));
  const r = await playCli(['site', '-i', 'inventory', '--json'], { timeoutMs: 900_000 });
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
});

Services('every rendered golden passes keepalived --config-test on the lab release (as the director role runs it)', async () => {
  await configTestGoldens(on('LB1'));
});

/** The tracked check on each director: fails while /run/play-spec-down exists. Root's, not writable by others (enable_script_security). */
const CHECK = `printf '#!/bin/sh\\n[ ! -e /run/play-spec-down ]\\n' > /usr/local/bin/play-spec-check && chmod 755 /usr/local/bin/play-spec-check`;

Services('the seed rolls out to two services on two VIPs over unicast VRRP: no request to the seed VIP fails', async () => {
  for (const d of ['LB1', 'LB2']) assert.is((await on(d).run(CHECK)).code, 0, `${d}: the tracked check installed`);
  const r = await live('seed → services + unicast', ['site', '-i', SERVICES], [VIP1]);
  const conf = (await on('LB2').run('cat /etc/keepalived/keepalived.conf')).stdout;
  assert.match(conf, /unicast_src_ip 192\.168\.56\.102\s+unicast_peer \{\s+192\.168\.56\.101\s+\}/);
  assert.match(conf, /virtual_server 192\.168\.56\.201 80 \{/);
  assert.equal(await holders(VIP2), ['LB1']);
  assert.equal(await reals(VIP1), ['192.168.56.103', '192.168.56.104']);
  assert.equal(await reals(VIP2), ['192.168.56.103', '192.168.56.104']);
  const verified = eventsOf(r.stdout).find((e) => e.kind === 'verify')!.table.rows as string[][];
  assert.ok(verified.every((row) => row[4] !== 'no'), JSON.stringify(verified));
});

Services('each VIP spreads its requests over RS1 and RS2', async () => {
  // Not strict alternation: after thousands of probe requests a client port is reused while IPVS still holds its old entry (ipvs.lab.ts proves rr turn by turn).
  for (const vip of [VIP1, VIP2]) {
    const labels = await ask(vip, 8);
    assert.ok(labels.every(Boolean), `${vip}: every request answered: ${labels.join(' ')}`);
    for (const rs of ['RS1', 'RS2']) assert.ok(labels.filter((l) => l === rs).length >= 2, `${vip}: ${rs} answered at least 2 of 8: ${labels.join(' ')}`);
  }
});

Services('HTTP_GET removes RS1 when its health page fails while TCP still accepts; the TCP_CHECK service keeps it', async () => {
  const rs1 = on('RS1');
  // nginx answers 403 for a page it cannot read: the port accepts, the check's status is wrong.
  await rs1.run('chmod 000 /var/www/html/health');
  try {
    assert.match((await controller.run(`curl -s -o /dev/null -w '%{http_code}' http://192.168.56.103/health`)).stdout, /^403$/);
    const gone = await settle(() => reals(VIP1), (r) => r.join() === '192.168.56.104', 60_000, 500);
    assert.equal(gone, ['192.168.56.104'], 'HTTP_GET removed RS1 from VIP1:80');
    assert.equal(await reals(VIP2), ['192.168.56.103', '192.168.56.104'], 'TCP_CHECK keeps RS1 on VIP2:80');
    assert.equal(await ask(VIP1, 4), ['RS2', 'RS2', 'RS2', 'RS2']);
  } finally {
    await rs1.run('chmod 644 /var/www/html/health');
  }
  assert.equal(await settle(() => reals(VIP1), (r) => r.length === 2, 60_000, 500), ['192.168.56.103', '192.168.56.104'], 'HTTP_GET added RS1 back');
});

/** Drop VRRP multicast (224.0.0.18) in and out of both directors: only unicast adverts get through. */
const BLOCK = 'nft add table ip play_spec_mcast; nft add chain ip play_spec_mcast in "{ type filter hook input priority -10; }"; nft add chain ip play_spec_mcast out "{ type filter hook output priority -10; }"; nft add rule ip play_spec_mcast in ip daddr 224.0.0.18 counter drop; nft add rule ip play_spec_mcast in ip protocol 112 counter comment unicast; nft add rule ip play_spec_mcast out ip daddr 224.0.0.18 counter drop';
const UNBLOCK = 'nft delete table ip play_spec_mcast 2>/dev/null; true';

Services('unicast VRRP with multicast blocked: one MASTER, failover to LB2 and back to LB1', async () => {
  try {
    for (const d of ['LB1', 'LB2']) assert.is((await on(d).run(BLOCK)).code, 0, `${d} blocks multicast`);
    // Three advert intervals and the skew: a BACKUP that heard nothing would have taken the VIP by now.
    await new Promise((res) => setTimeout(res, 5000));
    assert.equal(await holders(), ['LB1'], 'one MASTER without multicast');
    const { probes } = await underProbes([VIP1, VIP2], async () => {
      await on('LB1').run('systemctl stop keepalived');
      assert.equal(await settle(() => holders(), (h) => h.join() === 'LB2', 20_000, 200), ['LB2'], 'LB2 took VIP1');
      assert.equal(await holders(VIP2), ['LB2'], 'LB2 took VIP2');
      await new Promise((res) => setTimeout(res, 2000));
      await on('LB1').run('systemctl start keepalived');
      assert.equal(await settle(() => holders(), (h) => h.join() === 'LB1', 30_000, 200), ['LB1'], 'LB1 took VIP1 back');
      await new Promise((res) => setTimeout(res, 2000));
    });
    // Unplanned (keepalived stopped outright): measured, not asserted to be 0.
    console.log(`      unicast failover and back with multicast blocked: ${probes.map(told).join('; ')}`);
    // Unicast mode sends no multicast at all; what LB2 heard came to its own address.
    const heard = (await on('LB2').run('nft list table ip play_spec_mcast')).stdout;
    assert.match(heard, /ip protocol (vrrp|112) counter packets [1-9]\d* bytes \d+ comment "unicast"/, `LB2 heard unicast adverts: ${heard}`);
  } finally {
    for (const d of ['LB1', 'LB2']) await on(d).run(UNBLOCK);
  }
  assert.equal(await holders(VIP2), ['LB1']);
});

/**
 * `fail` on LB1 makes its tracker lower its priority below LB2's: both VIPs
 * go to LB2; `heal` brings them back. keepalived moves them by itself here,
 * without play's quiesce: measured, not asserted to be 0.
 */
async function trackedAwayAndBack(what: string, fail: string, heal: string): Promise<void> {
  const { probes } = await underProbes([VIP1, VIP2], async () => {
    await on('LB1').run(fail);
    try {
      assert.equal(await settle(() => holders(), (h) => h.join() === 'LB2', 20_000, 200), ['LB2'], 'LB2 took VIP1');
      assert.equal(await holders(VIP2), ['LB2'], 'LB2 took VIP2');
      await new Promise((res) => setTimeout(res, 2000));
    } finally {
      await on('LB1').run(heal);
    }
    assert.equal(await settle(() => holders(), (h) => h.join() === 'LB1', 20_000, 200), ['LB1'], 'LB1 took VIP1 back');
    await new Promise((res) => setTimeout(res, 2000));
  });
  console.log(`      ${what}: ${probes.map(told).join('; ')}`);
  assert.equal(await holders(VIP2), ['LB1']);
}

Services('a tracked maintenance file on the MASTER hands both VIPs to LB2; cleared, they come back', async () => {
  await trackedAwayAndBack('maintenance file there and back', 'echo 1 > /etc/keepalived/maintenance', 'echo 0 > /etc/keepalived/maintenance');
});

Services('a tracked check failing on the MASTER (run as keepalived_script) hands both VIPs to LB2; passing again, they come back', async () => {
  const ran = (await on('LB1').run('id -un keepalived_script; journalctl -u keepalived --no-pager | grep -c "VRRP_Script(chk_local) succeeded"')).stdout;
  assert.match(ran, /^keepalived_script\n[1-9]\d*\s*$/, `the director role created the script's user, and keepalived ran the check: ${ran}`);
  await trackedAwayAndBack('tracked check failing and passing again', 'touch /run/play-spec-down', 'rm -f /run/play-spec-down');
});

Services('a planned handover and handback move both VIPs: no request fails on either', async () => {
  await live('handover (two VIPs)', ['handover', '-i', SERVICES], [VIP1, VIP2], { movesVip: true });
  assert.equal(await holders(VIP1), ['LB2']);
  assert.equal(await holders(VIP2), ['LB2']);
  await live('handback (two VIPs)', ['handback', '-i', SERVICES], [VIP1, VIP2], { movesVip: true });
  assert.equal(await holders(VIP2), ['LB1']);
});

Services('one instance → two (active/active: VI_2 with LB2 as MASTER) on the live cluster: no request fails on either VIP; each VIP on its own MASTER', async () => {
  const r = await live('services → active/active', ['site', '-i', ACTIVE], [VIP1, VIP2], { movesVip: true });
  assert.equal(await holders(VIP1), ['LB1']);
  assert.equal(await holders(VIP2), ['LB2']);
  for (const d of ['LB1', 'LB2']) assert.match((await on(d).run('cat /etc/keepalived/keepalived.conf')).stdout, /vrrp_instance VI_2 \{\s+state (MASTER|BACKUP)\s+interface enp0s8\s+virtual_router_id 63/);
  const verified = eventsOf(r.stdout).find((e) => e.kind === 'verify')!.table.rows as string[][];
  assert.ok(verified.every((row) => row[4] !== 'no'), JSON.stringify(verified));
  assert.equal(verified.find((row) => row[0] === `VIP ${VIP2} holder (VI_2)`)?.slice(2), ['LB2 only', 'LB2', 'yes']);
  assert.equal(await reals(VIP2), ['192.168.56.103', '192.168.56.104']);
  const again = await playCli(['site', '-i', ACTIVE, '--json'], { timeoutMs: 600_000 });
  assert.is(again.code, 0, again.stderr + again.stdout.slice(-3000));
  for (const [h, n] of Object.entries(recapOf(again.stdout))) assert.is(n.changed, 0, `${h}: a re-run changes nothing: ${JSON.stringify(eventsOf(again.stdout).filter((e) => e.host === h && e.status !== 'ok'))}`);
});

Services('the failover drill moves each instance from its MASTER and back (share and longest gap on each VIP)', async () => {
  const { result: r, probes } = await underProbes([VIP1, VIP2], () => playCli(['failover', '-i', ACTIVE, '--json'], { timeoutMs: 300_000 }));
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const rows: string[][] = eventsOf(r.stdout).find((e) => e.kind === 'failover')!.table.rows;
  console.log(`      ${rows.map((x) => `${x[0]} ${x[1]}: ${x[3]}`).join('; ')}`);
  console.log(`      probes during the drill: ${probes.map((p) => `${told(p)} (${((100 * (p.sent - p.failed)) / Math.max(1, p.sent)).toFixed(1)} % served)`).join('; ')}`);
  for (const want of ['VI_1: failover: VIP to BACKUP', 'VI_1: failback: VIP to MASTER', 'VI_2: failover: VIP to BACKUP', 'VI_2: failback: VIP to MASTER']) {
    assert.is(rows.find((x) => x[0] === want)?.[4], 'yes', `${want}: ${JSON.stringify(rows)}`);
  }
  assert.equal(rows.find((x) => x[0] === 'VI_2: failover: VIP to BACKUP')?.[1], 'LB1');
  assert.equal(await holders(VIP1), ['LB1']);
  assert.equal(await holders(VIP2), ['LB2']);
});

Services('two instances → one on the live cluster: LB2 hands VI_2 over before it leaves; no request fails on either VIP', async () => {
  const since = (await on('LB1').run('date +%s')).stdout.trim();
  await live('active/active → services', ['site', '-i', SERVICES], [VIP1, VIP2], { movesVip: true });
  // Handed over, not failed over: a MASTER that stops sends priority 0, which LB1 would log; a BACKUP that stops sends nothing.
  const log = (await on('LB1').run(`journalctl -u keepalived --since @${since} --no-pager -o cat 2>/dev/null`)).stdout;
  assert.match(log, /\(VI_2\) Entering MASTER STATE/, log);
  assert.not.match(log, /\(VI_2\)[^\n]*priority 0/, log);
  assert.equal(await holders(VIP1), ['LB1']);
  assert.equal(await holders(VIP2), ['LB1']);
  for (const d of ['LB1', 'LB2']) {
    assert.not.match((await on(d).run('cat /etc/keepalived/keepalived.conf')).stdout, /VI_2/);
    assert.is((await on(d).run('cat /etc/keepalived/play-handover 2>/dev/null || echo 0')).stdout.trim(), '0', `${d}: no handover offset left behind`);
  }
});

Services('back to the seed (multicast, one service): no request to the seed VIP fails; VIP2 is gone', async () => {
  await live('services + unicast → seed', ['site', '-i', 'inventory'], [VIP1]);
  assert.equal(await holders(VIP2), []);
  assert.equal(await reals(VIP2), []);
  assert.not.match((await on('LB1').run('cat /etc/keepalived/keepalived.conf')).stdout, /unicast_peer/);
});

Services.after(async () => {
  for (const d of ['LB1', 'LB2']) await conns.get(d)?.run('rm -f /usr/local/bin/play-spec-check /run/play-spec-down').catch(() => undefined);
  for (const c of conns.values()) await c.close().catch(() => undefined);
  await controller.close();
  await labDown();
});
Services.run();
