import { fact, type Fact } from '../core/fact.ts';
import { quote } from '../core/shell.ts';

/** dpkg's view of one package. */
export interface Installed {
  /** Status-Abbrev's second letter is `i`: unpacked and configured. */
  installed: boolean;
  version: string;
}

/**
 * One `dpkg-query` for all names. A name dpkg never heard of is simply absent
 * from the map (dpkg-query complains on stderr and exits 1: hence `|| true`).
 */
export function dpkgStatus(names: readonly string[]): Fact<Map<string, Installed>> {
  return fact(
    `dpkg:${names.join(' ')}`,
    `dpkg-query -W -f='\${Package}\\t\${db:Status-Abbrev}\\t\${Version}\\n' ${names.map((n) => quote(n)).join(' ')} 2>/dev/null || true`,
    (out) => {
      const map = new Map<string, Installed>();
      for (const line of out.split('\n')) {
        const [name, status = '', version = ''] = line.split('\t');
        if (name) map.set(name, { installed: status[1] === 'i', version });
      }
      return map;
    },
  );
}

/** apt's view of one package: installed and candidate versions (undefined for "(none)"). */
export interface Policy {
  installed?: string;
  candidate?: string;
}

/**
 * `apt-cache policy` for all names, in the C locale so the field names are
 * stable. Unknown names do not appear in the output.
 */
export function aptPolicy(names: readonly string[]): Fact<Map<string, Policy>> {
  return fact(`apt-policy:${names.join(' ')}`, `LC_ALL=C apt-cache policy ${names.map((n) => quote(n)).join(' ')} 2>/dev/null || true`, parsePolicy);
}

export function parsePolicy(out: string): Map<string, Policy> {
  const map = new Map<string, Policy>();
  let current: Policy | undefined;
  for (const line of out.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      current = {};
      map.set(head[1]!, current);
      map.set(head[1]!.replace(/:[a-z0-9]+$/, ''), current); // multiarch headers: name:arch
      continue;
    }
    const field = /^\s+(Installed|Candidate):\s*(.*)$/.exec(line);
    if (field && current) {
      const v = field[2]!.trim();
      current[field[1] === 'Installed' ? 'installed' : 'candidate'] = v === '(none)' || v === '' ? undefined : v;
    }
  }
  return map;
}

/** Where play records a successful `apt-get update` (the path Ansible and apt's periodic job use). */
export const UPDATE_STAMP = '/var/lib/apt/periodic/update-success-stamp';

/**
 * Seconds since the package lists were last updated, by the host's clock:
 * the stamp if present, else the lists' partial directory; undefined = never.
 */
export const aptCacheAge: Fact<number | undefined> = fact(
  'apt-cache-age',
  `now=$(date +%s); if m=$(stat -c %Y ${UPDATE_STAMP} 2>/dev/null || stat -c %Y /var/lib/apt/lists/partial 2>/dev/null); then echo "age=$((now - m))"; else echo age=never; fi`,
  (out) => {
    const m = /age=(-?\d+)/.exec(out);
    return m ? Math.max(0, Number(m[1])) : undefined;
  },
);
