/**
 * A director taking the VIPs back first waits until its IPVS table has
 * every connection the holder carries in ESTABLISHED (a restarted
 * director's table is empty until the sync daemon fills it). Rows: the
 * holder's and the taker's tables look after look, and what the wait gives.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostAccess } from '../../lib/core/task.ts';
import { catchUp, catchUpNote, connectionKeys } from '../../roles/director/sync-catch-up.ts';
import { CONNECTIONS_COMMAND } from '../../roles/lvs/ipvs-connections.ts';
import { testHost } from '../support/plan-harness.ts';

const HEAD = 'IPVS connection entries\npro expire state       source             virtual            destination\n';
const A = 'TCP 14:59  ESTABLISHED 192.168.56.1:45000 192.168.56.200:80  192.168.56.103:80\n';
const B = 'TCP 14:58  ESTABLISHED 192.168.56.1:45001 192.168.56.200:443 192.168.56.104:443\n';
const ENDING = 'TCP 01:50  FIN_WAIT    192.168.56.1:45002 192.168.56.200:80  192.168.56.104:80\n';
const OTHER_VIP = 'TCP 14:59  ESTABLISHED 192.168.56.1:45003 192.168.56.201:80  192.168.56.104:80\n';
const SYNCED_A = 'TCP 14:40  ESTABLISHED 192.168.56.1:45000 192.168.56.200:80  192.168.56.103:80\n';
const SYNCED_B = 'TCP 14:41  ESTABLISHED 192.168.56.1:45001 192.168.56.200:443 192.168.56.104:443\n';

const Keys = suite('sync catch-up: the connections in a table');
const TIMEOUTS = 'Timeout (tcp tcpfin udp): 900 120 300\n';
const STALE = 'TCP 14:40  ESTABLISHED 192.168.56.1:45009 192.168.56.200:80  192.168.56.103:80\n';
Keys('active: refreshed by a packet within 10 s of IPVS\'s TCP timeout; a stale entry (a dead client) is not waited for', () => {
  assert.equal([...connectionKeys(TIMEOUTS + HEAD + A + STALE + ENDING, ['192.168.56.200'], true)], ['TCP 192.168.56.1:45000 192.168.56.200:80']);
  assert.equal(connectionKeys('Timeout (tcp tcpfin udp): 7200 120 300\n' + HEAD + STALE, ['192.168.56.200'], true).size, 0, 'a 2 h timeout: 14:40 is long idle');
  assert.equal(connectionKeys(TIMEOUTS + HEAD + 'TCP 14:51  ESTABLISHED 192.168.56.1:45009 192.168.56.200:80  192.168.56.103:80\n', ['192.168.56.200'], true).size, 1, 'a packet 9 s ago');
});
Keys('established ones to the VIPs only, keyed by protocol, client and virtual address', () => {
  assert.equal([...connectionKeys(HEAD + A + B + ENDING + OTHER_VIP, ['192.168.56.200'], true)], ['TCP 192.168.56.1:45000 192.168.56.200:80', 'TCP 192.168.56.1:45001 192.168.56.200:443']);
  assert.equal(connectionKeys(HEAD + A + ENDING, ['192.168.56.200']).size, 2);
  assert.equal(connectionKeys('', ['192.168.56.200']).size, 0);
  assert.equal(connectionKeys(HEAD + A, ['192.168.56.20']).size, 0, 'a VIP that is a prefix of another is not it');
});
Keys.run();

/** A director whose table is read in turn from `tables` (the last one repeats). */
const director = (name: string, tables: string[]): HostAccess & { looks: () => number } => {
  let n = 0;
  return {
    host: testHost({ name }),
    looks: () => n,
    run: async (cmd: string) => {
      if (cmd !== CONNECTIONS_COMMAND) throw new Error(`unexpected command: ${cmd}`);
      return { code: 0, stdout: tables[Math.min(n++, tables.length - 1)]!, stderr: '' };
    },
  };
};

const rows: Array<{ name: string; holder: string[]; taker: string[]; carried: number; missing: number; looks: number; note: RegExp }> = [
  { name: 'the taker never restarted: it has them at the first look', holder: [HEAD + A + B], taker: [HEAD + SYNCED_A + SYNCED_B], carried: 2, missing: 0, looks: 1, note: /^h1 had all 2 active connection\(s\) of the holder$/ },
  { name: 'a restarted taker: empty, then one, then both', holder: [HEAD + A + B], taker: [HEAD, HEAD + SYNCED_A, HEAD + SYNCED_A + SYNCED_B], carried: 2, missing: 0, looks: 3, note: /^h1 had all 2 active connection\(s\) of the holder after \d+ ms$/ },
  { name: 'a connection that ends meanwhile drops out of the count', holder: [HEAD + A + B, HEAD + A], taker: [HEAD + SYNCED_A], carried: 1, missing: 0, looks: 2, note: /had all 1 /},
  { name: 'closing connections are not waited for', holder: [HEAD + A + ENDING], taker: [HEAD + SYNCED_A], carried: 1, missing: 0, looks: 1, note: /had all 1 / },
  { name: 'a stale entry on the holder does not hold the take-back', holder: [TIMEOUTS + HEAD + A + STALE], taker: [HEAD + SYNCED_A], carried: 1, missing: 0, looks: 1, note: /had all 1 / },
  { name: 'nothing to take over (no IPVS, or no client)', holder: [''], taker: [''], carried: 0, missing: 0, looks: 1, note: /^h1: no active connection to take over$/ },
  { name: 'never synced: bounded, and the note says how many', holder: [HEAD + A + B], taker: [HEAD + SYNCED_A], carried: 2, missing: 1, looks: -1, note: /^h1: 1 of 2 active connection\(s\) still not synced after \d+ ms; taking the VIPs back anyway/ },
];
const Wait = suite('sync catch-up: waiting for the holder\'s connections');
for (const r of rows) {
  Wait(r.name, async () => {
    const taker = director('h1', r.taker);
    const c = await catchUp(taker, [director('LB2', r.holder)], ['192.168.56.200'], 60, 5);
    assert.equal([c.carried, c.missing], [r.carried, r.missing]);
    if (r.looks > 0) assert.is(taker.looks(), r.looks);
    else assert.ok(taker.looks() > 2 && c.waitedMs >= 60, `bounded: ${taker.looks()} looks, ${c.waitedMs} ms`);
    assert.match(catchUpNote('h1', c), r.note);
  });
}
Wait.run();
