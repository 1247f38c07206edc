import type { FieldProblem } from '../../lib/core/errors.ts';
import { randomBytes } from 'node:crypto';
import { changes, noop, outline, type ApplyChange } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { ipv4 } from '../../lib/core/ipv4.ts';
import { describe, positiveNumber, text } from '../../lib/core/rules.ts';
import { at, wholeNumber } from '../../lib/tasks/checks.ts';
import type { HostAccess } from '../../lib/core/task.ts';
import { sh } from '../../lib/core/shell.ts';
import { settle } from '../verify/checks.ts';
import { masteredBy, parseKeepalived } from './keepalived-parse.ts';
import {
  handoverCommand, handoverOffset, holdsVipCommand, quiesceArmCommand, quiesceCueCleanupCommand, quiesceCueCommand, quiesceCueSetupCommand, quiesceDisarmCommand, QUIESCE_FOR_MS, takeoverLoggedCommand,
} from './keepalived-commands.ts';
import { CONNECTIONS_COMMAND } from '../lvs/ipvs-connections.ts';
import { CATCH_UP_MS, catchUp, catchUpNote } from './sync-catch-up.ts';

/** Parameters of {@link vipHandover}. */
export interface VipHandoverParams {
  /**
   * The priority offset this director's keepalived subtracts (its track
   * file): `HANDOVER_OFFSET` gives the VIP to a peer, 0 takes it back.
   */
  offset: number;
  /** The VIP and the interface that carries it. */
  vip: string;
  /**
   * Every VIP the VRRP instance carries (`vip` among them): each one's new
   * handshakes are held back while it moves. @default [vip]
   */
  vips?: readonly string[];
  interface: string;
  /** Every director's VRRP priority by inventory name, this one's too: who takes the VIP, and when. */
  priorities: Readonly<Record<string, number>>;
  /** The VRRP advert interval in seconds (`cluster.advertInterval`). */
  advertInterval: number;
  /** The VRRP instance's `virtual_router_id`: whose adverts time the move. */
  virtualRouterId: number;
  /** How long the VIP may take to move. @default 30000 */
  boundMs?: number;
}

/**
 * How far ahead of the takeover the taker triggers the giver's quiesce (for
 * {@link QUIESCE_FOR_MS}): more than a handshake's time before it, and room
 * after it for the old MASTER to let go and the clients' ARP to follow.
 */
export const QUIESCE_LEAD_MS = 300;
/** Taking back, the raise comes this share of an advert interval after the advert it follows (see `QuiesceCue.raiseAtMs`). */
export const RAISE_AT_SHARE = 0.5;
/** The trigger is not sent at all when the taker sees its cue later than this before the takeover. */
export const QUIESCE_LATEST_MS = 50;

/**
 * When a preempting director takes the VIP, counted from the last advert it
 * accepted from the MASTER (keepalived 2.2, VRRPv2): its master-down timer
 * runs 3 intervals plus the skew (256 − priority)/256 s. In ms.
 */
export function takeoverAfterAnchorMs(advertInterval: number, takerPriority: number): number {
  return 3 * advertInterval * 1000 + ((256 - takerPriority) * 1000) / 256;
}

const ok = { code: 0, stdout: '', stderr: '' };

/**
 * Move the VIP by priority, not by failure: set this director's handover
 * offset, and wait (bounded) until the VIP is where that puts it — on a peer
 * (offset > 0), or back here (0). keepalived moves it when the preempting
 * director's master-down timer ends, seconds later: the step watches that
 * director's log for the first advert it discards, and has the director
 * giving the VIP up stop taking new connections just before the takeover
 * ({@link quiesceCommand}), so no TCP handshake is split between two
 * directors. The rule is removed once the VIP has moved, or on failure.
 */
export function handoverStep(p: VipHandoverParams, self: string, summary: string): ApplyChange {
  const bound = p.boundMs ?? 30_000;
  const away = p.offset > 0;
  const peerNames = Object.keys(p.priorities).filter((n) => n !== self);
  const top = Math.max(...peerNames.map((n) => p.priorities[n] ?? 0));
  // The preempting director: the highest-priority peer (or peers, when tied) handing over, this one taking back.
  const takerNames = away ? peerNames.filter((n) => (p.priorities[n] ?? 0) === top) : [self];
  const takerPriority = away ? top : (p.priorities[self] ?? 0);
  const takeover = takeoverAfterAnchorMs(p.advertInterval, takerPriority);
  const seconds = 2 * p.advertInterval + 2;
  const cueOf = (token: string) => ({
    vip: p.vip, ...(p.vips?.length ? { vips: p.vips } : {}), token, virtualRouterId: p.virtualRouterId, seconds,
    atMs: takeover - QUIESCE_LEAD_MS, latestMs: takeover - QUIESCE_LATEST_MS,
    ...(away ? { below: takerPriority } : { raise: handoverCommand(p.offset), raiseAtMs: RAISE_AT_SHARE * p.advertInterval * 1000 }),
  });
  return {
    summary,
    what: outline([
      ...(away ? [] : [[`here, first: wait (at most ${CATCH_UP_MS / 1000} s) until this director's IPVS table has every active connection the holder carries`, CONNECTIONS_COMMAND] as const]),
      [`on the director giving the VIP up (${away ? 'this one' : peerNames.join(' or ')}): drop new handshakes for ${QUIESCE_FOR_MS} ms once triggered (a random token per move)`, quiesceArmCommand(p.vips?.length ? p.vips : p.vip, 'RANDOMTK')],
      [`where the VIP will go (${takerNames.join(' or ')}): log the adverts, and mark the kernel log`, quiesceCueSetupCommand(cueOf('RANDOMTK'))],
      ...(away ? [['here:', handoverCommand(p.offset)] as const] : []),
      [`there: ${away ? '' : `raise the priority ${RAISE_AT_SHARE * p.advertInterval * 1000} ms after an advert, and `}trigger the quiesce ${Math.round(takeover - QUIESCE_LEAD_MS)} ms after the last advert accepted (${QUIESCE_LEAD_MS} ms before the takeover)`, quiesceCueCommand({ ...cueOf('RANDOMTK'), setup: '$MARK $OFF $FIRST' })],
      [`once the VIP ${away ? 'is on a peer' : 'is back here'}, on the giver:`, quiesceDisarmCommand()],
    ]),
    apply: async (io) => {
      const holds = async (r: HostAccess) => (await r.run(holdsVipCommand(p.vip, p.interface))).code === 0;
      // A rollout on the MASTER also hands back for a peer that rejoins: `self` need not be this host.
      const me = io.self.host.name === self ? io.self : await io.host(self);
      const peers = await Promise.all(peerNames.map((n) => (io.self.host.name === n ? io.self : io.host(n))));
      const onPeer = async () => (await Promise.all(peers.map(holds))).some(Boolean);
      const moved = async () => (away ? (await onPeer()) && !(await holds(me)) : (await holds(me)) && !(await onPeer()));
      const giving = away ? [me] : (await Promise.all(peers.map(async (r) => ((await holds(r)) ? [r] : [])))).flat();
      const takers = away ? peers.filter((_, i) => takerNames.includes(peerNames[i]!)) : [me];
      const cue = cueOf(randomBytes(4).toString('hex'));
      const armed: HostAccess[] = [];
      const notes: string[] = [];
      const triggers: Array<{ r: HostAccess; anchor: number; seen: number; sent: number }> = [];
      // Taking back: first the connections the holder carries, so none stalls when the VIP returns (see catchUp).
      if (!away && giving.length) notes.push(catchUpNote(self, await catchUp(me, giving, p.vips?.length ? p.vips : [p.vip], CATCH_UP_MS)));
      try {
        for (const r of giving) {
          armed.push(r);
          const a = await r.run(quiesceArmCommand(p.vips?.length ? p.vips : p.vip, cue.token));
          if (a.code !== 0) return { ...a, stderr: `could not prepare ${r.host.name} to stop new connections before the move: ${a.stderr.trim()}` };
        }
        // Set up before the priorities change, so that the last advert accepted is in the log.
        const marks = await Promise.all(takers.map(async (r) => {
          const set = await r.run(quiesceCueSetupCommand(cue));
          if (!set.stdout.trim() && set.stderr.trim()) notes.push(`${r.host.name}: no quiesce: ${set.stderr.trim()}`);
          return set.stdout.trim();
        }));
        // Each taker times the trigger by itself; taking back, it also raises its priority at its moment.
        const cued = Promise.all(takers.map(async (r, i) => {
          // Never a rejection: this promise is awaited only after the move, seconds later (or not at all when the offset fails).
          const res = await r.run(quiesceCueCommand({ ...cue, setup: marks[i]! })).catch((e: unknown) => ({ code: 1, stdout: '', stderr: e instanceof Error ? e.message : String(e) }));
          if (res.code !== 0) return res;
          const [anchor, seen, sent] = res.stdout.trim().split(/\s+/).map(Number);
          if (!Number.isFinite(anchor)) notes.push(`${r.host.name}: no advert to time the quiesce by`);
          else if (!Number.isFinite(sent)) notes.push(`${r.host.name}: the last accepted advert read ${Math.round((seen! - anchor!) * 1000)} ms late, no quiesce`);
          else triggers.push({ r, anchor: anchor!, seen: seen!, sent: sent! });
          return undefined;
        }));
        if (away) {
          const set = await me.run(handoverCommand(p.offset));
          if (set.code !== 0) return set;
        } else {
          const failed = (await cued).find((x) => x !== undefined);
          if (failed) return { ...failed, stderr: `could not set the handover offset: ${failed.stderr.trim()}` };
        }
        const done = await settle(moved, (v) => v, bound, 50);
        await cued;
        // How far ahead of the real takeover the trigger left (keepalived's log, the taker's clock): the proof of the aim.
        for (const t of triggers) {
          const m = Number((await t.r.run(takeoverLoggedCommand(t.anchor))).stdout.trim());
          const real = Number.isFinite(m) && m > 0 ? `, ${Math.round((m - t.sent) * 1000)} ms before the takeover` : '';
          notes.push(`${t.r.host.name}: quiesce triggered ${Math.round(takeover - (t.sent - t.anchor) * 1000)} ms before the expected takeover${real} (advert read after ${Math.round((t.seen - t.anchor) * 1000)} ms)`);
        }
        return done ? { ...ok, stdout: notes.join('\n') } : { code: 1, stdout: notes.join('\n'), stderr: `the VIP did not move ${away ? `to ${peerNames.join(' or ')}` : 'back'} within ${bound / 1000} s` };
      } finally {
        await Promise.all(takers.map((r) => r.run(quiesceCueCleanupCommand(cue.token))));
        for (const r of armed) {
          const d = await r.run(quiesceDisarmCommand());
          if (d.stdout.trim()) notes.push(`${r.host.name}: ${d.stdout.trim()}`);
        }
      }
    },
    failMessage: (r) => `${summary}: ${r.stderr}`,
  };
}

/** What {@link liveHandoverStep} needs besides the director: the cluster's directors and VRRP timing. */
export interface LiveHandover {
  /** Every director (inventory names). */
  directors: readonly string[];
  interface: string;
  advertInterval: number;
  /** Where each director's keepalived.conf is. */
  conf: string;
  /** @default 30000 */
  boundMs?: number;
}

/**
 * A handover of what `self` is MASTER of *now*, read from every
 * director's keepalived.conf when it runs ({@link masteredBy}): during a
 * rollout from one set of instances to another the model says where the
 * VIPs go, the configs where they are. Sets the offset and moves nothing
 * when `self` is MASTER of no instance.
 */
export function liveHandoverStep(l: LiveHandover, self: string, offset: number, summary: string): ApplyChange {
  const move = offset > 0 ? 'hand its VIPs to the next priority' : 'take its VIPs back';
  return {
    summary,
    what: outline([
      [`read every director's ${l.conf} (${l.directors.join(', ')}); where ${self} is MASTER of an instance, ${move} as play ${offset > 0 ? 'handover' : 'handback'} does (new handshakes held back while they move)`],
      [`else, on ${self}:`, handoverCommand(offset)],
    ]),
    apply: async (io) => {
      const hosts = await Promise.all(l.directors.map((n) => (io.self.host.name === n ? io.self : io.host(n))));
      const texts = await Promise.all(hosts.map((r) => r.run(sh`cat ${l.conf} 2>/dev/null || true`)));
      const led = masteredBy(self, Object.fromEntries(l.directors.map((n, i) => [n, parseKeepalived(texts[i]!.stdout)])));
      if (!led || Object.keys(led.priorities).length < 2) {
        const me = hosts[l.directors.indexOf(self)] ?? (await io.host(self));
        const set = await me.run(handoverCommand(offset));
        return set.code !== 0 ? set : { ...ok, stdout: `${self} is MASTER of no instance: offset ${offset}, nothing moves` };
      }
      const p: VipHandoverParams = {
        offset, vip: led.vips[0]!, ...(led.vips.length > 1 ? { vips: led.vips } : {}), interface: l.interface,
        priorities: led.priorities, advertInterval: l.advertInterval, virtualRouterId: led.virtualRouterId, ...(l.boundMs ? { boundMs: l.boundMs } : {}),
      };
      return handoverStep(p, self, summary).apply(io);
    },
    failMessage: (r) => `${summary}: ${r.stderr}`,
  };
}

/**
 * Planned director maintenance as a task: give the VIP to a peer
 * (`offset: HANDOVER_OFFSET`) or take it back (`offset: 0`), through
 * keepalived's track file — no config change, no restart — and wait until
 * it has moved. Nothing to do when the offset is already in force. Runs on
 * the MASTER, as `playbooks/handover.ts` and `playbooks/handback.ts` do.
 *
 * @example
 * ```ts
 * import { vipHandover } from './vip-handover.ts';
 * import { HANDOVER_OFFSET } from './keepalived-commands.ts';
 * const vrrp = { vip: '192.168.56.200', interface: 'enp0s8', priorities: { LB1: 200, LB2: 100 }, advertInterval: 1, virtualRouterId: 62 };
 * const away = vipHandover({ ...vrrp, offset: HANDOVER_OFFSET });
 * const back = vipHandover({ ...vrrp, offset: 0 });
 * ```
 */
export const vipHandover = defineTask<VipHandoverParams>({
  kind: 'vip-handover',
  keys: ['offset', 'vip', 'vips', 'interface', 'priorities', 'advertInterval', 'virtualRouterId', 'boundMs'],
  required: ['offset', 'vip', 'interface', 'priorities', 'advertInterval', 'virtualRouterId'],
  name: (p) => (p.offset > 0 ? 'hand the VIP over' : 'take the VIP back'),
  check: (p, host) => {
    const out: FieldProblem[] = [];
    out.push(...wholeNumber('offset', p.offset, 0, 253), ...at('advertInterval', positiveNumber(p.advertInterval, 'seconds')));
    out.push(...wholeNumber('boundMs', p.boundMs, 1, 2 ** 31, { unit: 'ms' }), ...wholeNumber('virtualRouterId', p.virtualRouterId, 1, 255));
    out.push(...at('vip', ipv4(p.vip) === undefined ? `must be an IPv4 address, got ${describe(p.vip)}` : undefined));
    if (p.vips !== undefined) {
      if (!Array.isArray(p.vips)) out.push({ field: 'vips', message: `must be a list of IPv4 addresses, got ${describe(p.vips)}` });
      else {
        p.vips.forEach((v: unknown, i) => out.push(...at(`vips[${i}]`, ipv4(v) === undefined ? `must be an IPv4 address, got ${describe(v)}` : undefined)));
        if (!p.vips.includes(p.vip)) out.push({ field: 'vips', message: `must include vip (${String(p.vip)}): every VIP the instance carries` });
      }
    }
    out.push(...at('interface', text(p.interface, { nonEmpty: true, what: 'an interface name' })));
    for (const [n, v] of Object.entries(typeof p.priorities === 'object' && p.priorities ? p.priorities : {})) out.push(...wholeNumber(`priorities.${n}`, v, 1, 254));
    const names = typeof p.priorities === 'object' && p.priorities ? Object.keys(p.priorities) : [];
    if (!names.includes(host.name)) out.push({ field: 'priorities', message: `has no priority for ${host.name}, the director this runs on` });
    else if (names.length < 2) out.push({ field: 'priorities', message: 'names no other director: there is nowhere to hand the VIP to' });
    return out;
  },
  facts: () => [handoverOffset],
  plan: async (p, ctx) => {
    const now = await ctx.fact(handoverOffset);
    if (now === p.offset) return noop(`handover offset is ${p.offset} already`);
    const peers = Object.keys(p.priorities).filter((n) => n !== ctx.host.name).join(' or ');
    return changes([handoverStep(p, ctx.host.name, p.offset > 0 ? `hand the VIP to ${peers} (offset ${now} → ${p.offset})` : `take the VIP back (offset ${now} → 0)`)]);
  },
});
