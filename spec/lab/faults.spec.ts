/**
 * What `play lab status` and `heal` read of the fault table: nft's own JSON
 * (recorded from nftables 1.0.6, Debian 12, in a throwaway namespace), a
 * host cut off and a VRRP cut between two directors, and the same table with
 * its sets empty.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCuts } from '../../lib/lab/faults.ts';

const Cuts = suite('lab faults: the cuts in force, from nft -j');
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const cases: Array<{ name: string; json: string; want: ReturnType<typeof parseCuts> }> = [
  {
    name: 'a host cut off (one port) and VRRP cut between two (a pair each way), with the seconds left',
    json: fixture('nft-cuts.json'),
    want: [
      { set: 'cut', ports: ['plab-rs1'], secondsLeft: 299 },
      { set: 'vrrp_pair', ports: ['plab-lb2', 'plab-lb1'], secondsLeft: 59 },
      { set: 'vrrp_pair', ports: ['plab-lb1', 'plab-lb2'], secondsLeft: 59 },
    ],
  },
  { name: 'the table with every set empty: none', json: fixture('nft-no-cuts.json'), want: [] },
  {
    name: 'an element without a timeout (added by hand): 0 s left, not an error',
    json: JSON.stringify({ nftables: [{ set: { name: 'cut', elem: ['plab-w1'] } }, { set: { name: 'cut_pair', elem: [{ concat: ['plab-a', 'plab-b'] }] } }] }),
    want: [{ set: 'cut', ports: ['plab-w1'], secondsLeft: 0 }, { set: 'cut_pair', ports: ['plab-a', 'plab-b'], secondsLeft: 0 }],
  },
];
for (const c of cases) Cuts(c.name, () => assert.equal(parseCuts(c.json), c.want));

Cuts.run();
