/**
 * `~/.ssh/config`, as OpenSSH users expect play to read it. The only
 * importer of ssh-config (a well-kept parser: Host patterns, negation,
 * first-obtained-value-wins). It does not follow `Include`: play inlines
 * included files itself, where the directive stands (relative paths from
 * ~/.ssh, `*` and `?` in the file name). `Match exec` is never run: a
 * playbook run does not execute shell lines from a config file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import SSHConfig from 'ssh-config';
import { LoadError } from '../core/errors.ts';

/** What play takes from an ssh_config section for one host; each absent when the config says nothing. */
export interface SshConfigEntry {
  readonly hostName?: string;
  readonly user?: string;
  readonly port?: number;
  /** The first IdentityFile, `~` and `%d %h %r %u %%` expanded. */
  readonly identityFile?: string;
  /** `[user@]host[:port]`, the first hop only when several are listed; `none` is reported as absent. */
  readonly proxyJump?: string;
  readonly knownHostsFile?: readonly string[];
  /** `StrictHostKeyChecking accept-new`: trust and record a new key (never a changed one). Other values change nothing in play. */
  readonly acceptNewHostKeys?: boolean;
}

/** Looks a host up as `ssh HOST` would. */
export type SshConfigLookup = (host: string) => SshConfigEntry;

/** No ssh_config at all. */
export const noSshConfig: SshConfigLookup = () => ({});

/**
 * The lookup for an ssh_config file; a file that does not exist is an empty
 * config. Throws LoadError naming the file when it cannot be read or parsed.
 *
 * @example
 * ```ts
 * import { readSshConfig } from './ssh-config.ts';
 * const lookup = readSshConfig(`${process.env.HOME}/.ssh/config`);
 * lookup('web1').hostName; // e.g. '10.0.0.21'
 * ```
 */
export function readSshConfig(file = join(process.env.HOME || homedir(), '.ssh', 'config')): SshConfigLookup {
  const text = readConfigFile(file, 0, true);
  return text === undefined ? noSshConfig : sshConfigLookup(text, file);
}

/** OpenSSH's limit on nested Include (READCONF_MAX_DEPTH). */
const MAX_INCLUDE_DEPTH = 16;

/** A config file's text with its Include lines replaced by the files they name; undefined when a top file is missing. */
function readConfigFile(file: string, depth: number, top: boolean): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && top) return undefined;
    throw new LoadError(file, `cannot read: ${(e as Error).message}`);
  }
  return text.replace(/^[ \t]*include[ \t=]+(.+)$/gim, (_, list: string) => {
    if (depth + 1 > MAX_INCLUDE_DEPTH) throw new LoadError(file, `Include nested more than ${MAX_INCLUDE_DEPTH} deep`);
    return list.trim().split(/\s+/).flatMap((pattern) => includedFiles(pattern))
      .map((f) => readConfigFile(f, depth + 1, false)).join('\n');
  });
}

/** The files an Include pattern names, sorted as OpenSSH's glob does; `*` and `?` in the last part only. */
function includedFiles(pattern: string): string[] {
  const home = process.env.HOME || homedir();
  const path = pattern.startsWith('~/') ? join(home, pattern.slice(2)) : isAbsolute(pattern) ? pattern : join(home, '.ssh', pattern);
  const name = basename(path);
  if (!/[*?]/.test(name)) return existsSync(path) ? [path] : [];
  const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  const dir = dirname(path);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => join(dir, n));
}

/**
 * The lookup for ssh_config text (`file` names it in errors).
 *
 * @example
 * ```ts
 * import { sshConfigLookup } from './ssh-config.ts';
 * const lookup = sshConfigLookup('Host web*\n  User deploy\n  Port 2222\n');
 * lookup('web1'); // { user: 'deploy', port: 2222 }
 * ```
 */
export function sshConfigLookup(text: string, file = 'ssh_config'): SshConfigLookup {
  let config: SSHConfig;
  try {
    config = SSHConfig.parse(text);
  } catch (e) {
    throw new LoadError(file, `cannot parse: ${(e as Error).message}`);
  }
  return (host) => {
    const c = config.compute(host, { ignoreCase: true, matchExec: false });
    const one = (k: string): string | undefined => {
      const v = c[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const all = (k: string): string[] => {
      const v = c[k];
      return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean);
    };
    const user = one('user');
    const expand = (p: string) => expandPath(p, host, user);
    const portText = one('port');
    const port = portText === undefined ? undefined : Number(portText);
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65_535)) {
      throw new LoadError(file, `Port ${JSON.stringify(portText)} for host ${host} is not a TCP port`);
    }
    const jump = one('proxyjump')?.split(',')[0]?.trim();
    const identity = all('identityfile')[0];
    const known = all('userknownhostsfile').map(expand);
    const strict = one('stricthostkeychecking')?.toLowerCase();
    const hostName = one('hostname');
    return {
      ...(hostName === undefined ? {} : { hostName: hostName.replace(/%(%|h)/g, (_, t: string) => (t === 'h' ? host : '%')) }),
      ...(user === undefined ? {} : { user }),
      ...(port === undefined ? {} : { port }),
      ...(identity === undefined ? {} : { identityFile: expand(identity) }),
      ...(jump === undefined || jump === 'none' ? {} : { proxyJump: jump }),
      ...(known.length ? { knownHostsFile: known } : {}),
      ...(strict === 'accept-new' ? { acceptNewHostKeys: true } : {}),
    };
  };
}

/** `~` and the tokens OpenSSH expands in IdentityFile and UserKnownHostsFile that play knows. */
function expandPath(p: string, host: string, remoteUser: string | undefined): string {
  const home = process.env.HOME || homedir();
  const tilde = p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
  return tilde.replace(/%([%dhru])/g, (_, t: string) => ({ '%': '%', d: home, h: host, r: remoteUser ?? 'root', u: userInfo().username })[t]!);
}
