/**
 * The fleet simulator (bench/fleet/) answers its play exactly as a converged
 * host: run in-process against the responder, the play reports every host ok
 * with nothing changed, one round trip each; each answer parses to the
 * converged value; anything else is refused loudly.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { compile } from '../../lib/engine/compile.ts';
import { batchScript, splitBatchOutput } from '../../lib/engine/fact-batch.ts';
import { runPlays } from '../../lib/engine/runner.ts';
import { dpkgStatus } from '../../lib/tasks/dpkg-facts.ts';
import { fileState, fileText, tempPrefix } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { serviceState } from '../../lib/tasks/service-facts.ts';
import { sysctlValue } from '../../lib/tasks/sysctl-facts.ts';
import { connectSsh } from '../../lib/transport/ssh.ts';
import { withDeadline } from '../../lib/transport/ssh-commands.ts';
import { convergedHost, responder, unwrapDeadline, type SimHost } from '../../bench/fleet/converged.ts';
import { FLEET_SERVICE, FLEET_SYSCTL, FLEET_TEMPLATE, FLEET_VARS, fleetHosts, type FleetVars } from '../../bench/fleet/fleet.ts';
import playbook from '../../bench/fleet/playbook.ts';
import { RecordingReporter } from '../support/recording-reporter.ts';
import { keyPair } from '../transport/ssh-server.ts';

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


test('the simulator process serves its hosts over SSH on loopback: the batched facts answered, anything else refused and counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'play-fleet-spec-'));
  // Ports of its own per spec run, below the ephemeral range.
  const base = 21_000 + (process.pid % 5_000);
  const host = keyPair();
  const client = keyPair();
  writeFileSync(join(dir, 'host_ed25519'), host.private);
  writeFileSync(join(dir, 'id_ed25519'), client.private, { mode: 0o600 });
  writeFileSync(join(dir, 'id_ed25519.pub'), client.public);
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${base + 1} ssh-ed25519 ${host.blob.toString('base64')}\n`);
  // The second host of a fleet of two: names and ports are the fleet's, not the process's.
  const server = fork(fileURLToPath(new URL('../../bench/fleet/server.ts', import.meta.url)), [JSON.stringify({ dir, basePort: base, first: 1, count: 1, total: 2 })], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  const ask = <T>(m?: string) => new Promise<T>((resolve, reject) => {
    server.once('message', (x) => resolve(x as T));
    server.once('exit', (c) => reject(new Error(`the simulator exited (${c})`)));
    if (m) server.send(m);
  });
  try {
    assert.equal(await ask<{ listening: number }>(), { listening: 1 });
    const t = await connectSsh({ host: 'f0002', address: '127.0.0.1', port: base + 1, identityFile: join(dir, 'id_ed25519'), knownHostsFile: join(dir, 'known_hosts') });
    try {
      const facts = [fileState(FLEET_TEMPLATE.dest), sysctlValue(FLEET_SYSCTL.name)];
      const r = await t.run(batchScript(facts.map((f) => f.command), 'feed01'));
      assert.is(r.code, 0);
      const [conf, arp] = splitBatchOutput(r.stdout, 2)!.map((o, i) => facts[i]!.parse(o)) as [{ sha256?: string }, { value?: string }];
      assert.is(conf.sha256, sha256(convergedHost('f0002').files[FLEET_TEMPLATE.dest]!.content));
      assert.equal(arp, { value: '2' });
      const bad = await t.run('rm -rf /');
      assert.is(bad.code, 127);
      assert.match(bad.stderr, /"rm -rf \/"/);
    } finally {
      await t.close();
    }
    const { stats } = await ask<{ stats: { connections: number; commands: number; refused: number } }>('stats');
    assert.equal({ connections: stats.connections, commands: stats.commands, refused: stats.refused }, { connections: 1, commands: 2, refused: 1 });
  } finally {
    const gone = new Promise((r) => (server.exitCode !== null || server.signalCode !== null ? r(undefined) : server.once('close', r)));
    server.kill('SIGKILL');
    await gone;
    // Node lets go of the process handle a turn after 'close'.
    await new Promise((r) => setTimeout(r, 10));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
