/**
 * Every keepalived.conf golden the director role's specs render
 * (spec/roles/fixtures/keepalived*.conf), config-tested on a lab director
 * exactly as the role runs the test before a config is used. Shared by the
 * release specs: each release's keepalived must accept every model.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as assert from 'uvu/assert';
import type { Transport } from '../../lib/core/transport.ts';
import { KEEPALIVED_CONFIG_TEST } from '../../roles/director/keepalived-commands.ts';

/** Config-test every golden on `lb1` (a director with keepalived installed); prints one line per golden. */
export async function configTestGoldens(lb1: Transport): Promise<void> {
  const dir = new URL('../roles/fixtures/', import.meta.url);
  const goldens = readdirSync(dir).filter((f) => /^keepalived.*\.conf$/.test(f));
  assert.ok(goldens.length >= 6, goldens.join(' '));
  const version = (await lb1.run('keepalived --version 2>&1 | head -1')).stdout.trim();
  for (const f of goldens) {
    const text = readFileSync(new URL(f, dir), 'utf8');
    // What the director role ensures (the scripts' users) and what the user provides (the scripts, the tracked interfaces), here stubs.
    const users = [...new Set([...text.matchAll(/^\s*(?:user\s+|\S+\s+".*"\s+)(\w+)\s*$/gm)].map((m) => m[1]!))].filter((u) => u !== 'root');
    const scripts = [...new Set([...text.matchAll(/"(\/usr\/local\/bin\/[\w.-]+)/g)].map((m) => m[1]!))];
    const ifaces = [...new Set([...text.matchAll(/track_interface \{([^}]*)\}/g)].flatMap((m) => m[1]!.trim().split('\n').map((l) => l.trim().split(/\s+/)[0]!)).filter(Boolean))];
    const path = `/tmp/play-golden-${f}`;
    await lb1.run(`cat > ${path}`, { stdin: text });
    const stubs = [
      ...users.map((u) => `id -u ${u} >/dev/null 2>&1 || useradd -r -s /usr/sbin/nologin ${u}`),
      ...scripts.map((x) => `[ -e ${x} ] || { printf '#!/bin/sh\\nexit 0\\n' > ${x}; chmod 755 ${x}; echo ${x} >> /tmp/play-golden-stubs; }`),
      ...ifaces.map((i) => `ip link show ${i} >/dev/null 2>&1 || { ip link add ${i} type veth peer name ${i}p && echo ${i} >> /tmp/play-golden-links; }`),
    ].filter(Boolean).join('; ') || 'true';
    const cleanup = 'for x in $(cat /tmp/play-golden-stubs 2>/dev/null); do rm -f "$x"; done; for i in $(cat /tmp/play-golden-links 2>/dev/null); do ip link del "$i"; done; rm -f /tmp/play-golden-stubs /tmp/play-golden-links';
    const r = await lb1.run(`${stubs}; ${KEEPALIVED_CONFIG_TEST.split('%s').join(path)} 2>&1; echo "exit $?"; rm -f ${path}; ${cleanup}`);
    console.log(`      ${version}, ${f}: ${r.stdout.trim().split('\n').at(-1)}`);
    assert.match(r.stdout, /exit 0\s*$/, `${f}:\n${r.stdout}`);
    assert.not.match(r.stdout, /unknown keyword|not recognised|WARNING|removing|disabling/i, `${f}:\n${r.stdout}`);
  }
}
