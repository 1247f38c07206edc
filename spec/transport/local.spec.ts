import { createHash, randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TransportError } from '../../lib/core/errors.ts';
import { exitResult, localTransport } from '../../lib/transport/local.ts';

const Local = suite('local transport');

Local('runs /bin/sh -c and reports code, stdout and stderr without rejecting', async () => {
  const t = localTransport();
  assert.is(t.host, 'controller');
  assert.equal(await t.run('echo out; echo err >&2; exit 3'), { code: 3, stdout: 'out\n', stderr: 'err\n' });
  assert.equal(await t.run(`x='a b'; printf '%s' "$x"`), { code: 0, stdout: 'a b', stderr: '' });
  assert.is(t.commandCount, 2);
  await t.close();
});

Local('stdin: string and Buffer round trips; none means end-of-file', async () => {
  const t = localTransport('ctl');
  assert.is((await t.run('cat', { stdin: 'héllo\n' })).stdout, 'héllo\n');
  const bytes = randomBytes(1024 * 1024);
  const r = await t.run('sha256sum', { stdin: bytes });
  assert.is(r.stdout.split(' ')[0], createHash('sha256').update(bytes).digest('hex'));
  assert.is((await t.run('cat; echo done')).stdout, 'done\n');
  assert.is((await t.run('true', { stdin: 'ignored' })).code, 0, 'a command not reading its input is fine');
  await t.close();
});

Local('large output arrives whole', async () => {
  const t = localTransport();
  const r = await t.run(`head -c 5242880 /dev/zero | tr '\\0' a`);
  assert.is(r.stdout.length, 5 * 1024 * 1024);
  await t.close();
});

Local('a timeout kills the whole pipeline and rejects quickly', async () => {
  const t = localTransport('ctl', { commandTimeoutMs: 300 });
  const t0 = Date.now();
  try {
    await t.run('sleep 30; echo never');
    assert.unreachable('should time out');
  } catch (e) {
    assert.instance(e, TransportError);
    assert.is((e as Error).message, 'ctl: command timed out after 0.3 s (command: sleep 30; echo never)');
  }
  assert.ok(Date.now() - t0 < 1_500);
  await t.close();
});

Local('death by signal: 128+n, the signal named in stderr', async () => {
  const t = localTransport();
  const r = await t.run('echo partial >&2; kill -KILL $$');
  assert.is(r.code, 137);
  assert.is(r.stderr, 'partial\nkilled by SIGKILL\n');
  await t.close();
});

Local('close is idempotent; a run after close rejects', async () => {
  const t = localTransport();
  await t.close();
  await t.close();
  try {
    await t.run('true');
    assert.unreachable('should reject');
  } catch (e) {
    assert.instance(e, TransportError);
  }
});

Local('exitResult maps codes and signals', () => {
  assert.equal(exitResult(0, null, 'o', 'e'), { code: 0, stdout: 'o', stderr: 'e' });
  assert.equal(exitResult(null, 'SIGTERM', '', 'x'), { code: 143, stdout: '', stderr: 'x\nkilled by SIGTERM\n' });
  assert.equal(exitResult(null, 'HUP', '', '', 'core dumped'), { code: 129, stdout: '', stderr: 'killed by SIGHUP (core dumped)\n' });
  assert.is(exitResult(null, 'SIGNOPE', '', '').code, 255);
});

Local.run();
