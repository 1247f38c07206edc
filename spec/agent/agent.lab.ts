/**
 * The connection agent with the real CLI on the lab: a re-run reuses every
 * host's connection, and a lab rebuilt under the agent's feet (same
 * addresses, new hosts, new host keys) is noticed and reconnected to, with
 * no error for the run.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentStatus } from '../../lib/agent/protocol.ts';
import { freshLab, labDown, playCli, recapOf } from '../support/lab.ts';
import { tempDir } from '../transport/ssh-server.ts';

const Agent = suite('agent: on the lab');

Agent('a first run starts the agent and hands it its hosts; a re-run reuses them; a rebuilt lab gets new ones; `play agent stop` ends the agent', async () => {
  const dir = tempDir('play-agent-lab-');
  const env = { PLAY_PERSIST: '60', PLAY_AGENT_DIR: join(dir.path, 'agent') };
  const check = async () => {
    const r = await playCli(['site', '-i', 'inventory', '--check', '--json', '--role', 'director', '--role', 'realserver'], { env });
    assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const [host, h] of Object.entries(recapOf(r.stdout))) assert.is(h.failed + h.unreachable, 0, host);
  };
  const status = async (): Promise<AgentStatus & { running: boolean }> => JSON.parse((await playCli(['agent', 'status', '--json'], { env })).stdout);
  // A run that found no agent starts one as it ends and hands it its hosts: wait until it has them.
  const handedOver = async (): Promise<AgentStatus & { running: boolean }> => {
    for (let i = 0; i < 50; i++) {
      const s = await status();
      if (s.running && s.connections.length === 4 && s.connections.every((c) => c.open)) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    return status();
  };
  const runsByHost = (s: AgentStatus) => Object.fromEntries(s.connections.map((c) => [c.host, [c.runs, c.open]]));
  let pid: number | undefined;
  try {
    await freshLab();
    await check();
    const s1 = await handedOver();
    pid = s1.pid;
    assert.equal(runsByHost(s1), { LB1: [1, true], LB2: [1, true], RS1: [1, true], RS2: [1, true] });

    await check();
    const s2 = await status();
    assert.is(s2.pid, pid, 'the same agent');
    assert.equal(runsByHost(s2), { LB1: [2, true], LB2: [2, true], RS1: [2, true], RS2: [2, true] }, 'every connection reused');

    await freshLab();
    await check();
    assert.equal(runsByHost(await status()), { LB1: [1, true], LB2: [1, true], RS1: [1, true], RS2: [1, true] }, 'new connections to the new hosts');

    assert.is((await playCli(['agent', 'stop'], { env })).stdout, `agent ${pid} stopped\n`);
    assert.equal(await status(), { running: false });
    pid = undefined;
  } finally {
    // Ours by PID, should the spec have failed before `stop`.
    if (pid !== undefined) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    await labDown();
    dir.remove();
  }
});

Agent.run();
