import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostAccess } from '../../lib/core/task.ts';
import { parseServing, rollWhileServing, SERVING_COMMAND, servingAnswer } from '../../roles/lvs/serving.ts';
import services from '../fixtures/inventory/multi-service.ts';
import inventory from '../../inventory/inventory.ts';

const Serving = suite('rollWhileServing');

// `ip -o -4 addr show` as a director prints it, keepalived's VIP as a second address.
const addrs = (...extra: string[]) => [
  '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
  '2: enp0s8    inet 192.168.56.101/24 brd 192.168.56.255 scope global enp0s8\\       valid_lft forever preferred_lft forever',
  ...extra.map((a) => `2: enp0s8    inet ${a}/32 scope global enp0s8\\       valid_lft forever preferred_lft forever`),
].join('\n');

Serving('parseServing: keepalived running, and every IPv4 address', () => {
  assert.equal(parseServing(`keepalived running\n${addrs('192.168.56.200')}`), { keepalived: true, addresses: ['127.0.0.1', '192.168.56.101', '192.168.56.200'] });
  assert.equal(parseServing(addrs()), { keepalived: false, addresses: ['127.0.0.1', '192.168.56.101'] });
  assert.equal(parseServing(''), { keepalived: false, addresses: [] }, 'a host without `ip` (or any output) holds nothing');
});

const VIPS = ['192.168.56.200', '192.168.56.201'];
const quiet = (name: string) => ({ name, keepalived: false, addresses: ['192.168.56.101'] });
const answerTable: Array<[string, Array<{ name: string; keepalived: boolean; addresses: string[] }>, boolean, RegExp]> = [
  ['nothing runs, no VIP anywhere: a first deployment, all at once', [quiet('LB1'), quiet('LB2')], false, /^nothing serves yet: no director \(LB1, LB2\) holds a VIP or runs keepalived$/],
  ['a VIP held without keepalived (put there by hand): it serves', [{ ...quiet('LB1'), addresses: ['192.168.56.201'] }, quiet('LB2')], true, /LB1 holds 192\.168\.56\.201/],
  ['keepalived running as BACKUP with no VIP: it will take the VIP when its peer goes', [quiet('LB1'), { ...quiet('LB2'), keepalived: true }], true, /keepalived runs on LB2/],
  ['both: every reason named', [{ name: 'LB1', keepalived: true, addresses: VIPS }, { ...quiet('LB2'), keepalived: true }], true, /LB1 holds 192\.168\.56\.200; LB1 holds 192\.168\.56\.201; keepalived runs on LB1, LB2/],
  ['an address in the VIPs\' subnet that is not a VIP: not serving', [{ ...quiet('LB1'), addresses: ['192.168.56.202'] }], false, /nothing serves yet/],
];
for (const [name, seen, roll, why] of answerTable) {
  Serving(`servingAnswer: ${name}`, () => {
    const a = servingAnswer(VIPS, seen);
    assert.is(a.roll, roll);
    assert.match(a.why, why);
  });
}

/** Readers answering SERVING_COMMAND per director, recording who was asked. */
function readers(outputs: Record<string, string | Error>) {
  const asked: string[] = [];
  const reader = async (name: string): Promise<HostAccess> => {
    asked.push(name);
    const out = outputs[name];
    if (out instanceof Error) throw out;
    if (out === undefined) throw new Error(`unexpected reader for ${name}`);
    return {
      host: inventory.hosts.find((h) => h.name === name)!,
      run: async (cmd) => {
        assert.is(cmd, SERVING_COMMAND);
        return { code: 0, stdout: out, stderr: '' };
      },
    };
  };
  return { asked, reader };
}

Serving('reads every director of the cluster, whichever play asks (the real servers\' too)', async () => {
  const { asked, reader } = readers({ LB1: addrs(), LB2: addrs() });
  const rs = inventory.hosts.filter((h) => h.name.startsWith('RS'));
  const a = await rollWhileServing({ hosts: rs, inventoryHosts: inventory.hosts, reader });
  assert.equal(asked.sort(), ['LB1', 'LB2']);
  assert.is(a.roll, false);
});

Serving('every service\'s VIP counts, not only cluster.vip', async () => {
  const vip2 = services.hosts[0]!.vars.cluster.services!.map((s) => s.vip).find((v) => v !== undefined && v !== services.hosts[0]!.vars.cluster.vip)!;
  const names = Object.keys(services.hosts[0]!.vars.cluster.directors);
  const { reader } = readers(Object.fromEntries(names.map((n, i) => [n, i === 1 ? addrs(vip2) : addrs()])));
  const a = await rollWhileServing({ hosts: services.hosts, inventoryHosts: services.hosts, reader });
  assert.is(a.roll, true);
  assert.match(a.why, new RegExp(`${names[1]} holds ${vip2.replace(/\./g, '\\.')}`));
});

Serving('a director that cannot be read throws (the runner then rolls)', async () => {
  const { reader } = readers({ LB1: addrs(), LB2: new Error('connect ECONNREFUSED') });
  try {
    await rollWhileServing({ hosts: inventory.hosts, inventoryHosts: inventory.hosts, reader });
    assert.unreachable('it should throw');
  } catch (e) {
    assert.match((e as Error).message, /ECONNREFUSED/);
  }
});

Serving.run();
