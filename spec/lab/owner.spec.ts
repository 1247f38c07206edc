import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { labOwnerFromEnv, type LabState } from '../../lib/lab/state.ts';
import { labBeforeSuite } from '../support/lab-lock.ts';

const Owner = suite('lab owner: the suite replaces its own lab and the demo\'s, never one brought up by hand');

const lab = (owner?: LabState['owner']): LabState => ({
  release: 'trixie',
  ...(owner ? { owner } : {}),
  hosts: [{ name: 'LB1', machine: 'lb1', address: '192.168.56.101', iface: 'enp0s8', kind: 'container', director: true }],
});

const table: Array<[string, LabState | undefined, NodeJS.ProcessEnv, 'go' | 'notice' | 'refuse', RegExp?]> = [
  ['no lab up', undefined, {}, 'go'],
  ['the suite\'s own, left by a run that was killed', lab('spec'), {}, 'go'],
  ['./demo\'s: replaced, saying so', lab('demo'), {}, 'notice', /replacing the lab \.\/demo left up \(LB1, Debian trixie\).*\.\/demo brings it back/],
  ['one brought up by hand: refused, saying how to proceed', lab(), {}, 'refuse', /did not bring up \(LB1, Debian trixie; from `play lab up`\).*npx play lab down.*PLAY_SPEC_REPLACE_LAB=1 npm test/],
  ['one brought up by hand, PLAY_SPEC_REPLACE_LAB=1: replaced, saying so', lab(), { PLAY_SPEC_REPLACE_LAB: '1' }, 'notice', /replacing the lab that is up/],
  ['PLAY_SPEC_REPLACE_LAB set to anything but 1 is not a yes', lab(), { PLAY_SPEC_REPLACE_LAB: 'yes' }, 'refuse'],
];
for (const [name, state, env, want, text] of table) {
  Owner(name, () => {
    const r = labBeforeSuite(state, env);
    const got = r.refuse ? 'refuse' : r.notice ? 'notice' : 'go';
    assert.is(got, want, JSON.stringify(r));
    if (text) assert.match(r.refuse ?? r.notice ?? '', text);
  });
}

Owner('PLAY_LAB_OWNER: only the known owners are recorded', () => {
  assert.equal(['spec', 'demo', 'me', '', undefined].map((v) => labOwnerFromEnv(v === undefined ? {} : { PLAY_LAB_OWNER: v })), ['spec', 'demo', undefined, undefined, undefined]);
});

Owner.run();
