/**
 * The only importer of nunjucks. Config files are not HTML, so nothing is
 * escaped; an undefined value is an error that names the template, the line
 * and the variable, never an empty string in a config file.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import nunjucks from 'nunjucks';
import { codeCacheOn, codeKey, keepCode, keptCode } from './template-code-cache.ts';

export type Rendered = { ok: true; text: string } | { ok: false; message: string };

/** Filters that exist to handle undefined values; every other filter refuses one. */
const UNDEFINED_FILTERS = new Set(['default', 'd']);

const environments = new Map<string, nunjucks.Environment>();

/**
 * Filters Ansible adds to Jinja2 that its templates use, for `.j2`
 * templates (Ansible's own, rendered as Ansible renders them).
 */
const ANSIBLE_FILTERS: Record<string, (v: unknown) => unknown> = {
  basename: (v) => String(v).replace(/\/+$/, '').split('/').pop() ?? '',
  dirname: (v) => { const s = String(v); const i = s.lastIndexOf('/'); return i < 0 ? '' : i === 0 ? '/' : s.slice(0, i); },
  bool: (v) => (typeof v === 'string' ? /^(yes|on|1|true)$/i.test(v.trim()) : Boolean(v)),
};

function environment(dir: string, jinja = false): nunjucks.Environment {
  const key = `${jinja ? 'j2' : 'njk'}:${dir}`;
  let env = environments.get(key);
  if (!env) {
    env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: true }), {
      autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true,
    });
    // nunjucks only checks values it outputs: `{{ x | upper }}` would render '' for an undefined x.
    const filters = (env as unknown as { filters: Record<string, (...a: unknown[]) => unknown> }).filters;
    for (const [name, f] of Object.entries(filters)) {
      if (UNDEFINED_FILTERS.has(name)) continue;
      env.addFilter(name, function (this: unknown, value: unknown, ...rest: unknown[]) {
        if (value === undefined) throw new Error(`filter '${name}' was given an undefined value`);
        return f.call(this, value, ...rest);
      });
    }
    if (jinja) {
      for (const [name, f] of Object.entries(ANSIBLE_FILTERS)) {
        env.addFilter(name, (value: unknown) => {
          if (value === undefined) throw new Error(`filter '${name}' was given an undefined value`);
          return f(value);
        });
      }
    }
    environments.set(key, env);
  }
  return env;
}

/** A template's path from an absolute path or a `file:` URL. */
export function templatePath(src: string | URL): string {
  return src instanceof URL || src.startsWith('file:') ? fileURLToPath(src) : src;
}

/** Render the template at `src` with `vars`; errors come back as a sentence. */
export function renderTemplate(src: string | URL, vars: Readonly<Record<string, unknown>>): Rendered {
  const path = templatePath(src);
  const jinja = path.endsWith('.j2');
  // A .j2 template is Ansible's: Jinja2's dict.items(), True/False/None.
  // nunjucks' compat layer is global, so it is on for this one synchronous render only.
  const uninstall = jinja ? (nunjucks as unknown as { installJinjaCompat(): () => void }).installJinjaCompat() : undefined;
  try {
    const env = environment(dirname(path), jinja);
    const tpl = compiled(path, env, jinja);
    return { ok: true, text: tpl ? tpl.render({ ...vars }) : env.render(basename(path), { ...vars }) };
  } catch (e) {
    return { ok: false, message: explain(path, (e as Error).message, vars) };
  } finally {
    uninstall?.();
  }
}

/** A template compiled once per version of its file (nunjucks' own cache is off so an edited template is read again). */
const templates = new Map<string, { stamp: string; env: nunjucks.Environment; tpl: nunjucks.Template }>();

/**
 * `path` as a template of `env`, compiled on its first render and kept while
 * the file's size and times stay the same: one compile for a thousand hosts,
 * not one per host (a tenth of a warm run's CPU on 300 simulated hosts,
 * bench/fleet). Undefined when the file cannot be read: nunjucks' own lookup
 * then says why, as before.
 */
function compiled(path: string, env: nunjucks.Environment, jinja: boolean): nunjucks.Template | undefined {
  let stamp: string;
  let src: string;
  try {
    const st = statSync(path, { bigint: true });
    stamp = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const kept = templates.get(path);
    if (kept && kept.stamp === stamp && kept.env === env) return kept.tpl;
    src = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const tpl = fromCode(src, env, path, jinja) ?? new nunjucks.Template(src, env, path);
  templates.set(path, { stamp, env, tpl });
  return tpl;
}

type Internals = { asyncFilters: string[]; extensionsList: unknown[]; opts: Record<string, unknown> };
type Compiler = { compile(src: string, asyncFilters: string[], extensions: unknown[], name: string, opts: Record<string, unknown>): string };
let nunjucksVersion: string | undefined;

/**
 * `src` as a template built from compiled code, kept across runs
 * (template-code-cache.ts): the code nunjucks' Template would compile, by
 * the same call, so a render is the same either way. Undefined, and the
 * Template compiles as usual, when there is no cache or the source does not
 * compile (nunjucks then reports it with its own file and line).
 */
function fromCode(src: string, env: nunjucks.Environment, path: string, jinja: boolean): nunjucks.Template | undefined {
  const e = env as unknown as Internals;
  if (!codeCacheOn() || e.extensionsList.length) return undefined;
  nunjucksVersion ??= (createRequire(import.meta.url)('nunjucks/package.json') as { version: string }).version;
  // Jinja compat changes the parser, so it is part of the key with the options the lexer and compiler read.
  const key = codeKey([nunjucksVersion, jinja ? 'jinja' : 'nunjucks', JSON.stringify(e.opts), e.asyncFilters.join(','), path, src]);
  const kept = keptCode(key);
  const built = kept === undefined ? undefined : fromProps(kept, env, path);
  if (built) return built;
  let code: string;
  try {
    code = (nunjucks as unknown as { compiler: Compiler }).compiler.compile(src, e.asyncFilters, e.extensionsList, path, e.opts);
  } catch {
    return undefined;
  }
  // A new entry, or one that replaces an entry that no longer runs (a disk error).
  keepCode(key, code);
  return fromProps(code, env, path);
}

function fromProps(code: string, env: nunjucks.Environment, path: string): nunjucks.Template | undefined {
  try {
    const obj = new Function(code)() as { root?: unknown };
    return typeof obj?.root === 'function' ? new nunjucks.Template({ type: 'code', obj } as unknown as string, env, path) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * nunjucks says `(file) [Line N, Column M]\n  attempted to output null or
 * undefined value`, pointing at the `{{`; find the expression there and the
 * first name in it that is undefined in `vars`.
 */
function explain(path: string, raw: string, vars: Readonly<Record<string, unknown>>): string {
  if (/template not found/.test(raw)) return `template ${path} not found (${raw.trim()})`;
  const located = [...raw.matchAll(/\(([^()\n]+)\) \[Line (\d+), Column (\d+)\]/g)].pop();
  const reason = raw.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? raw;
  const file = located?.[1] ?? [...raw.matchAll(/\(([^()\n]+)\)/g)].pop()?.[1] ?? path;
  const line = located ? Number(located[2]) : undefined;
  const col = located ? Number(located[3]) : undefined;
  const where = `template ${file}${line ? `, line ${line}, column ${col}` : ''}`;
  const source = readSource(file) ?? '';
  const message = reason.replace(/^Error: /, '');
  const filter = /filter '(\w+)' was given an undefined value/.exec(reason)?.[1];
  if (filter) {
    // Filter errors carry no position: find the expression that feeds it an undefined name.
    for (const e of expressions(source)) {
      const name = new RegExp(`\\|\\s*${filter}\\b`).test(e.expr) ? undefinedName(e.expr, vars, source) : undefined;
      if (name) return `template ${file}, line ${e.line}: undefined variable '${name}' in {{ ${e.expr} }} (${message})`;
    }
    return `${where}: ${message}`;
  }
  if (/null or undefined/.test(reason)) {
    const expr = line && col ? expressionAt(source, line, col) : undefined;
    const name = expr ? undefinedName(expr, vars, source) : undefined;
    const shown = expr ? ` in {{ ${expr} }}` : '';
    if (name) return `${where}: undefined variable '${name}'${shown}`;
    return `${where}: an undefined or null value${shown}`;
  }
  return `${where}: ${message}`;
}

/** Every `{{ … }}` of a template with its 1-based line. */
function expressions(source: string): Array<{ expr: string; line: number }> {
  return [...source.matchAll(/\{\{-?([\s\S]*?)-?\}\}/g)].map((m) => ({
    expr: m[1]!.trim(),
    line: source.slice(0, m.index).split('\n').length,
  }));
}

function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The text of the `{{ … }}` that starts at (line, column), both 1-based. */
function expressionAt(source: string, line: number, col: number): string | undefined {
  const text = source.split('\n').slice(line - 1).join('\n');
  const start = text.lastIndexOf('{{', col - 1);
  if (start < 0) return undefined;
  const end = text.indexOf('}}', start);
  if (end < 0) return undefined;
  return text.slice(start + 2, end).replace(/^-|-$/g, '').trim();
}

const WORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'true', 'false', 'none', 'null', 'True', 'False', 'None', 'loop']);

/** The first dotted name in `expr` whose value is undefined or null in `vars`. */
function undefinedName(expr: string, vars: Readonly<Record<string, unknown>>, source: string): string | undefined {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  for (const m of code.matchAll(/(\|\s*)?(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(\s*\()?/g)) {
    if (m[1] || m[3]) continue; // a filter or a function call
    const path = m[2]!;
    const parts = path.split('.');
    if (WORDS.has(parts[0]!)) continue;
    if (boundInTemplate(source, parts[0]!)) {
      if (parts.length > 1) return path; // a loop or set variable: we cannot look inside
      continue;
    }
    let value: unknown = vars;
    for (let i = 0; i < parts.length; i++) {
      value = value === null || value === undefined ? undefined : (value as Record<string, unknown>)[parts[i]!];
      if (value === undefined || value === null) return parts.slice(0, i + 1).join('.');
    }
  }
  return undefined;
}

function boundInTemplate(source: string, name: string): boolean {
  const n = name.replace(/[$]/g, '\\$');
  return new RegExp(`\\{%-?\\s*(?:for\\s+(?:\\w+\\s*,\\s*)*${n}\\b[^%]*\\bin\\b|set\\s+${n}\\b|macro\\s+\\w+\\s*\\([^)]*\\b${n}\\b)`).test(source);
}
