import { normalizeSysctl } from './sysctl-facts.ts';

/**
 * Set `name = value` in the text of a sysctl.d file: the key's first line is
 * kept when it already says that value (a hand-written `net.x=1` is not
 * rewritten), replaced otherwise; later lines for the same key are dropped,
 * because the last one wins and would undo ours; a missing key is appended.
 * Everything else, comments included, stays as it was.
 */
export function setSysctlLine(text: string, name: string, value: string): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const re = new RegExp(`^\\s*-?\\s*${escape(name)}\\s*=(.*)$`);
  const wanted = `${name} = ${value}`;
  const out: string[] = [];
  let seen = false;
  let edited = false;
  for (const line of lines) {
    const m = re.exec(line);
    if (!m) out.push(line);
    else if (seen) edited = true;
    else {
      seen = true;
      const same = normalizeSysctl(m[1]!) === normalizeSysctl(value);
      out.push(same ? line : wanted);
      edited ||= !same;
    }
  }
  if (!seen) out.push(wanted);
  return seen && !edited ? text : `${out.join('\n')}\n`;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
