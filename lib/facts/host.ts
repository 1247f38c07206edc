/**
 * Typed facts about a host, each a command, a parser and a typed default
 * (the pyinfra model), read in the play's batched round trip, and only
 * when a task names them: a role's `when` through the `facts` option every
 * task takes (`facts: { os: hostFacts.osRelease }, when: ({ facts }) => …`),
 * a parameter through `withFacts` (./with-facts.ts, where the design is
 * explained), a task kind of its own through its spec's `facts` and
 * `ctx.fact(osRelease)` in its planner. None can fail on a minimal host: a
 * missing file or tool gives the empty value.
 */
import { fact, type Fact } from '../core/fact.ts';

/** /etc/os-release, the fields roles branch on. */
export interface OsRelease {
  /** `debian`, `ubuntu`, `rocky`…; '' when the host has no os-release. */
  id: string;
  /** `12`, `22.04`; '' on a rolling release. */
  versionId: string;
  /** `bookworm`, `jammy`; '' when not given. */
  codename: string;
  /** The distributions this one derives from (`ID_LIKE`), e.g. `['debian']` on Ubuntu. */
  like: string[];
  prettyName: string;
}

/** Unquote an os-release value (shell-like: double or single quotes, backslash escapes). */
function unquote(v: string): string {
  const m = /^"(.*)"$/.exec(v) ?? /^'(.*)'$/.exec(v);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : v;
}

/** The OS release, from /etc/os-release (or /usr/lib/os-release). */
export const osRelease: Fact<OsRelease> = fact('host:os-release', 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null || true', (out) => {
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) kv.set(m[1]!, unquote(m[2]!));
  }
  return {
    id: kv.get('ID') ?? '', versionId: kv.get('VERSION_ID') ?? '', codename: kv.get('VERSION_CODENAME') ?? '',
    like: (kv.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean), prettyName: kv.get('PRETTY_NAME') ?? '',
  };
});

/** `uname -srm`. */
export interface Kernel {
  /** `Linux`. */
  name: string;
  /** `6.1.0-18-amd64`. */
  release: string;
  /** `x86_64`, `aarch64`. */
  machine: string;
}

export const kernel: Fact<Kernel> = fact('host:kernel', 'uname -srm 2>/dev/null || true', (out) => {
  const [name = '', release = '', machine = ''] = out.trim().split(/\s+/);
  return { name, release, machine };
});

/** One network interface and its addresses. */
export interface NetInterface {
  name: string;
  /** `UP`, `DOWN`, `UNKNOWN` (loopback) as `ip link` says. */
  state: string;
  mac?: string;
  mtu?: number;
  addresses: Array<{ family: 'inet' | 'inet6'; address: string; prefix: number; scope: string }>;
}

/**
 * Interfaces with state, MAC and addresses: `ip -o link` and `ip -o addr`
 * in one command (`link:` / `addr:` prefixed lines). Without iproute2: none.
 */
export const interfaces: Fact<NetInterface[]> = fact('host:interfaces', [
  `ip -o link show 2>/dev/null | sed 's/^/link: /'`,
  `ip -o addr show 2>/dev/null | sed 's/^/addr: /'`,
].join('; '), (out) => {
  const byName = new Map<string, NetInterface>();
  const get = (name: string) => {
    let i = byName.get(name);
    if (!i) byName.set(name, (i = { name, state: 'UNKNOWN', addresses: [] }));
    return i;
  };
  for (const line of out.split('\n')) {
    const link = /^link: \d+: ([^:@\s]+)(?:@\S+)?: <[^>]*> (.*)$/.exec(line);
    if (link) {
      const i = get(link[1]!);
      i.state = /\bstate (\S+)/.exec(link[2]!)?.[1] ?? i.state;
      const mtu = /\bmtu (\d+)/.exec(link[2]!)?.[1];
      if (mtu) i.mtu = Number(mtu);
      const mac = /link\/\S+ ([0-9a-f]{2}(?::[0-9a-f]{2}){5})/.exec(link[2]!)?.[1];
      if (mac) i.mac = mac;
      continue;
    }
    const addr = /^addr: \d+: (\S+)\s+(inet6?) ([0-9a-fA-F.:]+)\/(\d+).*?\bscope (\S+)/.exec(line);
    if (addr) get(addr[1]!).addresses.push({ family: addr[2] as 'inet' | 'inet6', address: addr[3]!, prefix: Number(addr[4]), scope: addr[5]! });
  }
  return [...byName.values()];
});

/** Memory in bytes, from /proc/meminfo (0 when unknown). */
export interface Memory {
  total: number;
  available: number;
  swapTotal: number;
}

export const memory: Fact<Memory> = fact('host:memory', `grep -E '^(MemTotal|MemAvailable|SwapTotal):' /proc/meminfo 2>/dev/null || true`, (out) => {
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(out)?.[1] ?? 0) * 1024;
  return { total: kb('MemTotal'), available: kb('MemAvailable'), swapTotal: kb('SwapTotal') };
});

/** CPUs this host may use (`nproc`) and the model name. */
export interface Cpus {
  count: number;
  model: string;
}

export const cpus: Fact<Cpus> = fact('host:cpus', `printf 'count=%s\\n' "$(nproc 2>/dev/null)"; grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^[^:]*: */model=/'`, (out) => ({
  count: Number(/^count=(\d+)/m.exec(out)?.[1] ?? 0),
  model: /^model=(.*)$/m.exec(out)?.[1]?.trim() ?? '',
}));

/** PID 1: `systemd`, or what else runs there (`init`, `tini`, `sh` in a container). */
export const initSystem: Fact<string> = fact('host:init', `if [ -d /run/systemd/system ]; then echo systemd; else cat /proc/1/comm 2>/dev/null || echo unknown; fi`, (out) => out.trim() || 'unknown');

/** The package manager: the first of apt-get, dnf, yum, zypper, apk, pacman found; '' when none. */
export const packageManager: Fact<'apt' | 'dnf' | 'yum' | 'zypper' | 'apk' | 'pacman' | ''> = fact('host:package-manager',
  `for p in apt-get dnf yum zypper apk pacman; do if command -v "$p" >/dev/null 2>&1; then echo "$p"; break; fi; done`,
  (out) => {
    const p = out.trim();
    return p === 'apt-get' ? 'apt' : (['dnf', 'yum', 'zypper', 'apk', 'pacman'] as const).find((x) => x === p) ?? '';
  });

/**
 * Every typed host fact, for a task's `facts` option (`when`, `withFacts`),
 * a task kind's `facts` list or a planner's `ctx.facts([...])`: all of them
 * cost one round trip together.
 *
 * @example
 * ```ts
 * import { command, hostFacts } from 'playbook-ts';
 * // Gathered in the play's batched round trip because this task names them.
 * const swapoff = command({
 *   cmd: 'swapoff -a', facts: { mem: hostFacts.memory, init: hostFacts.initSystem },
 *   when: ({ facts }) => facts.mem.swapTotal > 0 && facts.init === 'systemd',
 * });
 * ```
 *
 * @example
 * ```ts
 * import { defineTask, noop, hostFacts } from 'playbook-ts';
 * const osInfo = defineTask<{}>({
 *   kind: 'osInfo', keys: [], name: () => 'os info',
 *   facts: () => [hostFacts.osRelease, hostFacts.kernel],
 *   plan: async (_p, ctx) => {
 *     const [os, k] = await ctx.facts([hostFacts.osRelease, hostFacts.kernel] as const);
 *     return noop(`${os.prettyName}, kernel ${k.release}`);
 *   },
 * });
 * ```
 */
export const hostFacts = { osRelease, kernel, interfaces, memory, cpus, initSystem, packageManager } as const;
