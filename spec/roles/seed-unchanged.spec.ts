/**
 * The seed must deploy exactly what it deployed before the cluster model
 * grew (several services, check kinds, unicast VRRP): the lab specs
 * (spec/e2e/*.lab.ts) are built on it. Every task site.ts plans for every
 * host of the seed inventory is recorded — its params and, for a template
 * or keepalived.conf, the rendered text — and compared with the snapshot
 * taken before the change (fixtures/seed-plan.json).
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compile } from '../../lib/engine/compile.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import seed from '../../inventory/inventory.ts';
import site from '../../playbooks/site.ts';

const FIXTURE = new URL('./fixtures/seed-plan.json', import.meta.url);

/** Each host's tasks as text: kind, name, params (URLs as paths relative to the repo) and rendered templates. */
function seedPlan(): Record<string, string[]> {
  const root = new URL('../../', import.meta.url).href;
  const out: Record<string, string[]> = {};
  for (const play of compile(site, seed).plays) {
    for (const w of play.work) {
      for (const { task } of [...w.tasks, ...w.handlers]) {
        const p = task.params as Record<string, unknown>;
        const rendered = (task.kind === 'template' || task.kind === 'keepalived') && p.src !== undefined;
        // A template's vars may be shaped anew; what it renders may not change.
        // JSON.stringify turns a URL into its href (toJSON) before the replacer sees it:
        // the checkout's own path is cut from strings, so the snapshot holds in any worktree.
        const params = JSON.stringify(p, (k, v) => (typeof v === 'string' && v.startsWith(root) ? v.slice(root.length) : rendered && k === 'vars' ? undefined : v));
        const lines = [`${play.name} | ${task.kind} | ${task.name} | ${params}`];
        if (rendered) {
          for (const ipvsKernel of [true, false]) {
            const r = renderTemplate(p.src as URL, { ...w.host.vars, ...(p.vars as object), ipvsKernel });
            lines.push(`rendered (ipvsKernel ${ipvsKernel}):\n${r.ok ? r.text : `ERROR ${r.message}`}`);
          }
        }
        (out[w.host.name] ??= []).push(...lines);
      }
    }
  }
  return out;
}

const Seed = suite('the seed inventory deploys what it did');

Seed('every host\'s planned tasks and rendered files are byte-identical to the recorded snapshot', () => {
  const now = seedPlan();
  const then = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, string[]>;
  assert.equal(Object.keys(now).sort(), Object.keys(then).sort());
  for (const host of Object.keys(then)) assert.fixture(now[host]!.join('\n'), then[host]!.join('\n'), host);
});

Seed.run();
