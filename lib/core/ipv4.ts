/** IPv4 arithmetic shared by the lab and the cluster model. */

/** Parse dotted IPv4 to a number, or undefined when it is not one. */
export function ipv4(s: unknown): number | undefined {
  // Untyped inventories pass anything: a number must not reach a string method.
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

/** Parse "a.b.c.d/len" to network and prefix length. */
export function cidr(s: unknown): { network: number; bits: number } | undefined {
  if (typeof s !== 'string') return undefined;
  const [addr, len] = s.split('/');
  const a = addr === undefined ? undefined : ipv4(addr);
  const bits = Number(len);
  if (a === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { network: (a & mask) >>> 0, bits };
}

/** Is the address inside the CIDR? */
export function inCidr(address: string, c: string): boolean {
  const a = ipv4(address);
  const n = cidr(c);
  if (a === undefined || !n) return false;
  const mask = n.bits === 0 ? 0 : (0xffffffff << (32 - n.bits)) >>> 0;
  return ((a & mask) >>> 0) === n.network;
}
