/**
 * `play lab cut` and `heal`: faults between lab hosts, made on the lab's
 * switch. Each host's port on the bridge is its own link (`plab-<host>`,
 * a veth end or a VM's tap), so one nftables table of the bridge family
 * (`bridge playlab`) can drop what crosses a host's port and nothing else:
 * no rule matches a link that is not the lab's, and the same rules hold for
 * containers and VMs alike (a VM has no namespace on this machine to put a
 * rule in, and a rule inside a host would change what the plays find there).
 *
 * Every cut is an element of a set with a timeout: the kernel heals it by
 * itself when the time is up, even if the run that made it is gone, and
 * `down` deletes the table with the lab.
 */
import { LabError, LabPrerequisiteError } from './errors.ts';
import { exec, type ExecResult } from './exec.ts';
import { linkName } from './network.ts';
import { findProgram } from './prereqs.ts';

const TABLE = 'playlab';
/** The longest a cut may last; `--for` defaults to {@link DEFAULT_CUT_SECONDS}. */
export const MAX_CUT_SECONDS = 3600;
export const DEFAULT_CUT_SECONDS = 300;

/**
 * The table: a host cut off entirely (`cut`: everything through its port,
 * including this machine's own traffic to it), VRRP to and from a host
 * (`vrrp`), and the same between two hosts only (`cut_pair`, `vrrp_pair`,
 * both directions as two elements). Priority -200: before any other table's
 * bridge rules could accept the frame.
 */
const TABLE_SCRIPT = `table bridge ${TABLE} {
  set cut { type ifname; flags timeout; }
  set vrrp { type ifname; flags timeout; }
  set cut_pair { type ifname . ifname; flags timeout; }
  set vrrp_pair { type ifname . ifname; flags timeout; }
  chain forward {
    type filter hook forward priority -200; policy accept;
    iifname @cut drop
    oifname @cut drop
    iifname . oifname @cut_pair drop
    ip protocol vrrp iifname @vrrp drop
    ip protocol vrrp oifname @vrrp drop
    ip protocol vrrp iifname . oifname @vrrp_pair drop
  }
  chain input { type filter hook input priority -200; policy accept; iifname @cut drop; }
  chain output { type filter hook output priority -200; policy accept; oifname @cut drop; }
}
`;

/** What to cut: all of a host's traffic or only VRRP, to everyone or to one peer. */
export interface Cut {
  host: string;
  machine: string;
  vrrpOnly: boolean;
  from?: { host: string; machine: string };
  seconds: number;
}

function nft(args: readonly string[], stdin?: string): Promise<ExecResult> {
  return exec('nft', args, stdin === undefined ? {} : { input: stdin });
}

function requireNft(): void {
  if (!findProgram('nft')) throw new LabPrerequisiteError('play lab cut needs nft (Debian package nftables): `play lab up` installs it, or apt-get install nftables');
}

async function ensureTable(): Promise<void> {
  if ((await nft(['list', 'table', 'bridge', TABLE])).code === 0) return;
  const r = await nft(['-f', '-'], TABLE_SCRIPT);
  if (r.code !== 0) throw new LabError(`cannot create the lab's fault table (nft): ${r.stderr.trim()}`);
}

/** Make a cut (see {@link Cut}); a host already cut the same way gets the new duration. */
export async function makeCut(c: Cut): Promise<void> {
  requireNft();
  if (!(c.seconds >= 1 && c.seconds <= MAX_CUT_SECONDS)) throw new LabError(`--for must be 1 to ${MAX_CUT_SECONDS} seconds, not ${c.seconds}`);
  await ensureTable();
  const port = linkName(c.machine);
  const set = `${c.vrrpOnly ? 'vrrp' : 'cut'}${c.from ? '_pair' : ''}`;
  const peer = c.from ? linkName(c.from.machine) : undefined;
  const elements = peer ? [`"${port}" . "${peer}"`, `"${peer}" . "${port}"`] : [`"${port}"`];
  // Delete first: re-adding an element keeps its old timeout.
  for (const e of elements) await nft(['delete', 'element', 'bridge', TABLE, set, `{ ${e} }`]);
  const r = await nft(['add', 'element', 'bridge', TABLE, set, `{ ${elements.map((e) => `${e} timeout ${c.seconds}s`).join(', ')} }`]);
  if (r.code !== 0) throw new LabError(`cutting ${c.host}: nft: ${r.stderr.trim()}`);
}

/** One cut in force, as `status` shows it. */
export interface CutInForce {
  set: 'cut' | 'vrrp' | 'cut_pair' | 'vrrp_pair';
  ports: string[];
  secondsLeft: number;
}

/** The cuts in force now (none when the table is absent). */
export async function cutsInForce(): Promise<CutInForce[]> {
  if (!findProgram('nft')) return [];
  const r = await nft(['-j', 'list', 'table', 'bridge', TABLE]);
  return r.code === 0 ? parseCuts(r.stdout) : [];
}

/**
 * The cuts in `nft -j list table bridge playlab`: each set's elements, a
 * port or a pair of ports, with the seconds the kernel gives them still.
 */
export function parseCuts(json: string): CutInForce[] {
  const out: CutInForce[] = [];
  type Val = string | { concat: string[] };
  type Elem = Val | { elem: { val: Val; expires?: number } };
  for (const item of (JSON.parse(json) as { nftables: Array<{ set?: { name: CutInForce['set']; elem?: Elem[] } }> }).nftables) {
    for (const e of item.set?.elem ?? []) {
      const inner = typeof e === 'object' && 'elem' in e ? e.elem : { val: e };
      out.push({ set: item.set!.name, ports: typeof inner.val === 'string' ? [inner.val] : inner.val.concat, secondsLeft: 'expires' in inner ? inner.expires ?? 0 : 0 });
    }
  }
  return out;
}

/** Undo every cut that involves `machine`'s port. Returns how many were undone. */
export async function healHost(machine: string): Promise<number> {
  requireNft();
  const port = linkName(machine);
  let undone = 0;
  for (const c of await cutsInForce()) {
    if (!c.ports.includes(port)) continue;
    const r = await nft(['delete', 'element', 'bridge', TABLE, c.set, `{ ${c.ports.map((p) => `"${p}"`).join(' . ')} }`]);
    if (r.code !== 0) throw new LabError(`healing ${machine}: nft: ${r.stderr.trim()}`);
    undone++;
  }
  return undone;
}

/** For `down`: the table goes with the lab. Returns a problem as text, or undefined. */
export async function removeFaultTable(): Promise<string | undefined> {
  if (!findProgram('nft')) return undefined;
  if ((await nft(['list', 'table', 'bridge', TABLE])).code !== 0) return undefined;
  const r = await nft(['delete', 'table', 'bridge', TABLE]);
  return r.code === 0 ? undefined : `nft delete table bridge ${TABLE}: ${r.stderr.trim()}`;
}
