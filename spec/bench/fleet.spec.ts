/**
 * The fleet simulator (bench/fleet/) answers its play exactly as a converged
 * host: run in-process against the responder, the play reports every host ok
 * with nothing changed, one round trip each; each answer parses to the
 * converged value; anything else is refused loudly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { compile } from '../../lib/engine/compile.ts';
import { batchScript } from '../../lib/engine/fact-batch.ts';
import { runPlays } from '../../lib/engine/runner.ts';
import { dpkgStatus } from '../../lib/tasks/dpkg-facts.ts';
import { fileState, fileText, tempPrefix } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { serviceState } from '../../lib/tasks/service-facts.ts';
import { sysctlValue } from '../../lib/tasks/sysctl-facts.ts';
import { withDeadline } from '../../lib/transport/ssh.ts';
import { convergedHost, responder, unwrapDeadline, type SimHost } from '../../bench/fleet/converged.ts';
import { FLEET_SERVICE, FLEET_SYSCTL, FLEET_TEMPLATE, FLEET_VARS, fleetHosts, type FleetVars } from '../../bench/fleet/fleet.ts';
import playbook from '../../bench/fleet/playbook.ts';
import { RecordingReporter } from '../support/recording-reporter.ts';

function simTransport(name: string, host: SimHost): Transport & { commands: string[] } {
  const answer = responder(host);
  const commands: string[] = [];
  return { host: name, commands, get commandCount() { return commands.length; }, run: async (cmd) => { commands.push(cmd); return answer(cmd); }, close: async () => undefined };
}

async function runFleet(count: number, hostOf: (name: string) => SimHost = convergedHost) {
  const inv = defineInventory<FleetVars>({ vars: FLEET_VARS, hosts: Object.fromEntries(fleetHosts(count).map((h) => [h.name, { address: '127.0.0.1', port: h.port }])) });
  const c = compile(playbook, inv);
  assert.equal(c.problems, []);
  const reporter = new RecordingReporter();
  const recap = await runPlays(c.plays, {
    playbook: playbook.name, check: false, diff: false, forks: 64, forceHandlers: false, reporter, allHosts: inv.hosts,
    connect: async (h) => simTransport(h.name, hostOf(h.name)),
  });
  return { recap, reporter };
}

test('the fleet play converges on simulated hosts: every task ok, nothing changed, one round trip per host', async () => {
  const { recap, reporter } = await runFleet(3);
  for (const name of ['f0001', 'f0002', 'f0003']) {
    const h = recap.hosts[name]!;
    assert.equal({ ok: h.ok, changed: h.changed, failed: h.failed, unreachable: h.unreachable, commands: h.commands }, { ok: 4, changed: 0, failed: 0, unreachable: 0, commands: 1 }, name);
  }
  assert.equal(reporter.of('f0002'), [
    `ok template ${FLEET_TEMPLATE.dest}`, `ok sysctl ${FLEET_SYSCTL.name}`, 'ok apt nginx', `ok service ${FLEET_SERVICE} started`,
  ]);
});

test('fixture table: each answer parses to the converged value', () => {
  const h = convergedHost('f0007');
  const answer = responder(h);
  const parse = <T>(f: { command: string; parse(out: string): T }): T => {
    const r = answer(f.command);
    assert.is(r.code, 0, f.command);
    return f.parse(r.stdout);
  };
  const conf = h.files[FLEET_TEMPLATE.dest]!;
  assert.match(conf.content, /f0007/);
  const rows: Array<[string, unknown, unknown]> = [
    ['template file', parse(fileState(FLEET_TEMPLATE.dest)), { type: 'file', parent: true, stale: [], mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: Buffer.byteLength(conf.content), sha256: sha256(conf.content) }],
    ['template text', parse(fileText(FLEET_TEMPLATE.dest)), conf.content],
    ['sysctl running', parse(sysctlValue(FLEET_SYSCTL.name)), { value: '2' }],
    ['sysctl.d file', parse(fileText(FLEET_SYSCTL.file)), `${FLEET_SYSCTL.name} = 2\n`],
    ['dpkg', [...parse(dpkgStatus(['nginx']))], [['nginx', { installed: true, version: '1.22.1-9+deb12u1' }]]],
    ['service', parse(serviceState('nginx', 'nginx')), { init: 'systemd', load: 'loaded', active: 'active', sub: 'running', unitFile: 'enabled', needReload: false }],
  ];
  for (const [what, got, want] of rows) assert.equal(got, want, what);
  assert.is(tempPrefix(FLEET_TEMPLATE.dest), '/etc/.play-fleet.conf.play-tmp.');
});

test('a command the converged host is never asked is refused with exit 127, naming it; one inside a batch fails the batch', () => {
  const answer = responder(convergedHost('f0001'));
  const r = answer('systemctl restart nginx');
  assert.is(r.code, 127);
  assert.match(r.stderr, /not a command a converged host of this play is asked: "systemctl restart nginx"/);
  const b = answer(batchScript([sysctlValue(FLEET_SYSCTL.name).command, 'uname -r']));
  assert.is(b.code, 127);
  assert.match(b.stderr, /"uname -r"/);
  // Another package list than the play's is another command.
  assert.is(answer(dpkgStatus(['nginx', 'curl']).command).code, 127);
});

test('a host that drifted is not converged: the play plans a change the simulator then refuses, so the run fails', async () => {
  const drifted = (name: string): SimHost => ({ ...convergedHost(name), sysctls: { [FLEET_SYSCTL.name]: '0' } });
  const { recap, reporter } = await runFleet(1, drifted);
  assert.is(recap.hosts.f0001!.failed, 1);
  assert.match(reporter.results.find((r) => r.status === 'failed')!.error ?? '', /could not set net\.ipv4\.conf\.all\.arp_announce/);
});

test('unwrapDeadline recovers the command from what the SSH transport sends, and nothing else', () => {
  for (const cmd of ['true', "printf '%s\\n' 'it'\"'\"'s'", batchScript(['echo a', "echo 'b'"], 'abc123'), 'a\nb']) {
    assert.is(unwrapDeadline(withDeadline(cmd, 300_000)), cmd);
    assert.is(unwrapDeadline(withDeadline(cmd, 1_500)), cmd);
  }
  assert.is(unwrapDeadline('true'), undefined);
  assert.is(unwrapDeadline("exec timeout -k 2 300 sh -c 'unterminated"), undefined);
  assert.is(unwrapDeadline('exec timeout -k 2 300 sh -c $(reboot)'), undefined);
});

test.run();
