/**
 * The lab's network: one bridge in the root namespace holding the subnet's
 * first address, and per host a network namespace with a veth end (or a tap
 * device, for a VM) on that bridge. Also the safety checks that keep lab
 * traffic on the bridge: refuse a subnet that is in use or routed elsewhere,
 * and check with `ip route get` that every host address routes to the bridge.
 */
import { createHash } from 'node:crypto';
import { ipv4 as ipv4ToInt } from '../core/ipv4.ts';
import { LabError } from './errors.ts';
import { exec, must } from './exec.ts';
import { BRIDGE, LINK_PREFIX, NETNS_PREFIX } from './paths.ts';

export { ipv4ToInt };

/** The lab's /24, derived from the host addresses. */
export interface LabNet {
  /** e.g. "192.168.56.0/24" */
  subnet: string;
  /** The bridge's address, the subnet's first: e.g. "192.168.56.1". */
  gateway: string;
  prefixLen: number;
}


function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The /24 containing `address`, e.g. "192.168.56.0/24". */
export function subnetOf(address: string): string {
  const n = ipv4ToInt(address);
  if (n === undefined) throw new LabError(`"${address}" is not an IPv4 address`);
  return `${intToIpv4(n - (n % 256))}/24`;
}

/** Does route destination `dst` ("default", "a.b.c.d" or "a.b.c.d/n") overlap `subnet`? "default" does not count: it is what the lab's more specific route overrides. */
export function overlaps(dst: string, subnet: string): boolean {
  if (dst === 'default') return false;
  const [a, al = '32'] = dst.split('/');
  const [b, bl = '32'] = subnet.split('/');
  const an = ipv4ToInt(a ?? ''), bn = ipv4ToInt(b ?? '');
  if (an === undefined || bn === undefined) return false;
  const len = Math.min(Number(al), Number(bl));
  const size = 2 ** (32 - len);
  return Math.floor(an / size) === Math.floor(bn / size);
}

/**
 * A fixed, locally administered MAC derived from the address. LAB.md: with
 * random MACs the root namespace kept stale ARP entries and SSH took 25–60 s
 * after a host was re-created.
 */
export function macFor(address: string): string {
  const n = ipv4ToInt(address) ?? 0;
  const tail = [16, 8, 0].map((s) => (Math.floor(n / 2 ** s) % 256).toString(16).padStart(2, '0'));
  return ['02', '70', '6c', ...tail].join(':'); // 02 = locally administered; 70 6c = "pl"
}

/** Network namespace of a host: `playlab-<machine>`. */
export function netnsName(machine: string): string {
  return `${NETNS_PREFIX}${machine}`;
}

/** Root-namespace link (veth end or tap) of a host: `plab-<machine>`, hashed down to IFNAMSIZ. */
export function linkName(machine: string): string {
  const plain = `${LINK_PREFIX}${machine}`;
  if (plain.length <= 15) return plain;
  const hash = createHash('sha256').update(machine).digest('hex').slice(0, 4);
  return `${LINK_PREFIX}${machine.slice(0, 15 - LINK_PREFIX.length - 5)}-${hash}`;
}

interface IpAddr { ifname: string; addr_info?: { family: string; local: string; prefixlen: number }[] }
interface IpRoute { dst: string; dev?: string; table?: string; type?: string }

/**
 * Refuse a subnet that is already in use on this machine: an address of it on
 * any interface but the lab bridge, or a route for it through anything but the
 * bridge. Otherwise lab traffic could reach a real network.
 */
export async function checkSubnetFree(subnet: string): Promise<void> {
  const problems: string[] = [];
  const addrs = JSON.parse(await must('listing addresses', 'ip', ['-j', '-4', 'addr', 'show'])) as IpAddr[];
  for (const a of addrs) {
    if (a.ifname === BRIDGE) continue;
    for (const i of a.addr_info ?? []) {
      if (overlaps(`${i.local}/${i.prefixlen}`, subnet)) problems.push(`${i.local}/${i.prefixlen} is configured on ${a.ifname}`);
    }
  }
  const routes = JSON.parse(await must('listing routes', 'ip', ['-j', '-4', 'route', 'show', 'table', 'all'])) as IpRoute[];
  for (const r of routes) {
    if (r.dev === BRIDGE || r.type === 'local' && r.dev === 'lo') continue;
    if (overlaps(r.dst, subnet)) problems.push(`route ${r.dst}${r.dev ? ` dev ${r.dev}` : ''}${r.table ? ` table ${r.table}` : ''} already covers it`);
  }
  if (problems.length) {
    throw new LabError(
      `refusing to build the lab on ${subnet}: the subnet is already in use on this machine, so lab traffic could leave it:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nUse an inventory on a free subnet, or remove what uses this one.',
    );
  }
}

/** Create the bridge with the subnet's first address; its MAC is fixed too, so it does not change as ports join. */
export async function createBridge(net: LabNet): Promise<void> {
  await must('creating the lab bridge', 'ip', ['link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await must('setting the bridge MAC', 'ip', ['link', 'set', BRIDGE, 'address', macFor(net.gateway)]);
  await must('addressing the lab bridge', 'ip', ['addr', 'add', `${net.gateway}/${net.prefixLen}`, 'dev', BRIDGE]);
  await must('bringing the lab bridge up', 'ip', ['link', 'set', BRIDGE, 'up']);
}

/**
 * LAB.md "Network safety": before anything connects, every lab address must
 * route to the bridge (`ip route get` names it). Policy routing or a more
 * specific route elsewhere would send lab traffic off the machine.
 */
export async function checkRoutesToBridge(addresses: readonly string[]): Promise<void> {
  const wrong: string[] = [];
  for (const address of addresses) {
    const r = await exec('ip', ['-j', 'route', 'get', address]);
    const dev = r.code === 0 ? (JSON.parse(r.stdout) as IpRoute[])[0]?.dev : undefined;
    if (dev !== BRIDGE) wrong.push(`${address} routes via ${dev ?? `nothing (${r.stderr.trim()})`}`);
  }
  if (wrong.length) {
    throw new LabError(`refusing to contact lab hosts: their addresses must route to ${BRIDGE}, but:\n${wrong.map((w) => `  - ${w}`).join('\n')}`);
  }
}

/**
 * A container host's network: namespace `playlab-<machine>`, a veth pair whose
 * inner end is created inside it under the spec's name (so several hosts can
 * all have an `enp0s8`), fixed MAC, address and loopback up. No default
 * route: a host can reach the subnet and nothing else.
 */
export async function createHostNetns(o: { machine: string; iface: string; address: string; net: LabNet }): Promise<void> {
  const ns = netnsName(o.machine);
  const link = linkName(o.machine);
  const what = `network of ${o.machine}`;
  await must(what, 'ip', ['netns', 'add', ns]);
  await must(what, 'ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', o.iface, 'netns', ns]);
  await must(what, 'ip', ['link', 'set', link, 'master', BRIDGE, 'up']);
  await must(what, 'ip', ['-n', ns, 'link', 'set', o.iface, 'address', macFor(o.address)]);
  await must(what, 'ip', ['-n', ns, 'addr', 'add', `${o.address}/${o.net.prefixLen}`, 'dev', o.iface]);
  await must(what, 'ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await must(what, 'ip', ['-n', ns, 'link', 'set', o.iface, 'up']);
  await forgetNeighbour(o.address);
}

/** A VM host's network: a tap device on the bridge; qemu gives the guest NIC its fixed MAC. */
export async function createTap(machine: string, address: string): Promise<string> {
  const link = linkName(machine);
  await must(`tap device of ${machine}`, 'ip', ['tuntap', 'add', 'dev', link, 'mode', 'tap']);
  await must(`tap device of ${machine}`, 'ip', ['link', 'set', link, 'master', BRIDGE, 'up']);
  await forgetNeighbour(address);
  return link;
}

/** LAB.md: drop any ARP entry a previous lab left for this address (`ip neigh del`). */
async function forgetNeighbour(address: string): Promise<void> {
  await exec('ip', ['neigh', 'del', address, 'dev', BRIDGE]);
}

/** Names of lab network namespaces present on the machine (ours by prefix). */
export async function listLabNetns(): Promise<string[]> {
  const r = await exec('ip', ['netns', 'list']);
  return r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(NETNS_PREFIX));
}

/** Lab links present in the root namespace: veth ends and taps by prefix, and the bridge. */
export async function listLabLinks(): Promise<string[]> {
  const r = await exec('ip', ['-j', 'link', 'show']);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname)
    .filter((n) => n.startsWith(LINK_PREFIX) || n === BRIDGE);
}

/** Delete a namespace or link; report failures as text rather than throwing (teardown goes on). */
export async function deleteNetns(ns: string): Promise<string | undefined> {
  const r = await exec('ip', ['netns', 'del', ns]);
  return r.code === 0 ? undefined : `ip netns del ${ns}: ${r.stderr.trim()}`;
}

export async function deleteLink(link: string): Promise<string | undefined> {
  const r = await exec('ip', ['link', 'del', link]);
  // A veth end goes by itself, a moment after its namespace: listed, then gone before the delete ("No such device").
  return r.code === 0 || /Cannot find device|No such device/.test(r.stderr) ? undefined : `ip link del ${link}: ${r.stderr.trim()}`;
}
