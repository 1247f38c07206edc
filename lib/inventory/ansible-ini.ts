/**
 * Ansible's INI inventory format, read as ansible-core reads it (checked
 * against `ansible-inventory --list`, spec/inventory/): `[group]` host lines
 * with inline `key=value` variables and `[group:vars]`, both read as Python
 * literals (`2222` is a number, `True` a boolean, `yes` and `'x y'`
 * strings), `[group:children]`, and numeric host ranges `web[01:03]`. Not a general INI file: no INI library reads host
 * lines, so this is the one parser of the format.
 */

export interface AnsibleGroup {
  hosts: string[];
  children: string[];
  vars: Record<string, unknown>;
}

/** An inventory as Ansible models it, before play flattens it. */
export interface AnsibleModel {
  /** Hosts in order of appearance, with their inline variables. */
  hosts: Map<string, Record<string, unknown>>;
  groups: Map<string, AnsibleGroup>;
}

export function emptyModel(): AnsibleModel {
  return { hosts: new Map(), groups: new Map([['all', { hosts: [], children: [], vars: {} }]]) };
}

export function groupOf(m: AnsibleModel, name: string): AnsibleGroup {
  let g = m.groups.get(name);
  if (!g) m.groups.set(name, (g = { hosts: [], children: [], vars: {} }));
  return g;
}

/** `web[01:03].lab` → web01.lab, web02.lab, web03.lab (Ansible keeps the leading zeros). */
export function expandHostPattern(name: string): string[] {
  const m = /^(.*)\[([0-9]+):([0-9]+)(?::([0-9]+))?\](.*)$/.exec(name);
  if (!m) return [name];
  const [, pre, a, b, step, post] = m;
  const width = a!.length;
  const out: string[] = [];
  for (let i = Number(a); i <= Number(b); i += Number(step ?? 1)) out.push(...expandHostPattern(`${pre}${String(i).padStart(width, '0')}${post}`));
  return out;
}

/** Split a line as shlex does: whitespace separates, quotes group, `#` outside quotes starts a comment. */
function words(line: string): string[] {
  return tokens(line).map((t) => t.text);
}

/** The words of a line, each saying whether part of it was quoted (a quoted value stays a string). */
function tokens(line: string): Array<{ text: string; quoted: boolean }> {
  const out: Array<{ text: string; quoted: boolean }> = [];
  let cur = '';
  let quoted = false;
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') { quote = c; started = true; quoted = true; }
    else if (/\s/.test(c)) { if (started) out.push({ text: cur, quoted }); cur = ''; started = false; quoted = false; }
    else if (c === '#' && !started) break;
    else { cur += c; started = true; }
  }
  if (started) out.push({ text: cur, quoted });
  return out;
}

/** A host-line value as Python's literal_eval would take it, else the text. */
function literal(raw: string, quoted: boolean): unknown {
  if (quoted) return raw;
  if (/^-?[0-9]+$/.test(raw)) return Number(raw);
  if (/^-?[0-9]*\.[0-9]+$/.test(raw)) return Number(raw);
  if (raw === 'True') return true;
  if (raw === 'False') return false;
  if (raw === 'None') return null;
  if (/^[[{]/.test(raw)) {
    try { return JSON.parse(raw.replace(/'/g, '"').replace(/\bTrue\b/g, 'true').replace(/\bFalse\b/g, 'false').replace(/\bNone\b/g, 'null')); } catch { return raw; }
  }
  return raw;
}

/** Parse the text of an INI inventory; problems name their line. */
export function parseAnsibleIni(text: string): { model: AnsibleModel; problems: string[] } {
  const model = emptyModel();
  const problems: string[] = [];
  let section = { group: 'ungrouped', kind: 'hosts' as 'hosts' | 'vars' | 'children' };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const at = `line ${i + 1}`;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([^\]:]+)(?::(vars|children))?\]$/.exec(line);
    if (header) {
      section = { group: header[1]!.trim(), kind: (header[2] as 'vars' | 'children' | undefined) ?? 'hosts' };
      groupOf(model, section.group);
      return;
    }
    if (line.startsWith('[')) { problems.push(`${at}: not a section header Ansible knows: ${line}`); return; }
    if (section.kind === 'children') {
      const [child] = words(line);
      if (child) { groupOf(model, child); const g = groupOf(model, section.group); if (!g.children.includes(child)) g.children.push(child); }
      return;
    }
    if (section.kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq <= 0) { problems.push(`${at}: expected key=value in [${section.group}:vars], got ${line}`); return; }
      const value = line.slice(eq + 1).trim();
      // ansible-core reads these as it reads host-line values (weight=1 is the number 1), whatever its docs say.
      const quoted = /^(["']).*\1$/.test(value);
      groupOf(model, section.group).vars[line.slice(0, eq).trim()] = literal(quoted ? value.slice(1, -1) : value, quoted);
      return;
    }
    const [first, ...rest] = tokens(line);
    if (!first) return;
    const name = first.text;
    const vars: Record<string, unknown> = {};
    for (const w of rest) {
      const eq = w.text.indexOf('=');
      if (eq <= 0) { problems.push(`${at}: expected key=value after host ${name}, got ${w.text}`); continue; }
      vars[w.text.slice(0, eq)] = literal(w.text.slice(eq + 1), w.quoted);
    }
    for (const host of expandHostPattern(name)) {
      model.hosts.set(host, { ...(model.hosts.get(host) ?? {}), ...vars });
      const g = groupOf(model, section.group);
      if (!g.hosts.includes(host)) g.hosts.push(host);
    }
  });
  return { model, problems };
}
