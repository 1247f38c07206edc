import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeSpread, parseIpvsadm, parseLabels } from '../../roles/verify/parse.ts';

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

const spread: Array<[string[], string, boolean]> = [
  [['RS1', 'RS2', 'RS1', 'RS2', 'RS1', 'RS2'], 'rr', true],
  [['RS1', 'RS1', 'RS2', 'RS2', 'RS1', 'RS2'], 'rr', false],
  [['RS1', 'RS1', 'RS1', 'RS1'], 'rr', false],
  [['RS1', 'RS2', '', 'RS2'], 'rr', false],
  [['RS1', 'RS1', 'RS2'], 'wlc', true],
  [['RS1', 'RS1'], 'wlc', false],
];
for (const [labels, sched, pass] of spread) {
  Parse(`spread ${labels.join(',')} under ${sched} → ${pass ? 'pass' : 'fail'}`, () => {
    assert.is(judgeSpread(labels, ['RS1', 'RS2'], sched).pass, pass);
  });
}

Parse.run();
