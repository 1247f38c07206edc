/**
 * Ansible inventories read as they are: `hosts.ini` or `hosts.yml`, with
 * `group_vars/` and `host_vars/` beside them, turned into the InventoryDef a
 * TypeScript inventory would declare. Ansible's precedence is kept: `all`,
 * then groups from the shallowest to the deepest (by name within a depth),
 * each group's inline vars under its group_vars file, then the host's inline
 * vars under its host_vars file. Connection variables are mapped
 * (`ansible_host`, `ansible_port`, `ansible_user`,
 * `ansible_ssh_private_key_file`, `ansible_become`,
 * `ansible_become_password`) and stay readable as variables too.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Problem } from '../core/errors.ts';
import { describe } from '../core/rules.ts';
import { secret } from '../core/secret.ts';
import { defineInventory, type GroupDef, type HostDef, type Inventory } from '../dsl/inventory.ts';
import { emptyModel, expandHostPattern, groupOf, parseAnsibleIni, type AnsibleModel } from './ansible-ini.ts';
import { decryptVault, isVault, VaultError } from './vault.ts';
import { parseYaml } from './yaml.ts';

export interface AnsibleLoadOptions {
  /** The vault password (`--vault-password-file`), for `!vault` values and vault-encrypted files. */
  vaultPassword?: string;
}

type Vars = Record<string, unknown>;
const isRecord = (v: unknown): v is Vars => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Read an Ansible inventory file and the group_vars/host_vars beside it.
 * Every problem (syntax, a vault value without a password, a wrong
 * `ansible_port`) is in the inventory's `problems`, located by file.
 *
 * @example
 * ```ts
 * import { loadAnsibleInventory } from './ansible.ts';
 * const inv = loadAnsibleInventory('/srv/ansible/hosts.ini', { vaultPassword: 'from --vault-password-file' });
 * for (const h of inv.hosts) console.log(h.name, h.address, h.groups);
 * ```
 */
export function loadAnsibleInventory(file: string, o: AnsibleLoadOptions = {}): Inventory<unknown> {
  const problems: Problem[] = [];
  const text = readFileSync(file, 'utf8');
  let model = emptyModel();
  if (/\.ya?ml$/.test(file)) {
    const doc = readYamlText(text, file, o, problems);
    if (doc !== undefined) model = fromYaml(doc, file, problems);
  } else {
    const r = parseAnsibleIni(text);
    model = r.model;
    problems.push(...r.problems.map((message) => ({ file, message })));
  }
  const dir = dirname(file);
  const varsFile = (kind: 'group_vars' | 'host_vars', name: string): Vars => readVarsDir(join(dir, kind), name, o, problems);
  const def = flatten(model, varsFile, file, problems);
  const inv = defineInventory<unknown>(def as never);
  return { ...inv, problems: [...problems, ...inv.problems.map((p) => ({ file, ...p }))] };
}

function readYamlText(text: string, file: string, o: AnsibleLoadOptions, problems: Problem[]): unknown {
  let body = text;
  let wholeSecret = false;
  if (isVault(text)) {
    if (o.vaultPassword === undefined) { problems.push({ file, message: 'is vault-encrypted: give the password with --vault-password-file' }); return undefined; }
    try {
      body = decryptVault(text, o.vaultPassword);
      wholeSecret = true;
    } catch (e) {
      problems.push({ file, message: `is vault-encrypted and ${e instanceof VaultError ? e.message : String(e)}` });
      return undefined;
    }
  }
  const r = parseYaml(body, o);
  if (!r.ok) { problems.push(...r.problems.map((message) => ({ file, message }))); return undefined; }
  // Every value of a vault-encrypted file is as secret as the file.
  return wholeSecret ? markSecret(r.value) : r.value;
}

function markSecret(v: unknown): unknown {
  if (typeof v === 'string') return secret(v);
  if (Array.isArray(v)) return v.map(markSecret);
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, markSecret(x)]));
  return v;
}

/** `all: { hosts, vars, children: { g: { hosts, vars, children } } }`, recursively. */
function fromYaml(doc: unknown, file: string, problems: Problem[]): AnsibleModel {
  const m = emptyModel();
  if (doc === null || doc === undefined) return m;
  if (!isRecord(doc)) { problems.push({ file, message: `must be a map of groups (all: …), got ${describe(doc)}` }); return m; }
  const walk = (name: string, node: unknown, seen: string[]) => {
    const g = groupOf(m, name);
    if (node === null || node === undefined) return;
    if (!isRecord(node)) { problems.push({ file, field: name, message: `must be a map with hosts, vars or children, got ${describe(node)}` }); return; }
    for (const k of Object.keys(node)) if (!['hosts', 'vars', 'children'].includes(k)) problems.push({ file, field: `${name}.${k}`, message: 'is not hosts, vars or children (a host goes under hosts:)' });
    if (node.hosts !== undefined && node.hosts !== null) {
      if (!isRecord(node.hosts)) problems.push({ file, field: `${name}.hosts`, message: `must be a map of host names, got ${describe(node.hosts)}` });
      else for (const [pattern, hv] of Object.entries(node.hosts)) {
        if (hv !== null && hv !== undefined && !isRecord(hv)) { problems.push({ file, field: `${name}.hosts.${pattern}`, message: `must be a map of variables or empty, got ${describe(hv)}` }); continue; }
        for (const h of expandHostPattern(pattern)) {
          m.hosts.set(h, { ...(m.hosts.get(h) ?? {}), ...(hv ?? {}) });
          if (!g.hosts.includes(h)) g.hosts.push(h);
        }
      }
    }
    if (node.vars !== undefined && node.vars !== null) {
      if (!isRecord(node.vars)) problems.push({ file, field: `${name}.vars`, message: `must be a map, got ${describe(node.vars)}` });
      else Object.assign(g.vars, node.vars);
    }
    if (node.children !== undefined && node.children !== null) {
      if (!isRecord(node.children)) { problems.push({ file, field: `${name}.children`, message: `must be a map of groups, got ${describe(node.children)}` }); return; }
      for (const [child, cn] of Object.entries(node.children)) {
        if (seen.includes(child)) { problems.push({ file, field: `${name}.children.${child}`, message: `makes a cycle (${[...seen, child].join(' → ')})` }); continue; }
        if (!g.children.includes(child)) g.children.push(child);
        walk(child, cn, [...seen, child]);
      }
    }
  };
  for (const [name, node] of Object.entries(doc)) walk(name, node, [name]);
  return m;
}

/** group_vars/NAME(.yml|.yaml|.json), or every file of the directory group_vars/NAME/, merged in name order. */
function readVarsDir(dir: string, name: string, o: AnsibleLoadOptions, problems: Problem[]): Vars {
  const out: Vars = {};
  const files: string[] = [];
  for (const ext of ['', '.yml', '.yaml', '.json']) {
    const f = join(dir, `${name}${ext}`);
    const st = existsSync(f) ? statSync(f) : undefined;
    if (st?.isFile()) files.push(f);
    else if (st?.isDirectory()) files.push(...readdirSync(f).filter((n) => /^[^.].*(?:\.ya?ml|\.json)?$/.test(n)).sort().map((n) => join(f, n)).filter((p) => statSync(p).isFile()));
  }
  for (const f of files) {
    const v = readYamlText(readFileSync(f, 'utf8'), f, o, problems);
    if (v === undefined || v === null) continue;
    if (!isRecord(v)) { problems.push({ file: f, message: `must be a map of variables, got ${describe(v)}` }); continue; }
    Object.assign(out, v);
  }
  return out;
}

/** The model as play's InventoryDef: groups flattened (a child's hosts are its parent's), vars layered as Ansible does. */
function flatten(m: AnsibleModel, varsFile: (kind: 'group_vars' | 'host_vars', name: string) => Vars, file: string, problems: Problem[]) {
  // Depth from all: a group nobody lists as a child hangs under all.
  const depth = new Map<string, number>([['all', 0]]);
  const parents = new Set([...m.groups.values()].flatMap((g) => g.children));
  const roots = [...m.groups.keys()].filter((g) => g !== 'all' && !parents.has(g));
  const all = m.groups.get('all')!;
  for (const r of roots) if (!all.children.includes(r)) all.children.push(r);
  const queue = ['all'];
  while (queue.length) {
    const g = queue.shift()!;
    for (const c of m.groups.get(g)?.children ?? []) {
      const d = depth.get(g)! + 1;
      if ((depth.get(c) ?? -1) < d && d < 100) { depth.set(c, d); queue.push(c); }
    }
  }
  const members = new Map<string, Set<string>>();
  const hostsOf = (g: string, seen: Set<string> = new Set()): Set<string> => {
    if (members.has(g)) return members.get(g)!;
    const out = new Set(m.groups.get(g)?.hosts ?? []);
    if (!seen.has(g)) { seen.add(g); for (const c of m.groups.get(g)?.children ?? []) for (const h of hostsOf(c, seen)) out.add(h); }
    members.set(g, out);
    return out;
  };
  // Hosts listed directly under all are Ansible's "ungrouped".
  const inSome = new Set([...m.groups.entries()].filter(([g]) => g !== 'all' && g !== 'ungrouped').flatMap(([g]) => [...hostsOf(g)]));
  const ungrouped = [...m.hosts.keys()].filter((h) => !inSome.has(h));
  if (ungrouped.length) { groupOf(m, 'ungrouped').hosts = ungrouped; members.set('ungrouped', new Set(ungrouped)); }
  const ordered = [...m.groups.keys()].filter((g) => g !== 'all' && (g !== 'ungrouped' || ungrouped.length > 0))
    .sort((a, b) => (depth.get(a) ?? 1) - (depth.get(b) ?? 1) || a.localeCompare(b));
  // Ansible's precedence: every inventory-file group var < group_vars/all < group_vars/* < inventory-file host var < host_vars/*.
  const globals = { ...all.vars, ...varsFile('group_vars', 'all') };
  const inline = (g: string) => m.groups.get(g)!.vars;
  const fromFile = new Map(ordered.map((g) => [g, varsFile('group_vars', g)]));
  const groups: Record<string, GroupDef<Vars>> = {};
  for (const g of ordered) groups[g] = { hosts: [...hostsOf(g)] };
  const hosts: Record<string, HostDef<Vars>> = {};
  for (const [name, own] of m.hosts) {
    const mine = ordered.filter((g) => hostsOf(g).has(name));
    // Each host gets its layered variables whole: play's own layering (global < group < host) cannot put a group_vars file above another group's inline vars.
    const eff: Vars = Object.assign({}, all.vars, ...mine.map(inline), varsFile('group_vars', 'all'), ...mine.map((g) => fromFile.get(g)), own, varsFile('host_vars', name));
    hosts[name] = { address: name, vars: eff, ...connection(name, eff, file, problems) };
  }
  return { vars: globals, hosts, groups };
}

/** The connection settings a host's Ansible variables give, each checked. */
function connection(name: string, v: Vars, file: string, problems: Problem[]): Partial<HostDef<Vars>> {
  const out: Partial<HostDef<Vars>> = {};
  const bad = (field: string, message: string) => problems.push({ file, host: name, field, message });
  const text = (field: string, what: string): string | undefined => {
    const x = v[field];
    if (x === undefined) return undefined;
    if (typeof x === 'string' && x !== '') return x;
    bad(field, `must be ${what}, got ${describe(x)}`);
    return undefined;
  };
  const address = text('ansible_host', 'an address or name');
  if (address !== undefined) out.address = address;
  if (v.ansible_port !== undefined) {
    // INI :vars values are strings; a port written there is still a port.
    const port = typeof v.ansible_port === 'string' && /^[0-9]+$/.test(v.ansible_port) ? Number(v.ansible_port) : v.ansible_port;
    if (typeof port === 'number') out.port = port;
    else bad('ansible_port', `must be a port number, got ${describe(v.ansible_port)}`);
  }
  const user = text('ansible_user', 'a user name');
  if (user !== undefined) out.user = user;
  const key = text('ansible_ssh_private_key_file', 'a path');
  if (key !== undefined) out.identityFile = key.replace(/^~(?=\/)/, process.env.HOME ?? '~');
  if (v.ansible_become !== undefined) {
    const b = v.ansible_become;
    // As Ansible reads a string there: yes/true/on/1 and no/false/off/0.
    const asBool = typeof b === 'boolean' ? b : typeof b === 'string' && /^(yes|true|1|on)$/i.test(b) ? true : typeof b === 'string' && /^(no|false|0|off)$/i.test(b) ? false : undefined;
    if (asBool === undefined) bad('ansible_become', `must be true or false, got ${describe(b)}`);
    else out.become = asBool;
  }
  const pw = v.ansible_become_password ?? v.ansible_become_pass;
  if (pw !== undefined) {
    if (typeof pw === 'string') out.becomePassword = secret(pw);
    else bad('ansible_become_password', `must be a string, got ${describe(pw)}`);
  }
  return out;
}
