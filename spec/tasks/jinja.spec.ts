/**
 * The benchmark's Ansible templates (bench/ansible/templates/*.j2) render
 * through the template task to the bytes Ansible writes. The expected files
 * were written by ansible-core 2.14's template module (lstrip_blocks, as
 * site.yml sets it) from the variables in fixtures/ansible/rendered/vars.json,
 * plus RS1/RS2 as hosts with ansible_host (for hostvars) and
 * inventory_hostname localhost.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileState } from '../../lib/tasks/file-facts.ts';
import { sha256 } from '../../lib/tasks/file-plan.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import { template } from '../../lib/tasks/template.ts';
import { planTable } from './table.ts';

const bench = (name: string) => fileURLToPath(new URL(`../../bench/ansible/templates/${name}`, import.meta.url));
const rendered = (name: string) => readFileSync(new URL(`../fixtures/ansible/rendered/${name}`, import.meta.url));
const vars = {
  ...JSON.parse(rendered('vars.json').toString()),
  hostvars: { RS1: { ansible_host: '192.168.56.103' }, RS2: { ansible_host: '192.168.56.104' } },
  inventory_hostname: 'localhost',
};
const TEMPLATES = ['index.html', 'lvs-vip.service', 'keepalived.conf', 'lvs-no-rst.service', 'play-bench.conf'];

const Jinja = suite("Ansible's .j2 templates through the template task");

for (const t of TEMPLATES) {
  Jinja(`${t}.j2 renders to the bytes Ansible wrote`, () => {
    const r = renderTemplate(bench(`${t}.j2`), vars);
    assert.ok(r.ok, r.ok ? '' : r.message);
    if (r.ok) assert.is(r.text, rendered(t).toString('utf8'));
  });
}

Jinja('Jinja2 compatibility stays with .j2: the same text as .njk refuses dict.items(), and the compat layer is off again after', () => {
  const fixture = (n: string) => fileURLToPath(new URL(`./fixtures/${n}`, import.meta.url));
  const j = renderTemplate(fixture('items.j2'), { d: { a: 1, b: 2 } });
  assert.equal(j, { ok: true, text: 'a=1;b=2;' }, 'trim_blocks eats the newline after endfor, as in Jinja2');
  const n = renderTemplate(fixture('items.njk'), { d: { a: 1, b: 2 } });
  assert.is(n.ok, false);
});
Jinja.run();

const D = '/etc/keepalived/keepalived.conf';
const Plans = suite('template with a .j2 source: a host holding what Ansible wrote is up to date');
planTable(Plans, [{
  name: 'no-op against the file Ansible wrote',
  task: template({ src: bench('keepalived.conf.j2'), dest: D, vars, mode: '0640' }),
  facts: [{ cmd: fileState(D).command, stdout: `type=file\nstat=640 0 0 1000 root root\nsha256=${sha256(rendered('keepalived.conf'))}  -\nparent=yes\n` }],
  changes: [], notes: ['/etc/keepalived/keepalived.conf is up to date'],
}]);
Plans.run();
