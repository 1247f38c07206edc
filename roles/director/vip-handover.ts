import { changes, noop, type Change } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { ipv4 } from '../../lib/core/ipv4.ts';
import { describe, positiveNumber, text } from '../../lib/core/rules.ts';
import { at, wholeNumber } from '../../lib/tasks/checks.ts';
import type { HostReader } from '../../lib/core/task.ts';
import { settle } from '../verify/checks.ts';
import {
  handoverCommand, handoverOffset, holdsVipCommand, JOURNAL_CURSOR, preemptSeenCommand, quiesceCommand, QUIESCE_FOR_MS, unquiesceCommand,
} from './keepalived-commands.ts';

/** Parameters of {@link vipHandover}. */
export interface VipHandoverParams {
  /**
   * The priority offset this director's keepalived subtracts (its track
   * file): `HANDOVER_OFFSET` gives the VIP to a peer, 0 takes it back.
   */
  offset: number;
  /** The VIP and the interface that carries it. */
  vip: string;
  interface: string;
  /** Every director's VRRP priority by inventory name, this one's too: who takes the VIP, and when. */
  priorities: Readonly<Record<string, number>>;
  /** The VRRP advert interval in seconds (`cluster.advertInterval`). */
  advertInterval: number;
  /** How long the VIP may take to move. @default 30000 */
  boundMs?: number;
}

/**
 * How far ahead of the takeover the director giving the VIP up stops taking
 * new connections, for {@link QUIESCE_FOR_MS}: more than a handshake's time,
 * and about the middle of the rule's life, so that an aim off by ±250 ms
 * still covers the takeover (the lab measured ±300 ms). An aim off by more
 * only loses the protection (the rule has expired, or not begun): no SYN is
 * ever dropped twice.
 */
export const QUIESCE_LEAD_MS = 300;

/**
 * When a preempting director takes the VIP, counted from the moment it
 * discarded the first advert of lower priority (keepalived 2.2, VRRPv2): its
 * master-down timer started at the advert before, one interval earlier, and
 * runs 3 intervals plus the skew (256 − priority)/256 s. All in ms.
 */
export function takeoverAfterDiscardMs(advertInterval: number, takerPriority: number): number {
  return 2 * advertInterval * 1000 + ((256 - takerPriority) * 1000) / 256;
}

/**
 * How long the giver waits, from the moment the controller has the taker's
 * report, before it stops new connections, so that this happens {@link
 * QUIESCE_LEAD_MS} before the takeover: the report was `seenLagMs` late on
 * the taker and took `takerOneWayMs` to arrive; the quiesce takes
 * `giverOneWayMs` to reach the giver. Never negative.
 */
export function quiesceWaitMs(o: { advertInterval: number; takerPriority: number; seenLagMs: number; takerOneWayMs: number; giverOneWayMs: number }): number {
  const left = takeoverAfterDiscardMs(o.advertInterval, o.takerPriority) - o.seenLagMs - o.takerOneWayMs;
  return Math.max(0, left - QUIESCE_LEAD_MS - o.giverOneWayMs);
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const ok = { code: 0, stdout: '', stderr: '' };

/** Half the time a trivial command takes there and back. */
async function oneWayMs(r: HostReader): Promise<number> {
  const t = Date.now();
  await r.run('true');
  return (Date.now() - t) / 2;
}

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
export function handoverStep(p: VipHandoverParams, self: string, summary: string): Change {
  const bound = p.boundMs ?? 30_000;
  const away = p.offset > 0;
  const peerNames = Object.keys(p.priorities).filter((n) => n !== self);
  // The preempting director: the highest-priority peer when handing over, this one when taking back.
  const takerPriority = away ? Math.max(...peerNames.map((n) => p.priorities[n] ?? 0)) : (p.priorities[self] ?? 0);
  return {
    summary,
    exec: [
      `# where the VIP will go: note the journal cursor`,
      JOURNAL_CURSOR,
      '# here:',
      handoverCommand(p.offset),
      `# there: wait for the first advert of lower priority it discards`,
      preemptSeenCommand('CURSOR', 3 * p.advertInterval + 2),
      `# ${Math.round(takeoverAfterDiscardMs(p.advertInterval, takerPriority) - QUIESCE_LEAD_MS)} ms after it, on the director giving the VIP up (${away ? 'this one' : peerNames.join(' or ')}):`,
      quiesceCommand(p.vip, p.interface),
      `# once the VIP ${away ? 'is on a peer' : 'is back here'}, there:`,
      unquiesceCommand(p.interface),
    ].join('\n'),
    apply: async (io) => {
      const holds = async (r: HostReader) => (await r.run(holdsVipCommand(p.vip, p.interface))).code === 0;
      const peers = await Promise.all(peerNames.map((n) => io.reader(n)));
      const giving = away ? [io.self] : (await Promise.all(peers.map(async (r) => ((await holds(r)) ? [r] : [])))).flat();
      const takers = away ? peers : [io.self];
      const [cursors, takerLag, giverLag] = await Promise.all([
        Promise.all(takers.map(async (r) => (await r.run(JOURNAL_CURSOR)).stdout.trim())),
        Promise.all(takers.map(oneWayMs)),
        Promise.all(giving.map(oneWayMs)),
      ]);
      let quiesced: HostReader[] = [];
      try {
        const set = await io.self.run(handoverCommand(p.offset));
        if (set.code !== 0) return set;
        // The first taker to see a lower-priority advert times the quiesce; none (no journal): no quiesce.
        const seen = await Promise.any(takers.map(async (r, i) => {
          if (!cursors[i]) throw new Error('no journal');
          const res = await r.run(preemptSeenCommand(cursors[i]!, 3 * p.advertInterval + 2));
          const [logged = NaN, at = NaN] = res.stdout.trim().split(/\s+/).map(Number);
          if (res.code !== 0 || !Number.isFinite(logged) || !Number.isFinite(at)) throw new Error('not seen');
          return { seenLagMs: Math.max(0, (at - logged) * 1000), takerOneWayMs: takerLag[i]! };
        })).catch(() => undefined);
        if (seen) {
          // The giver sleeps the rest itself: its own commands are slow to start on a busy host.
          const afterMs = quiesceWaitMs({ advertInterval: p.advertInterval, takerPriority, giverOneWayMs: Math.max(0, ...giverLag), ...seen });
          quiesced = giving;
          const quiet = await Promise.all(giving.map((r) => r.run(quiesceCommand(p.vip, p.interface, { afterMs }))));
          const bad = quiet.find((q) => q.code !== 0);
          if (bad) return { ...bad, stderr: `could not stop new connections before the move: ${bad.stderr.trim()}` };
        }
        const onPeer = async () => (await Promise.all(peers.map(holds))).some(Boolean);
        const moved = async () => (away ? (await onPeer()) && !(await holds(io.self)) : (await holds(io.self)) && !(await onPeer()));
        const done = await settle(moved, (v) => v, bound, 50);
        return done ? ok : { code: 1, stdout: '', stderr: `the VIP did not move ${away ? `to ${peerNames.join(' or ')}` : 'back'} within ${bound / 1000} s` };
      } finally {
        await Promise.all(quiesced.map((r) => r.run(unquiesceCommand(p.interface))));
      }
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
 * const vrrp = { vip: '192.168.56.200', interface: 'enp0s8', priorities: { LB1: 200, LB2: 100 }, advertInterval: 1 };
 * const away = vipHandover({ ...vrrp, offset: HANDOVER_OFFSET });
 * const back = vipHandover({ ...vrrp, offset: 0 });
 * ```
 */
export const vipHandover = defineTask<VipHandoverParams>({
  kind: 'vip-handover',
  keys: ['offset', 'vip', 'interface', 'priorities', 'advertInterval', 'boundMs'],
  required: ['offset', 'vip', 'interface', 'priorities', 'advertInterval'],
  name: (p) => (p.offset > 0 ? 'hand the VIP over' : 'take the VIP back'),
  check: (p, host) => {
    const out: Array<{ field: string; message: string }> = [];
    out.push(...wholeNumber('offset', p.offset, 0, 253), ...at('advertInterval', positiveNumber(p.advertInterval, 'seconds')));
    out.push(...wholeNumber('boundMs', p.boundMs, 1, 2 ** 31, { unit: 'ms' }));
    out.push(...at('vip', ipv4(p.vip) === undefined ? `must be an IPv4 address, got ${describe(p.vip)}` : undefined));
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
