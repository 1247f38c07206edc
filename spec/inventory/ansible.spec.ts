/**
 * Ansible inventories read as ansible-core reads them: each fixture's
 * hosts, groups and variables are compared with what `ansible-inventory
 * --list` (ansible-core 2.14) printed for the same files, recorded beside
 * them. The seed's cluster as hosts.ini + group_vars/all.yml gives the same
 * inventory as inventory/inventory.ts, so site.ts runs on it unchanged.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { redact } from '../../lib/core/secret.ts';
import type { Inventory } from '../../lib/dsl/inventory.ts';
import { loadAnsibleInventory } from '../../lib/inventory/ansible.ts';
import { expandHostPattern, parseAnsibleIni } from '../../lib/inventory/ansible-ini.ts';
import seed from '../../inventory/inventory.ts';
import { runCli } from '../support/cli.ts';

const at = (p: string) => fileURLToPath(new URL(`../fixtures/ansible/${p}`, import.meta.url));
const repo = fileURLToPath(new URL('../../', import.meta.url));
const PASSWORD = 'play-spec-vault';
type Listed = { _meta: { hostvars: Record<string, Record<string, unknown>> } } & Record<string, { hosts?: string[]; children?: string[] }>;

/** Every group's hosts, its children's included, as ansible-inventory's tree says. */
function groupsOf(listed: Listed): Map<string, string[]> {
  const hostsOf = (g: string): string[] => [...new Set([...(listed[g]?.hosts ?? []), ...(listed[g]?.children ?? []).flatMap(hostsOf)])];
  return new Map(Object.keys(listed).filter((g) => g !== '_meta' && g !== 'all').map((g) => [g, hostsOf(g).sort()]));
}

/** Our inventory against ansible's listing: the same hosts, groups and variables (a !vault value decrypted on our side). */
function sameAsAnsible(inv: Inventory<unknown>, listed: Listed, decrypted: Record<string, string> = {}) {
  assert.equal(inv.problems, []);
  const vars = Object.fromEntries(inv.hosts.map((h) => [h.name, JSON.parse(JSON.stringify(h.vars))]));
  const theirs = JSON.parse(JSON.stringify(listed._meta.hostvars, (k, v) => (v && typeof v === 'object' && '__ansible_vault' in v ? decrypted[k] : v)));
  assert.equal(vars, theirs);
  const ours = new Map([...inv.groups].map(([g, hs]) => [g, [...hs].sort()]));
  assert.equal(Object.fromEntries(ours), Object.fromEntries(groupsOf(listed)));
}

const Ansible = suite('Ansible inventories');

Ansible('INI: host-line and :vars values, ranges, children, group_vars/all above inline group vars — as ansible-inventory', () => {
  const inv = loadAnsibleInventory(at('ini/hosts'));
  sameAsAnsible(inv, JSON.parse(readFileSync(at('ini/ansible-inventory.json'), 'utf8')));
  const web1 = inv.hosts.find((h) => h.name === 'web1')!;
  assert.equal({ address: web1.address, port: web1.port, user: web1.user, become: web1.become }, { address: 'web1', port: 2200, user: 'deploy', become: true });
  assert.is(inv.hosts.find((h) => h.name === 'lb1')!.address, '192.0.2.10');
});

Ansible('YAML: nested children, hosts under all (ungrouped), group_vars directories, a vault-encrypted file and a !vault value — as ansible-inventory', () => {
  const inv = loadAnsibleInventory(at('yaml/hosts.yml'), { vaultPassword: PASSWORD });
  sameAsAnsible(inv, JSON.parse(readFileSync(at('yaml/ansible-inventory.json'), 'utf8')), { db_password: 'db-s3cret' });
  const h = (n: string) => inv.hosts.find((x) => x.name === n)!;
  assert.equal([h('bastion').address, h('bastion').port], ['192.0.2.1', 2222]);
  assert.equal([h('web01').user, h('web01').become, h('web01').becomePassword], ['deploy', true, 'hunter2']);
  assert.is(h('db1').identityFile, `${process.env.HOME}/.ssh/db_key`);
  assert.is(redact('password db-s3cret and hunter2'), 'password ******** and ********', 'vault values are masked in every output');
});

Ansible('vault: no password, or the wrong one, is a problem naming the file — nothing else is guessed', () => {
  const none = loadAnsibleInventory(at('yaml/hosts.yml'));
  assert.equal(none.problems.map((p) => [p.file!.split('/fixtures/ansible/')[1], p.message]), [
    ['yaml/group_vars/web/20-vault.yml', 'is vault-encrypted: give the password with --vault-password-file'],
    ['yaml/host_vars/db1.yml', 'has a !vault value: give the password with --vault-password-file'],
  ]);
  const wrong = loadAnsibleInventory(at('yaml/hosts.yml'), { vaultPassword: 'nope' });
  assert.ok(wrong.problems.every((p) => /HMAC mismatch/.test(p.message)), JSON.stringify(wrong.problems));
});

Ansible('mistakes are problems with file, host and field', () => {
  const r = parseAnsibleIni('[web]\nweb1 port\n[web:vars]\nnot a pair\n[bad:kind]\n');
  assert.equal(r.problems, ['line 2: expected key=value after host web1, got port', 'line 4: expected key=value in [web:vars], got not a pair', 'line 5: not a section header Ansible knows: [bad:kind]']);
  assert.equal(expandHostPattern('rs[08:10].lab'), ['rs08.lab', 'rs09.lab', 'rs10.lab']);
});

Ansible("the seed's cluster as hosts.ini + group_vars/all.yml is the TypeScript seed inventory", () => {
  const inv = loadAnsibleInventory(`${repo}inventory/ansible/hosts.ini`);
  assert.equal(inv.problems, []);
  const view = (i: Inventory<unknown>) => i.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, become: h.become, groups: [...h.groups].sort(), vars: Object.fromEntries(Object.entries(h.vars as object).filter(([k]) => !k.startsWith('ansible_'))) }));
  assert.equal(view(inv), view(seed as Inventory<unknown>));
  assert.equal(JSON.parse(JSON.stringify(inv.vars)), JSON.parse(JSON.stringify(seed.vars)));
  assert.is(redact('auth 1111'), 'auth ********', '!secret is secret()');
});

Ansible('the CLI: play site -i hosts.ini lists what the TypeScript inventory lists, nothing contacted', async () => {
  const ini = await runCli([`${repo}playbooks/site.ts`, '-i', `${repo}inventory/ansible/hosts.ini`, '--list-tasks'], () => 'refuse');
  const ts = await runCli([`${repo}playbooks/site.ts`, '-i', `${repo}inventory/inventory.ts`, '--list-tasks'], () => 'refuse');
  assert.is(ini.code, 0, ini.err);
  assert.is(ini.out, ts.out);
  assert.equal(ini.contacted, []);
});

Ansible('the CLI: --vault-password-file opens !vault values; without it, exit 1 naming the file', async () => {
  const pb = `${repo}spec/fixtures/playbooks/simple.ts`;
  const without = await runCli([pb, '-i', at('yaml/hosts.yml'), '--list-hosts'], () => 'refuse');
  assert.is(without.code, 1);
  assert.match(without.err, /20-vault\.yml: is vault-encrypted: give the password with --vault-password-file/);
  const withPw = await runCli([pb, '-i', at('yaml/hosts.yml'), '--list-hosts', '--vault-password-file', at('vault-password')], () => 'refuse');
  assert.is(withPw.code, 0, withPw.err);
});

Ansible.run();
