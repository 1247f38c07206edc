import { holdLabLock } from '../../spec/support/lab-lock.ts';
import { connectLab, freshLab, labDown, playCli } from '../../spec/support/lab.ts';
import { parseBatchScript } from '../../lib/engine/fact-batch.ts';
holdLabLock();
try {
  await freshLab();
  const conv = await playCli(['site', '-i', 'inventory', '--role', 'director', '--role', 'realserver', '--json']);
  console.log('converge exit', conv.code);
  const v = await playCli(['site', '-i', 'inventory', '--role', 'director', '--role', 'realserver', '--json', '-v']);
  const cmds = v.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'command');
  for (const host of ['LB1', 'RS1']) {
    const c = cmds.find((e) => e.host === host);
    console.log(host, 'batch took', c.durationMs, 'ms');
    const parsed = parseBatchScript(c.cmd)!;
    const t = await connectLab(host);
    for (const cmd of parsed.commands) {
      const r = await t.run(`s=$(date +%s%N); ( ${cmd}\n) >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e-s)/1000000 ))`);
      console.log(`  ${r.stdout.trim().padStart(4)} ms  ${cmd.replace(/\n/g, ' ; ').slice(0, 110)}`);
    }
    const whole = await t.run(`s=$(date +%s%N); ( ${c.cmd}\n) >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e-s)/1000000 ))`);
    console.log('  whole batch on host', whole.stdout.trim(), 'ms');
    for (let i = 0; i < 3; i++) { const a = Date.now(); await t.run('true'); console.log('  true rt', Date.now() - a); }
    await t.close();
  }
  for (let i = 0; i < 3; i++) {
    const r = await playCli(['site', '-i', 'inventory', '--role', 'director', '--role', 'realserver', '--json', '-v']);
    const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    console.log('run', ev.find((e) => e.event === 'summary').durationMs, 'cmds', ev.filter((e) => e.event === 'command').map((e) => `${e.host}:${e.durationMs}`).join(' '));
  }
} finally {
  await labDown();
}
