import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileState, fileText } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { template } from '../../lib/tasks/template.ts';
import { testHost, execOf } from '../support/plan-harness.ts';
import { applyAll, planLocally, scratch, tree } from './local-host.ts';
import { planTable, problemTable } from './table.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const D = '/etc/keepalived/keepalived.conf';
const VARS = { name: 'VI_1', state: 'MASTER', priority: 150, vips: ['192.168.56.100/24'], raw: `<b>&"'</b>` };
const RENDERED = `vrrp_instance VI_1 {
    state MASTER
    priority 150
    virtual_ipaddress {
        192.168.56.100/24
    }
}
# literal: <b>&"'</b>
`;
const at = (stdout: string) => ({ cmd: fileState(D).command, stdout });
const vrrp = (over: object = {}) => template({ src: fixture('vrrp.conf.njk'), dest: D, vars: VARS, ...over });

const Plans = suite('template: render + the file planner');
planTable(Plans, [
  {
    name: 'rendered without escaping, written when the host differs; diff is rendered vs remote',
    task: vrrp({ mode: '0640', validate: 'keepalived --config-test -f %s' }), wantDiff: true,
    facts: [at(`type=file\nstat=640 0 0 20 root root\nsha256=${sha256('old\n')}  -\nparent=yes\n`), { cmd: fileText(D).command, stdout: 'old\n' }],
    changes: ['write /etc/keepalived/keepalived.conf (mode 0640)'],
    then: (plan) => {
      assert.is(plan.changes[0]!.stdin, RENDERED);
      assert.equal(plan.changes[0]!.diff, { path: D, before: 'old\n', after: RENDERED });
      assert.ok(execOf(plan.changes[0]).includes('keepalived --config-test -f "$tmp"'));
    },
  },
  {
    name: 'host already has the rendered text: no-op',
    task: vrrp({ mode: '0640' }), facts: [at(`type=file\nstat=640 0 0 20 root root\nsha256=${sha256(RENDERED)}  -\nparent=yes\n`)],
    changes: [], notes: ['/etc/keepalived/keepalived.conf is up to date'],
  },
  {
    name: 'missing /etc/keepalived in check mode, after apt would install keepalived: predicted',
    task: vrrp(), pending: [{ summary: 'install keepalived 1:2.2.7-1', exec: 'apt-get install keepalived' }],
    facts: [at('type=missing\nparent=no\n')], changes: ['write /etc/keepalived/keepalived.conf (mode 0644)'],
    predicted: ['directory /etc/keepalived does not exist yet, expected from an earlier change'],
  },
  { name: 'missing /etc/keepalived when applying: refused', task: vrrp(), facts: [at('type=missing\nparent=no\n')], error: /directory \/etc\/keepalived does not exist/ },
]);
Plans.run();

const Render = suite('template: rendering problems found before any connection');
const undefinedFile = fileURLToPath(fixture('undefined.njk'));
problemTable(Render, [
  { name: 'undefined top-level variable: file, line and name', task: template({ src: fixture('undefined.njk'), dest: D, vars: {} }), problems: [['src', new RegExp(`^template ${undefinedFile}, line 2, column 15: undefined variable 'routerId' in \\{\\{ routerId \\}\\}$`)]] },
  { name: 'undefined member: the dotted name', task: template({ src: fixture('undefined.njk'), dest: D, vars: { routerId: 'LB1', mail: {} } }), problems: [['src', /line 3, column 24: undefined variable 'mail\.to' in \{\{ mail\.to \}\}/]] },
  { name: 'undefined object: its name', task: template({ src: fixture('undefined.njk'), dest: D, vars: { routerId: 'LB1' } }), problems: [['src', /line 3, .*undefined variable 'mail' in \{\{ mail\.to \}\}/]] },
  { name: 'undefined value through a filter is still an error', task: template({ src: fixture('filtered.njk'), dest: D, vars: {} }), problems: [['src', /filtered\.njk, line 2: undefined variable 'iface' in \{\{ iface \| lower \}\}/]] },
  { name: 'syntax error: file and line', task: template({ src: fixture('broken.njk'), dest: D }), problems: [['src', /broken\.njk.*expected elif, else, or endif, got end of file/s]] },
  { name: 'template file missing', task: template({ src: fixture('nope.njk'), dest: D }), problems: [['src', /nope\.njk not found/]] },
  { name: 'relative src', task: template({ src: 'templates/x.njk', dest: D }), problems: [['src', /absolute path or a file: URL/]] },
  { name: 'dest and mode checked like file', task: template({ src: fixture('vrrp.conf.njk'), dest: 'keepalived.conf', vars: VARS, mode: '644x' }), problems: [['dest', /absolute path/], ['mode', /octal string/]] },
  { name: 'unknown parameter', task: template({ src: fixture('vrrp.conf.njk'), dest: D, vars: VARS, variables: {} } as never), problems: [['variables', /unknown parameter for template/]] },
]);

Render('host variables are visible, task vars win; includes resolve beside the template', () => {
  const t = template({ src: fileURLToPath(fixture('page.html.njk')), dest: '/var/www/html/index.html', vars: { label: 'rs1 & <co>' } });
  assert.equal(t.validate!(testHost({ vars: { address: '192.168.56.11', label: 'ignored' } })), []);
  const t2 = template({ src: `file://${fileURLToPath(fixture('page.html.njk'))}`, dest: '/var/www/html/index.html', vars: { label: 'x' } });
  assert.match(t2.validate!(testHost())[0]!.message, /footer\.njk, line 1, column 14: undefined variable 'address'/);
});
Render.run();

const Local = suite('template: applied with /bin/sh on the controller');
Local('hostile values in vars and dest stay literal; a second plan changes nothing', async () => {
  const s = scratch('template');
  try {
    const dest = join(s.dir, `vrrp $(touch PWNED) 'q' \`id\`;.conf`);
    const vars = { ...VARS, name: `$(touch PWNED)`, raw: `'"\`id\`; rm -rf / \\n\n-x` };
    const plan = await planLocally(template({ src: fixture('vrrp.conf.njk'), dest, vars, mode: '0600' }));
    await applyAll(plan);
    assert.equal(tree(s.dir), [`vrrp $(touch PWNED) 'q' \`id\`;.conf`]);
    assert.is(readFileSync(dest, 'utf8'), RENDERED.replace('VI_1', '$(touch PWNED)').replace(`<b>&"'</b>`, vars.raw));
    assert.not.ok(existsSync('PWNED'));
    assert.equal((await planLocally(template({ src: fixture('vrrp.conf.njk'), dest, vars, mode: '0600' }))).changes, []);
    writeFileSync(dest, 'edited by hand\n');
    const back = await planLocally(template({ src: fixture('vrrp.conf.njk'), dest, vars, mode: '0600' }), { wantDiff: true });
    assert.is(back.changes[0]!.diff!.before, 'edited by hand\n');
  } finally {
    s.done();
  }
});
Local.run();
