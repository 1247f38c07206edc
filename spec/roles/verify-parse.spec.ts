import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connDeltas, judgeDeltas, parseIpvsadm, parseLabels } from '../../roles/verify/parse.ts';

const Parse = suite('verify parsers');

Parse('ipvsadm -Ln with two real servers (as in the seed)', () => {
  const out = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.56.200:80 rr
  -> 192.168.56.103:80            Route   1      0          0
  -> 192.168.56.104:80            Route   1      0          0
`;
  assert.equal(parseIpvsadm(out), [{
    proto: 'TCP', address: '192.168.56.200', port: 80, scheduler: 'rr', persistent: false,
    reals: [
      { address: '192.168.56.103', port: 80, forward: 'Route', weight: 1 },
      { address: '192.168.56.104', port: 80, forward: 'Route', weight: 1 },
    ],
  }]);
});

Parse('ipvsadm -Ln persistent service with no real server left', () => {
  const out = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.56.200:80 rr persistent 50
`;
  const [svc] = parseIpvsadm(out);
  assert.ok(svc!.persistent);
  assert.equal(svc!.reals, []);
});

Parse('labels from the request loop, failed requests empty', () => {
  assert.equal(parseLabels('#<h1>RS1</h1>\n#<h1>RS2</h1>\n#\n'), ['RS1', 'RS2', '']);
});

const stats = (a: number, b: number, other = 0) => `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.168.56.200:80                  ${a + b}      0        0        0        0
  -> 192.168.56.103:80                  ${a}      0        0        0        0
  -> 192.168.56.104:80                  ${b}      0        0        0        0
TCP  192.168.56.201:80                  ${other}      0        0        0        0
  -> 192.168.56.103:80                  ${other}      0        0        0        0
`;

Parse('new connections per real server between two readings, for one service only', () => {
  const d = connDeltas(stats(10, 20, 5), stats(16, 25, 99), '192.168.56.200', 80);
  assert.equal([...d], [['192.168.56.103:80', 6], ['192.168.56.104:80', 5]]);
});

const RS = ['192.168.56.103:80', '192.168.56.104:80', '192.168.56.105:80'];
// deltas, weights, scheduler → pass: judged on the director's counters, so other clients' requests do not matter.
const spread: Array<[number[], number[], string, boolean]> = [
  [[6, 5], [1, 1], 'rr', true],
  [[5, 5], [1, 1], 'rr', true],
  [[6, 3], [1, 1], 'rr', true],
  [[7, 3], [1, 1], 'rr', false],
  [[10, 0], [1, 1], 'rr', false],
  [[10, 0], [1, 0], 'rr', true],
  [[9, 1], [1, 0], 'rr', false],
  // Under a probe's 20 requests/s: the counts seen on the lab, and a real server left short.
  [[30, 31, 29], [1, 1, 1], 'rr', true],
  [[30, 30, 28], [1, 1, 1], 'rr', true],
  [[30, 30, 24], [1, 1, 1], 'rr', false],
  [[4, 3, 3], [1, 1, 1], 'rr', true],
  [[8, 1, 1], [1, 1, 1], 'rr', false],
  // Under heavy traffic the slack grows with the mean: 5 % at each reading.
  [[1000, 1090, 1010], [1, 1, 1], 'rr', true],
  [[1000, 1200], [1, 1], 'rr', false],
  [[7, 3], [2, 1], 'wrr', true],
  [[10, 0], [2, 1], 'wrr', false],
  [[0, 0], [0, 0], 'rr', false],
  [[4, 9], [1, 1], 'wlc', true],
];
for (const [counts, ws, sched, pass] of spread) {
  Parse(`new connections ${counts.join('/')} with weights ${ws.join('/')} under ${sched} → ${pass ? 'pass' : 'fail'}`, () => {
    const at = (xs: number[]) => new Map(xs.map((x, i) => [RS[i]!, x] as const));
    assert.is(judgeDeltas(at(counts), at(ws), sched), pass);
  });
}

Parse.run();
