import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defineInventory } from '../../lib/dsl/inventory.ts';
import { compile } from '../../lib/engine/compile.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import { keepalivedVars } from '../../roles/director/index.ts';
import { lvsGroups, type LvsCluster, type LvsVars } from '../../roles/lvs/cluster.ts';
import seed from '../../inventory/inventory.ts';
import site from '../../playbooks/site.ts';

const golden = (h: string) => readFileSync(new URL(`./fixtures/keepalived-${h}.conf`, import.meta.url), 'utf8');
const render = (c: LvsCluster, h: string) => {
  const inv = defineInventory<LvsVars>({ ...seed.def, vars: { cluster: c }, groups: lvsGroups(c) });
  const r = renderTemplate(new URL('../../roles/director/templates/keepalived.conf.njk', import.meta.url), { ...keepalivedVars(c, h, inv), ipvsKernel: true });
  if (!r.ok) throw new Error(r.message);
  return r.text;
};

const Director = suite('director role');

Director('renders the seed configuration for LB1 (MASTER) and LB2 (BACKUP)', () => {
  assert.fixture(render(seed.vars.cluster, 'LB1'), golden('LB1'));
  assert.fixture(render(seed.vars.cluster, 'LB2'), golden('LB2'));
  assert.match(golden('LB1'), /state MASTER\n[^]*priority 200/);
  assert.match(golden('LB2'), /state BACKUP\n[^]*priority 100/);
  assert.not.match(golden('LB1'), /persistence_timeout|nb_get_retry/);
});

Director('one inventory value changes exactly one line of the config', () => {
  const c = structuredClone(seed.vars.cluster);
  c.advertInterval = 2;
  const before = golden('LB1').split('\n');
  const after = render(c, 'LB1').split('\n');
  const changed = after.filter((l, i) => l !== before[i]);
  assert.equal(changed, ['    advert_int 2']);
  assert.is(after.length, before.length);
});

Director('lvs_sync_daemon only where the kernel has IPVS (keepalived\'s VRRP process dies on it without)', () => {
  const inv = defineInventory<LvsVars>({ ...seed.def, vars: { cluster: seed.vars.cluster }, groups: lvsGroups(seed.vars.cluster) });
  const r = renderTemplate(new URL('../../roles/director/templates/keepalived.conf.njk', import.meta.url), { ...keepalivedVars(seed.vars.cluster, 'LB1', inv), ipvsKernel: false });
  assert.ok(r.ok);
  assert.not.match(r.ok ? r.text : '', /lvs_sync_daemon/);
  assert.match(golden('LB1'), /lvs_sync_daemon enp0s8 VI_1 maxlen 100/);
});

Director('persistence appears only when set', () => {
  const c = structuredClone(seed.vars.cluster);
  c.persistenceTimeout = 50;
  assert.match(render(c, 'LB1'), /lb_kind DR\n    persistence_timeout 50\n    protocol TCP/);
});

Director('site.ts compiles against the seed inventory: tasks per host, warnings, no problems', () => {
  const c = compile(site, seed);
  assert.equal(c.problems, []);
  const tasks = (host: string) => c.plays.flatMap((p) => p.work.filter((w) => w.host.name === host).flatMap((w) => w.tasks.map((t) => t.task.kind)));
  assert.equal(tasks('LB1'), ['apt', 'interface', 'apt', 'vrrpFirewall', 'keepalived', 'service', 'file', 'sysctl', 'sysctl', 'sysctl', 'template', 'service', 'gate']);
  assert.equal(tasks('RS1'), ['apt', 'apt', 'template', 'sysctl', 'sysctl', 'sysctl', 'sysctl', 'template', 'service', 'ufw', 'service', 'gate']);
  assert.equal(tasks('controller'), ['gate', 'verify']);
  // Rolling: real servers one at a time, then directors BACKUP first, MASTER last.
  const batches = (play: string) => c.plays.find((p) => p.name === play)!.batches.map((b) => b.map((w) => w.host.name).join(','));
  assert.equal(batches('real servers'), ['RS1', 'RS2']);
  assert.equal(batches('directors'), ['LB2', 'LB1']);
});

Director('a bad cluster is rejected before any connection with every problem', () => {
  const c = structuredClone(seed.vars.cluster);
  c.virtualRouterId = 300;
  c.auth = { type: 'PASS', pass: 'twelve-chars' };
  c.directors = { LB1: { priority: 100 }, LB2: { priority: 100 } };
  const inv = defineInventory<LvsVars>({ ...seed.def, vars: { cluster: c } });
  // Once each, against the inventory, though four roles on five hosts use the cluster.
  const problems = compile(site, inv).problems.map((p) => [p.host, p.field]);
  assert.equal(problems, [[undefined, 'cluster.virtualRouterId'], [undefined, 'cluster.auth.pass'], [undefined, 'cluster.directors.LB2.priority']]);
});

Director('persistence with rr is a warning, not an error', () => {
  const c = structuredClone(seed.vars.cluster);
  c.persistenceTimeout = 50;
  const compiled = compile(site, defineInventory<LvsVars>({ ...seed.def, vars: { cluster: c } }), { roles: ['director'] });
  assert.equal(compiled.problems, []);
  assert.ok(compiled.warnings.some((w) => /^role director: cluster.persistenceTimeout: 50 s with rr/.test(w)));
});

Director.run();
