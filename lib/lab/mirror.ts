/**
 * The Debian mirror debootstrap downloads from is the one the machine's own
 * apt already uses, read at run time: the lab never names a registry host
 * itself (LAB.md, "Base tree").
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.ts';
import { LAB_RELEASES, isLabRelease } from './release.ts';

const SOURCES_DIR = '/etc/apt/sources.list.d';
const SOURCES_LIST = '/etc/apt/sources.list';

export interface Source {
  uri: string;
  suites: string[];
}

/** Parse deb822 `.sources` text: stanzas of `Field: value` separated by blank lines. */
export function parseDeb822Sources(text: string): Source[] {
  const out: Source[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes') === 'no') continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
  }
  return out;
}

/** Parse one-line-style `sources.list` text: `deb [options] URI suite component…`. */
export function parseSourcesList(text: string): Source[] {
  const out: Source[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim();
    const [type, uri, suite] = line.split(/\s+/);
    if (type === 'deb' && uri && suite) out.push({ uri, suites: [suite] });
  }
  return out;
}

/**
 * The mirror to ask for `suite` among `sources`: one that lists it, or else
 * one that lists another release the lab knows, bare (not -security or
 * -updates): a Debian mirror serves every release (LAB.md: the machine's
 * bookworm mirror answers for trixie), so trixie's is derived from
 * bookworm's entry. Undefined if neither is there.
 */
export function pickMirror(suite: string, sources: readonly Source[]): string | undefined {
  const http = sources.filter((s) => /^https?:\/\//.test(s.uri));
  const exact = http.find((s) => s.suites.includes(suite));
  const sibling = http.find((s) => s.suites.some((x) => isLabRelease(x)));
  return (exact ?? sibling)?.uri;
}

/** The mirror URI the machine uses for `suite` (e.g. "trixie"; see {@link pickMirror}), or a LabError saying where it looked. */
export function debianMirror(suite: string): string {
  const sources: Source[] = [];
  if (existsSync(SOURCES_DIR)) {
    for (const f of readdirSync(SOURCES_DIR).sort()) {
      const text = readFileSync(join(SOURCES_DIR, f), 'utf8');
      if (f.endsWith('.sources')) sources.push(...parseDeb822Sources(text));
      else if (f.endsWith('.list')) sources.push(...parseSourcesList(text));
    }
  }
  if (existsSync(SOURCES_LIST)) sources.push(...parseSourcesList(readFileSync(SOURCES_LIST, 'utf8')));
  const hit = pickMirror(suite, sources);
  if (!hit) {
    throw new LabError(
      `no Debian mirror for "${suite}" (nor for ${LAB_RELEASES.join(' or ')}) in ${SOURCES_DIR}/*.sources or ${SOURCES_LIST}: ` +
        'the lab builds its hosts with debootstrap from the mirror the machine already uses',
    );
  }
  return hit;
}
