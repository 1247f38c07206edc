/**
 * `play lab <up|down|status|ssh|reboot|cut|heal> …`. A LabError travels to the CLI's one
 * error boundary (lib/cli/main.ts), which prints it and picks its exit code
 * from play's one table (lib/core/exit-codes.ts).
 */
import { spawn } from 'node:child_process';
import { EXIT } from '../core/exit-codes.ts';
import { LabError, NoLabError } from './errors.ts';
import { labCut, labDown, labHeal, labReboot, labStatus, labUp } from './lab.ts';
import { DEFAULT_CUT_SECONDS, MAX_CUT_SECONDS } from './faults.ts';
import { checkRoutesToBridge } from './network.ts';
import { requireRoot } from './prereqs.ts';
import { DEFAULT_LAB_HOSTS, machineName, type LabHostSpec } from './spec.ts';
import { labOwnerFromEnv, readLabProfile } from './state.ts';
import { sshArgs } from './ssh.ts';
import { DEFAULT_RELEASE, LAB_RELEASES, isLabRelease, type LabRelease } from './release.ts';

const USAGE = `usage:
  play lab up [-i INVENTORY] [--ipvs] [--release NAME]
                                        bring the lab up (default hosts: the seed's LB1 LB2 RS1 RS2), Debian NAME:
                                        ${LAB_RELEASES.join(' or ')} (default ${DEFAULT_RELEASE}), containers and --ipvs VMs alike
  play lab down                         tear it down, leaving nothing behind
  play lab status                       hosts, up/down, addresses, IPVS present/absent
  play lab ssh HOST [COMMAND…]          a root shell on HOST, or run COMMAND there and return its exit code
  play lab reboot HOST…                 reboot hosts as machines reboot (same disk; /run, addresses, sysctls gone)
  play lab cut HOST [--vrrp-only] [--from PEER] [--for SECONDS]
                                        drop HOST's traffic (or only VRRP; or only to and from PEER) on the
                                        lab's bridge, for SECONDS at most (default ${DEFAULT_CUT_SECONDS}, at most ${MAX_CUT_SECONDS})
  play lab heal HOST…                   undo every cut of these hosts
exit codes (play's one table, play --help): ${EXIT.ok} ok, ${EXIT.usage} usage, ${EXIT.labFailed} a lab step failed,
  ${EXIT.labPrerequisite} a prerequisite is missing, ${EXIT.noLab} no lab is up, ${EXIT.internal} internal error`;

/**
 * Run `play lab …` with `argv` (the words after "lab"). Returns the exit code
 * (see {@link EXIT}): ok; usage for bad usage; for `status`, noLab if no lab
 * is up; for `ssh`, the remote command's (or ssh's) exit code. A step that
 * fails throws a LabError (see lib/cli/main.ts for its exit code).
 */
export async function runLabCli(
  argv: string[],
  o: { resolveHosts: (inventoryPath: string) => Promise<LabHostSpec[]>; out: (s: string) => void },
): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up': {
      const args = parseUpArgs(rest);
      if (typeof args === 'string') return usage(o.out, args);
      const hosts = args.inventory ? await o.resolveHosts(args.inventory) : DEFAULT_LAB_HOSTS;
      const profile = await labUp({ hosts, ipvs: args.ipvs, release: args.release, owner: labOwnerFromEnv(process.env), log: o.out });
      o.out(`profile: /run/play-lab/profile.json (key ${profile.identityFile}, known_hosts ${profile.knownHostsFile})`);
      return EXIT.ok;
    }
    case 'down':
      if (rest.length) return usage(o.out, `unexpected argument "${rest[0]}"`);
      await labDown({ log: o.out });
      return EXIT.ok;
    case 'status':
      if (rest.length) return usage(o.out, `unexpected argument "${rest[0]}"`);
      o.out(await labStatus());
      return readLabProfile() ? EXIT.ok : EXIT.noLab;
    case 'reboot':
      if (!rest.length) return usage(o.out, 'reboot needs a HOST');
      await labReboot(rest, { log: o.out });
      return EXIT.ok;
    case 'cut': {
      const args = parseCutArgs(rest);
      if (typeof args === 'string') return usage(o.out, args);
      o.out(await labCut(args.host, args));
      return EXIT.ok;
    }
    case 'heal':
      if (!rest.length) return usage(o.out, 'heal needs a HOST');
      o.out(await labHeal(rest));
      return EXIT.ok;
    case 'ssh': {
      const [host, ...command] = rest;
      if (!host) return usage(o.out, 'ssh needs a HOST');
      return await labSsh(host, command);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      o.out(USAGE);
      return cmd === undefined ? EXIT.usage : EXIT.ok;
    default:
      return usage(o.out, `unknown lab command "${cmd}"`);
  }
}

function usage(out: (s: string) => void, problem: string): number {
  out(`play lab: ${problem}\n${USAGE}`);
  return EXIT.usage;
}

/** `up`'s words, or the usage problem with them. */
export function parseUpArgs(args: readonly string[]): { inventory?: string; ipvs: boolean; release: LabRelease } | string {
  let inventory: string | undefined;
  let ipvs = false;
  let release: LabRelease = DEFAULT_RELEASE;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--ipvs') ipvs = true;
    else if (a === '--release' || a.startsWith('--release=')) {
      const v = a === '--release' ? args[++i] : a.slice('--release='.length);
      if (!v) return `--release needs a NAME: ${LAB_RELEASES.join(' or ')}`;
      if (!isLabRelease(v)) return `unknown release "${v}": the lab builds ${LAB_RELEASES.join(' or ')}`;
      release = v;
    } else if (a === '-i' || a === '--inventory') {
      inventory = args[++i];
      if (!inventory) return `${a} needs a path`;
    } else if (a.startsWith('--inventory=')) inventory = a.slice('--inventory='.length);
    else return `unexpected argument "${a}"`;
  }
  return inventory ? { inventory, ipvs, release } : { ipvs, release };
}

function parseCutArgs(args: string[]): { host: string; vrrpOnly: boolean; from?: string; seconds?: number } | string {
  const hosts: string[] = [];
  let vrrpOnly = false, from: string | undefined, seconds: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--vrrp-only') vrrpOnly = true;
    else if (a === '--from') {
      from = args[++i];
      if (!from) return '--from needs a HOST';
    } else if (a === '--for') {
      const v = args[++i];
      seconds = Number(v);
      if (!v || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_CUT_SECONDS) return `--for needs whole seconds from 1 to ${MAX_CUT_SECONDS}, not "${v ?? ''}"`;
    } else if (a.startsWith('-')) return `unexpected argument "${a}"`;
    else hosts.push(a);
  }
  if (hosts.length !== 1) return `cut needs one HOST${hosts.length ? `, not ${hosts.join(' ')}` : ''}`;
  return { host: hosts[0]!, vrrpOnly, ...(from ? { from } : {}), ...(seconds ? { seconds } : {}) };
}

/** `play lab ssh HOST [cmd…]`: OpenSSH with inherited stdio; its exit code is ours. */
async function labSsh(host: string, command: string[]): Promise<number> {
  requireRoot();
  const profile = readLabProfile();
  if (!profile) throw new NoLabError('no lab is up (`play lab up` first)');
  const h = profile.hosts.find((x) => x.name === host || machineName(x.name) === host.toLowerCase() || x.address === host);
  if (!h) throw new LabError(`no lab host "${host}"; the lab has ${profile.hosts.map((x) => x.name).join(', ')}`);
  await checkRoutesToBridge([h.address]);
  const args = sshArgs({ identityFile: profile.identityFile, knownHostsFile: profile.knownHostsFile, address: h.address });
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...args, ...command], { stdio: 'inherit' });
    child.on('error', (e) => reject(new LabError(`cannot run ssh: ${e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 255 : 1)));
  });
}
