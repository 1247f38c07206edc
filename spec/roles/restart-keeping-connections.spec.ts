/**
 * A director's keepalived restart keeps its IPVS connections: the script
 * run for real in sh, with `systemctl` and `journalctl` played by shims on
 * PATH and the setting played by a file. While systemctl restarts,
 * expire_nodest_conn reads 0; afterwards it is what it was, whether the
 * restart worked or not, and the script's status is the restart's. Without
 * the setting (no IPVS) nothing is written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { restartKeepingConnectionsCommand } from '../../roles/director/keepalived-commands.ts';

const Restart = suite('keepalived restart: the connections stay (expire_nodest_conn off meanwhile)');
const dir = mkdtempSync(join(tmpdir(), 'play-restart-'));
const setting = join(dir, 'expire_nodest_conn');
const seen = join(dir, 'seen-during-restart');

/** systemctl: `restart` records the setting and exits with `code`; `is-active` says active; `show` says simple. */
function shims(code: number): string {
  const bin = join(dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh
case "$1" in
  restart) cat ${JSON.stringify(setting)} > ${JSON.stringify(seen)} 2>/dev/null || echo absent > ${JSON.stringify(seen)}; exit ${code};;
  is-active) echo active;;
  show) echo simple;;
esac
`);
  writeFileSync(join(bin, 'journalctl'), '#!/bin/sh\necho "keepalived: bad config"\n');
  for (const f of ['systemctl', 'journalctl']) chmodSync(join(bin, f), 0o755);
  return bin;
}

const cases: Array<{ name: string; before?: string; restartCode: number; during: string; after?: string; ok: boolean }> = [
  { name: 'IPVS on: off while restarting, back to 1 after', before: '1', restartCode: 0, during: '0', after: '1', ok: true },
  { name: 'a restart that fails: the setting back all the same, the status a failure', before: '1', restartCode: 1, during: '0', after: '1', ok: false },
  { name: 'an operator\'s 0 stays 0', before: '0', restartCode: 0, during: '0', after: '0', ok: true },
  { name: 'no IPVS (no setting): a plain restart, nothing written', restartCode: 0, during: 'absent', ok: true },
];

for (const c of cases) {
  Restart(c.name, () => {
    rmSync(setting, { force: true });
    rmSync(seen, { force: true });
    if (c.before !== undefined) writeFileSync(setting, `${c.before}\n`);
    const r = spawnSync('sh', ['-c', restartKeepingConnectionsCommand(setting)], { env: { ...process.env, PATH: `${shims(c.restartCode)}:${process.env.PATH}` }, encoding: 'utf8' });
    assert.is(r.status === 0, c.ok, `status ${r.status}: ${r.stderr}`);
    assert.is(readFileSync(seen, 'utf8').trim(), c.during, 'the setting while systemctl restarted');
    if (c.after === undefined) assert.not.ok(existsSync(setting), 'no setting written where IPVS is not');
    else assert.is(readFileSync(setting, 'utf8').trim(), c.after);
  });
}

Restart.after(() => rmSync(dir, { recursive: true, force: true }));
Restart.run();
