import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import type { HostView } from '../../lib/core/host.ts';
import { main } from '../../lib/cli/main.ts';
import { FakeTransport, type Scripted } from '../support/fake-transport.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const rolling = [`${fixtures}playbooks/rolling.ts`, '-i', `${fixtures}inventory/three.ts`];

/** Run the CLI in-process with fake hosts; returns exit code and output. */
async function cli(argv: string[], hosts: (h: HostView) => Scripted[]) {
  let out = '', err = '';
  const code = await main(argv, {
    out: (s) => { out += s; }, err: (s) => { err += s; }, color: false, signal: new AbortController().signal,
    connector: async (h) => new FakeTransport(h.name, hosts(h)),
  });
  return { code, out, err };
}
const nothing = (): never => { throw new Error('contacted a host'); };
const allOk: Scripted[] = [{ cmd: /.*/ }];
/** A fails its health gate after the deploy; everything else succeeds. */
const aUnhealthy = (h: HostView): Scripted[] => (h.name === 'A' ? [{ cmd: 'health', code: 1, stderr: 'unhealthy' }, ...allOk] : allOk);

const Rolling = suite('cli: rolling plays');

Rolling('--list-hosts shows the batches, contacting nothing', async () => {
  const r = await cli([...rolling, '--list-hosts'], nothing);
  assert.is(r.code, 0, r.err);
  assert.fixture(r.out, [
    'play "web" (2 host(s), in 2 batches)',
    '  batch 1/2: A',
    '    A 192.0.2.1',
    '  batch 2/2: B',
    '    B 192.0.2.2',
    'play "db" (1 host(s))',
    '  C 192.0.2.3',
    '',
  ].join('\n'));
});

Rolling('--list-hosts on site.ts: a rollIf and a side-by-side play are named both ways (nothing is asked: nothing connects)', async () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const r = await cli([`${repo}playbooks/site.ts`, '-i', `${repo}inventory/inventory.ts`, '--list-hosts'], nothing);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^play "real servers" \(2 host\(s\), in 2 batches when its rollIf says so \(else all at once\)\)$/m);
  assert.match(r.out, /^play "directors" \(2 host\(s\), in 2 batches when its rollIf says so \(else all at once\), side by side with "real servers" when neither rolls\)$/m);
});

Rolling('--list-tasks shows the pre: and post: phases', async () => {
  const r = await cli([...rolling, '--list-tasks'], nothing);
  assert.match(r.out, /  batch 1\/2: A\n    A 192\.0\.2\.1\n      pre: drain\n      web: deploy\n      post: health\n/);
  assert.match(r.out, /\n  C 192\.0\.2\.3\n    db: db step\n/);
});

Rolling('console: each batch is a PLAY line; a halted run says who was not reached and why', async () => {
  const all = await cli(rolling, () => allOk);
  assert.is(all.code, 0, all.err);
  assert.match(all.out, /PLAY \[web\] batch 1\/2: A\n[^]*PLAY \[web\] batch 2\/2: B\n[^]*PLAY \[db\] C\n/);
  assert.not.match(all.out, /Not reached/);

  const halted = await cli(rolling, aUnhealthy);
  assert.is(halted.code, 2);
  assert.not.match(halted.out, /PLAY \[web\] batch 2\/2|PLAY \[db\]/);
  assert.match(halted.out, /Not reached: B, C\n  play "web" stopped after batch 1\/2: 1 of 1 host\(s\) failed\n/);
});

Rolling('--json: a halted run\'s summary event carries notReached', async () => {
  const r = await cli([...rolling, '--json'], aUnhealthy);
  assert.is(r.code, 2);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.filter((l) => l.event === 'play_start').map((l) => [l.play, l.hosts, l.batch]), [['web', ['A'], { index: 1, count: 2 }]]);
  const reason = 'play "web" stopped after batch 1/2: 1 of 1 host(s) failed';
  assert.equal(lines.find((l) => l.event === 'summary').notReached, [
    { host: 'B', play: 'web', reason },
    { host: 'C', play: 'db', reason },
  ]);
  assert.ok(lines.at(-1).recap, 'the recap is still the last line');
});

Rolling('--json: a complete run\'s summary has an empty notReached', async () => {
  const r = await cli([...rolling, '--json'], () => allOk);
  assert.is(r.code, 0, r.err);
  const summary = r.out.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.event === 'summary');
  assert.equal(summary.notReached, []);
});

Rolling.run();
