/**
 * The seed's LVS-DR for real: directors are qemu VMs on Debian's kernel
 * (IPVS), real servers are containers. Requests to the VIP alternate
 * between RS1 and RS2; stopping nginx on RS1 makes keepalived's TCP_CHECK
 * remove it, so every request goes to RS2 until nginx is back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { localTransport } from '../../lib/transport/local.ts';
import { parseIpvsadm, parseLabels } from '../../roles/verify/parse.ts';
import { settle } from '../../roles/verify/checks.ts';
import { connectLab, eventsOf, freshLab, labDown, playCli } from '../support/lab.ts';

const VIP = '192.168.56.200';
const Ipvs = suite('site.ts with IPVS (--ipvs lab)');
const conns = new Map<string, Transport>();
const controller = localTransport();

/** N requests from the controller to the VIP: the <h1> label of each answer. */
async function ask(n: number): Promise<string[]> {
  const r = await controller.run(`for i in $(seq 1 ${n}); do printf '#%s\\n' "$(curl -s -m 3 http://${VIP}/ | grep -o '<h1>[^<]*</h1>')"; done`);
  return parseLabels(r.stdout);
}
/** Real servers in LB1's IPVS table for the VIP. */
async function reals(): Promise<string[]> {
  const out = (await conns.get('LB1')!.run('ipvsadm -Ln')).stdout;
  return (parseIpvsadm(out).find((s) => s.address === VIP)?.reals ?? []).map((r) => r.address).sort();
}

Ipvs('lab up with IPVS directors', async () => {
  const lab = await freshLab({ ipvs: true });
  assert.equal(lab.hosts.filter((h) => h.kind === 'vm').map((h) => h.name), ['LB1', 'LB2']);
  for (const h of ['LB1', 'LB2', 'RS1']) conns.set(h, await connectLab(h, lab));
});

Ipvs('site.ts converges and verify passes with real round robin', async () => {
  const r = await playCli(['site', '-i', 'inventory', '--json'], { timeoutMs: 900_000 });
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-4000));
  const rows: string[][] = eventsOf(r.stdout).find((e) => e.host === 'controller')!.table.rows;
  const ipvsRow = rows.find((x) => x[0] === 'IPVS service lists real servers')!;
  const rrRow = rows.find((x) => x[0]!.startsWith('6 requests to VIP'))!;
  assert.is(ipvsRow[4], 'yes', JSON.stringify(rows));
  assert.is(rrRow[4], 'yes', JSON.stringify(rows));
  console.log(`      verify saw: ${rrRow[3]}`);
  const table = (await conns.get('LB1')!.run('ipvsadm -Ln')).stdout;
  assert.match(table, /TCP\s+192\.168\.56\.200:80 rr/);
  assert.match(table, /192\.168\.56\.103:80\s+Route/);
  assert.match(table, /192\.168\.56\.104:80\s+Route/);
});

Ipvs('requests to the VIP alternate between RS1 and RS2', async () => {
  const labels = await ask(8);
  assert.ok(labels.every((l, i) => l && (i === 0 || l !== labels[i - 1])), labels.join(' '));
  assert.equal([...new Set(labels)].sort(), ['RS1', 'RS2']);
});

Ipvs('nginx stopped on RS1: the health check removes it, every request goes to RS2, until it is back', async () => {
  const rs1 = conns.get('RS1')!;
  await rs1.run('systemctl stop nginx');
  try {
    const gone = await settle(reals, (r) => r.join() === '192.168.56.104', 60_000, 1000);
    assert.equal(gone, ['192.168.56.104'], 'TCP_CHECK removed RS1');
    assert.equal(await ask(6), ['RS2', 'RS2', 'RS2', 'RS2', 'RS2', 'RS2']);
  } finally {
    await rs1.run('systemctl start nginx');
  }
  const back = await settle(reals, (r) => r.length === 2, 60_000, 1000);
  assert.equal(back, ['192.168.56.103', '192.168.56.104'], 'TCP_CHECK added RS1 back');
  assert.equal([...new Set(await ask(6))].sort(), ['RS1', 'RS2']);
});

Ipvs('the failover drill keeps serving HTTP through the VIP', async () => {
  const r = await playCli(['failover', '-i', 'inventory', '--json'], { timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr + r.stdout.slice(-3000));
  const rows: string[][] = eventsOf(r.stdout).find((e) => e.kind === 'failover')!.table.rows;
  const http = rows.find((x) => x[0] === 'HTTP to VIP during drill')!;
  assert.is(http[4], 'yes', JSON.stringify(rows));
  console.log(`      ${rows.map((x) => `${x[0]}: ${x[3]}`).join('; ')}`);
});

Ipvs.after(async () => {
  for (const c of conns.values()) await c.close().catch(() => undefined);
  await controller.close();
  await labDown();
});

Ipvs.run();
