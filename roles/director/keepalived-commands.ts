import { fact } from '../../lib/core/fact.ts';
import { quote, sh } from '../../lib/core/shell.ts';
import { systemctlCommand } from '../../lib/tasks/service-commands.ts';
import type { KaConfig, KaRealServer, KaVirtualServer } from './keepalived-parse.ts';

/**
 * keepalived's track file for planned handovers: its number is subtracted
 * from the director's priority (the template's `track_file`, weight -1).
 */
export const HANDOVER_FILE = '/etc/keepalived/play-handover';
/** Written to {@link HANDOVER_FILE} to give the VIP away: the largest offset keepalived takes without entering FAULT. */
export const HANDOVER_OFFSET = 253;

/** The handover offset now in force (0 when the file is missing). */
export const handoverOffset = fact('keepalived:handover', `cat ${HANDOVER_FILE} 2>/dev/null || true`, (out) => Number.parseInt(out.trim() || '0', 10) || 0);

/** Write the handover offset atomically (keepalived reads the file when it changes). */
export function handoverCommand(offset: number): string {
  const tmp = `${HANDOVER_FILE}.play-tmp`;
  return `printf '%s\\n' ${Math.trunc(offset)} > ${tmp} && chmod 0644 ${tmp} && mv -f ${tmp} ${HANDOVER_FILE}`;
}

/** The nft table a director giving the VIP up holds while it moves (see {@link quiesceArmCommand}). */
const QUIESCE_TABLE = 'ip play_quiesce';
/** The UDP port, on the VIP, that the taker's trigger goes to; the giver's table drops it. */
export const QUIESCE_PORT = 4243;
/**
 * How long the giver drops new SYNs once triggered: short of the client's
 * 1 s SYN retransmission (so no SYN is dropped twice), long enough to cover
 * the takeover and the ARP switch after it (measured on the lab: the old
 * MASTER let the VIP go 140 ms after the new one took it, the client's ARP
 * switched after 80 ms). The kernel ends it (an nft set timeout), so a busy
 * host cannot make it longer: a tc rule removed by a process lived 1.2 s
 * instead of 550 ms under load, and 4 requests failed.
 */
export const QUIESCE_FOR_MS = 750;

/** The nft constant for a UDP payload's first 8 bytes, `token` (8 ASCII characters). */
function payloadConstant(token: string): string {
  if (!/^[\x21-\x7e]{8}$/.test(token)) throw new Error(`a quiesce token is 8 printable ASCII characters, got ${JSON.stringify(token)}`);
  return `0x${Buffer.from(token, 'latin1').toString('hex')}`;
}

/** An nft match of packets to one VIP, or to any of several. */
const daddrMatch = (vip: string | readonly string[]) => {
  const all = [vip].flat();
  return all.length === 1 ? `ip daddr ${all[0]}` : `ip daddr { ${all.join(', ')} }`;
};

/**
 * Before the VIP leaves this director (every VIP of the instance, when
 * `vip` lists several): an nft table that, when the taker's
 * trigger arrives (a UDP packet to `vip`:{@link QUIESCE_PORT} carrying
 * `token`, see {@link quiesceCueCommand}), drops new TCP handshakes to the
 * VIP for {@link QUIESCE_FOR_MS}, once. IPVS replicates a connection only
 * once it is ESTABLISHED, so a handshake begun here whose ACK reaches the
 * next holder is lost there (measured: 1 of 141 requests in a handback). A
 * client whose SYN was dropped sends it again 1 s later, to the new holder.
 * The taker times the trigger on its own clock from keepalived's own timer,
 * so no SSH round trip and no process started on a busy host sits between
 * the prediction and the drop. Nothing to do on a kernel without IPVS.
 */
export function quiesceArmCommand(vip: string | readonly string[], token: string, o: { forMs?: number; port?: number } = {}): string {
  const to = daddrMatch(vip);
  // Each VIP's trigger (one packet to each) opens that VIP's own window: the set is keyed by the trigger's destination.
  const trigger = `${to} udp dport ${o.port ?? QUIESCE_PORT} @th,64,64 ${payloadConstant(token)}`;
  const ruleset = [
    `table ${QUIESCE_TABLE}`,
    `delete table ${QUIESCE_TABLE}`,
    `table ${QUIESCE_TABLE} {`,
    '  set hold { type ipv4_addr; flags dynamic, timeout; }',
    '  set fired { type ipv4_addr; flags dynamic; }',
    '  chain pre {',
    '    type filter hook prerouting priority -300; policy accept;',
    // Every packet to the port is counted (the taker's early one, the trigger): a report of what came.
    `    ${to} udp dport ${o.port ?? QUIESCE_PORT} counter comment "play-udp"`,
    // One window per move: a second trigger (two takers of equal priority) is only dropped.
    `    ${trigger} ip daddr @fired drop`,
    `    ${trigger} add @hold { ip daddr timeout ${Math.round(o.forMs ?? QUIESCE_FOR_MS)}ms } add @fired { ip daddr } counter drop comment "play-trigger"`,
    '    ip daddr @hold tcp flags & (syn | ack) == syn counter drop comment "play-held"',
    '  }',
    '}',
  ].join('\n');
  return [
    '[ -e /proc/net/ip_vs ] || exit 0',
    'command -v nft >/dev/null 2>&1 || { echo "nft not found (the director role installs nftables)" >&2; exit 127; }',
    `nft -f - <<'PLAY_NFT'\n${ruleset}\nPLAY_NFT`,
  ].join('\n');
}

/**
 * After the move: remove the table (a no-op when there is none). Prints
 * `trigger T held N` (triggers taken, SYNs held back) and logs it.
 */
export function quiesceDisarmCommand(): string {
  const count = (rule: string) => `nft list chain ${QUIESCE_TABLE} pre 2>/dev/null | sed -n ${quote(`s/.*counter packets \\([0-9]*\\) .*comment "${rule}".*/\\1/p`)}`;
  return [
    'command -v nft >/dev/null 2>&1 || exit 0',
    `nft list table ${QUIESCE_TABLE} >/dev/null 2>&1 || exit 0`,
    `u=$(${count('play-udp')}); t=$(${count('play-trigger')}); n=$(${count('play-held')})`,
    `nft delete table ${QUIESCE_TABLE}`,
    'logger -t play "the VIP moved: trigger ${t:-0}, new connections held back ${n:-0}" 2>/dev/null',
    'echo "packets ${u:-0} trigger ${t:-0} held ${n:-0}"',
  ].join('\n');
}

/** When and how a taker times the giver's quiesce (see {@link quiesceArmCommand}). */
export interface QuiesceCue {
  vip: string;
  /** Every VIP the instance carries (`vip` among them): each gets its trigger. @default [vip] */
  vips?: readonly string[];
  token: string;
  virtualRouterId: number;
  /**
   * Handing over: the taker's own priority. The giver's adverts at or above
   * it are still accepted (the last one starts the taker's master-down
   * timer); the first one below it shows that the giver's priority dropped.
   */
  below?: number;
  /**
   * Taking back: the command that raises this (the taker's) priority, run
   * `raiseAtMs` after an advert of the giver arrived, so that this advert is
   * the last one accepted and the timer's start is known.
   */
  raise?: string;
  /**
   * How long after that advert the raise runs: half an advert interval
   * gives keepalived as long to have taken that advert (raised just after
   * it, a busy keepalived read the track file first and discarded it: the
   * takeover came an interval early, the trigger after it) as the next one
   * is away. @default 0
   */
  raiseAtMs?: number;
  /** When to send the trigger, in ms after that last accepted advert. */
  atMs: number;
  /** Not sent when it is later than this after that advert: too near the takeover to lead it. */
  latestMs: number;
  /** The bound on waiting for adverts, in seconds (each half). */
  seconds: number;
  /** @default QUIESCE_PORT */
  port?: number;
}

/** The taker's own nft table: logs this VRID's adverts to the kernel log, where the cue is read. */
const CUE_TABLE = 'ip play_cue';

/** Shell functions for both cue commands: µs now (`now` → $nowus) and back to "S.UUUUUU" (`ep VAR US`), without a subshell. */
const CUE_PRELUDE = [
  'now() { local f=${EPOCHREALTIME#*.}000000; nowus=$(( ${EPOCHREALTIME%.*} * 1000000 + 10#${f:0:6} )); }',
  'ep() { printf -v "$1" %d.%06d $(( $2 / 1000000 )) $(( $2 % 1000000 )); }',
  // A /dev/kmsg record is "LEVEL,SEQ,MICROSECONDS,FLAGS;TEXT": its kernel time into $k.
  'ktime() { k=${rec#*,}; k=${k#*,}; k=${k%%,*}; }',
];
/** Our mark in the kernel log: the token and the epoch µs at which it was written. */
const cueMark = (token: string, us: string) => `"play-cue-mark "${quote(token)}" ${us}"`;
/** Where the setup's forwarder passes the kernel log on to the cue (and its PID): one per token. */
const cueFiles = (token: string) => ({ fifo: `/run/play-cue.${token}`, pid: `/run/play-cue.${token}.pid` });

/**
 * First half of the taker's cue, run before the priorities change: an nft
 * rule on this director logs every advert of `virtualRouterId` to the
 * kernel log with its arrival time (with `below`: split into those at or
 * above that priority, `hi`, and below it, `lo`); a mark of ours is written
 * there; and a forwarder (`cat`, bounded by `timeout`) passes every record
 * after the mark to a fifo for the second half, so that it reads the news
 * at once instead of the whole log again. Prints the mark's epoch µs, the
 * kernel clock's offset to this one and the arrival of the first advert
 * after the mark, once there is one (the track file may change then), or
 * nothing: no IPVS, nft, kernel log or advert, and the VIP then moves
 * without a quiesce (when nft refused the rules, stderr says so).
 */
export function quiesceCueSetupCommand(c: Pick<QuiesceCue, 'token' | 'virtualRouterId' | 'below' | 'seconds'>): string {
  // 112, not `vrrp`: a host without /etc/protocols (netbase, a Recommends of nftables) refuses the name.
  const advert = `ip protocol 112 @th,8,8 ${Math.trunc(c.virtualRouterId)} fib saddr type != local`;
  const rules = c.below === undefined
    ? [`${advert} log prefix "play-cue hi " level notice`]
    : [`${advert} @th,16,8 >= ${Math.trunc(c.below)} log prefix "play-cue hi " level notice`, `${advert} @th,16,8 < ${Math.trunc(c.below)} log prefix "play-cue lo " level notice`];
  const ruleset = [`table ${CUE_TABLE}`, `delete table ${CUE_TABLE}`, `table ${CUE_TABLE} {`, '  chain in {', '    type filter hook input priority -300; policy accept;', ...rules.map((r) => `    ${r}`), '  }', '}'].join('\n');
  const { fifo, pid } = cueFiles(c.token);
  const script = [
    ...CUE_PRELUDE,
    `[ -e /proc/net/ip_vs ] && command -v nft >/dev/null 2>&1 || exit 0`,
    // Refused rules mean no quiesce: said on stderr (the move goes on without one), never silently.
    `err=$(nft -f - 2>&1 <<'PLAY_NFT'\n${ruleset}\nPLAY_NFT\n) || { printf 'nft refused the cue rules: %s\\n' "$err" >&2; exit 0; }`,
    'exec 8</dev/kmsg || exit 0',
    `now; m=$nowus; echo ${cueMark(c.token, '$m')} >/dev/kmsg`,
    `while read -r -t 5 -u 8 rec; do case $rec in *${cueMark(c.token, '$m')}) ktime; off=$(( m - k )); break;; esac; done`,
    '[ -n "$off" ] || exit 0',
    // The same open file goes on where this shell stopped reading.
    `rm -f ${fifo}; mkfifo -m 0600 ${fifo} || exit 0`,
    `setsid timeout 120 sh -c ${quote(`exec 7<>${fifo}; exec cat >&7`)} <&8 >/dev/null 2>&1 & echo $! > ${pid}`,
    `exec 6<${fifo}`,
    `while read -r -t ${Math.ceil(c.seconds)} -u 6 rec; do case $rec in *"play-cue "*) ktime; echo "$m $off $(( k + off ))"; exit 0;; esac; done`,
  ].join('\n');
  return `bash -c ${quote(script)}`;
}

/** Remove the taker's cue: its table, its forwarder (by PID) and fifo; a no-op when there is none. */
export function quiesceCueCleanupCommand(token: string): string {
  const { fifo, pid } = cueFiles(token);
  return `nft delete table ${CUE_TABLE} 2>/dev/null; [ -s ${pid} ] && kill "$(cat ${pid})" 2>/dev/null; rm -f ${fifo} ${pid}; true`;
}

/**
 * Taking back, when the raise took effect is not known to the ms: keepalived
 * applies the track file when its event loop reads the inotify event, and
 * the shell may resume late after the command. An advert counts as
 * accepted when it arrived before the raise began plus this, or before it
 * ended plus {@link RAISE_END_MARGIN_MS}, whichever is later. Counting one
 * too many only makes the trigger late (no quiesce); one too few makes it a
 * whole advert interval early, and a client whose SYN it dropped sends it
 * again into the takeover itself (CI: 4 of 3,701 requests failed). Measured
 * from the end alone (+250 ms), a raise whose shell resumed late counted
 * the next advert, which keepalived had discarded: the trigger an interval
 * late, three times in one lab run.
 */
export const RAISE_MARGIN_MS = 250;
/** See {@link RAISE_MARGIN_MS}. */
export const RAISE_END_MARGIN_MS = 50;

/**
 * Second half of the taker's cue: from what `quiesceCueSetupCommand`
 * printed (`setup`), find when the giver's last accepted advert arrived
 * (keepalived's master-down timer runs from it: handing over, the last `hi`
 * before the first `lo`; taking back, the last advert that arrived before
 * `raise` took effect, within {@link RAISE_MARGIN_MS}: `raise` runs half
 * an interval after one, but on a busy host the next can come first), and send the
 * giver its trigger `atMs` after it. The adverts come with the kernel's
 * own arrival times (keepalived's journal lines reached a
 * reader 1.6–4.3 s late on a busy lab host, too late to lead a takeover
 * 2.6 s away), and from the anchor on only bash builtins run (`read -t` on
 * an idle fifo as the sleep, a `/dev/udp` redirection): nothing to start
 * late on a busy host. Without a setup only `raise` runs. Prints the epoch
 * seconds of the anchor, of reading it, and of the trigger leaving (`-`:
 * not sent), or `none`; exit 4 when `raise` failed.
 */
export function quiesceCueCommand(c: QuiesceCue & { setup: string }): string {
  const udps = (c.vips?.length ? c.vips : [c.vip]).map((v) => `/dev/udp/${v}/${c.port ?? QUIESCE_PORT}`);
  const raise = c.raise === undefined ? [] : [`{ ${c.raise}\n} || exit 4`];
  // What the setup printed (or, to show the shell, "$MARK $OFF $FIRST").
  const setup = /^(\d+|\$MARK) (-?\d+|\$OFF) (\d+|\$FIRST)$/.exec(c.setup.trim());
  if (!setup) return [...raise, 'echo none'].join('\n');
  const [, , off, first] = setup;
  const { fifo } = cueFiles(c.token);
  const script = [
    ...CUE_PRELUDE,
    `trap ${quote(quiesceCueCleanupCommand(c.token))} EXIT`,
    'f=/run/play-cue-sleep.$$; rm -f "$f"; mkfifo "$f" && exec 9<>"$f"; rm -f "$f"',
    `off=${off}; cue=1; exec 8<>${fifo} || cue=0`,
    // Learn the VIP's MAC now (a payload the giver's table lets by), so that the trigger leaves at once later.
    `[ "$cue" = 0 ] || { ${udps.map((u) => `printf warm 2>/dev/null >${u};`).join(' ')} }`,
    `now; end=$(( nowus + ${Math.ceil(c.seconds)} * 1000000 )); anchor=`,
    // The next advert logged, its arrival on this clock in $at; 1 when none came in time.
    'next() { while now; [ "$cue" = 1 ] && [ "$nowus" -lt "$end" ]; do ep t $(( end - nowus )); read -r -t "$t" -u 8 rec || return 1; case $rec in *"play-cue "*) ktime; at=$(( k + off )); return 0;; esac; done; return 1; }',
    ...(c.raise !== undefined
      ? [
        // Past the adverts logged already; the next one to come is the last this director accepts.
        'while [ "$cue" = 1 ] && read -r -t 0 -u 8; do read -r -u 8 rec || break; done',
        'if next; then anchor=$at; fi',
        // Not at once: keepalived takes the advert in its own time (the adverts coming meanwhile stay in the fifo for below).
        ...(c.raiseAtMs ? [`if [ -n "$anchor" ]; then while now; w=$(( anchor + ${Math.round(c.raiseAtMs * 1000)} - nowus )); [ "$w" -gt 0 ]; do ep t "$w"; read -r -t "$t" -u 9 _; done; fi`] : []),
        'now; began=$nowus',
        ...raise,
        // Adverts that arrived before the raise took effect were accepted too: until one arrives after it, each moves the anchor.
        `now; raised=$(( began + ${RAISE_MARGIN_MS * 1000} )); [ $(( nowus + ${RAISE_END_MARGIN_MS * 1000} )) -gt "$raised" ] && raised=$(( nowus + ${RAISE_END_MARGIN_MS * 1000} )); settled=0`,
      ]
      : [`anchor=${first}`, 'while next; do case $rec in *"play-cue lo "*) lo=1; break;; *) anchor=$at;; esac; done', '[ -n "$lo" ] || anchor=', 'settled=1']),
    '[ -n "$anchor" ] || { echo none; exit 0; }',
    'now; seen=$nowus; sent=-',
    // An anchor from the future, or older than the bound, is not one this move can trust (seen once: 444 ms ahead).
    `if [ "$anchor" -gt "$nowus" ] || [ $(( nowus - anchor )) -gt ${Math.ceil(c.seconds) * 2 * 1000000} ]; then ep a "$anchor"; ep s "$seen"; echo "$a $s -"; exit 0; fi`,
    // Read in time to lead the takeover: wait for the aim, then send (a sleep that ends late still sends, what it holds back is held back before the takeover).
    `if [ $(( anchor + ${Math.round(c.latestMs * 1000)} - nowus )) -gt 0 ]; then`,
    // Until the aim, however often a sleep ends early (seen once: 900 ms early); taking back, the sleep listens for adverts that move the anchor (only later).
    `  while now; w=$(( anchor + ${Math.round(c.atMs * 1000)} - nowus )); [ "$w" -gt 0 ]; do ep t "$w"`,
    '    if [ "$settled" = 1 ]; then read -r -t "$t" -u 9 _',
    '    elif read -r -t "$t" -u 8 rec; then case $rec in *"play-cue "*) ktime; at=$(( k + off )); if [ "$at" -lt "$raised" ]; then anchor=$at; now; seen=$nowus; else settled=1; fi;; esac; fi',
    '  done',
    `  ${udps.map((u) => `printf %s ${quote(c.token)} 2>/dev/null >${u};`).join(' ')} now; ep sent "$nowus"`,
    'fi',
    'ep a "$anchor"; ep s "$seen"; echo "$a $s $sent"',
  ].join('\n');
  return `bash -c ${quote(script)}`;
}

/** The epoch seconds keepalived here logged entering MASTER, first after `since` (epoch seconds); empty when it did not. */
export function takeoverLoggedCommand(since: number): string {
  return `journalctl -u keepalived -o short-unix --since @${since.toFixed(6)} --no-pager 2>/dev/null | sed -n '/Entering MASTER STATE/{s/ .*//p;q}'`;
}

/**
 * `keepalived --config-test` of the file `%s`, as a file task's `validate`.
 * keepalived 2.2.7 (Debian 12) kills itself (SIGTERM, exit 143, no message)
 * testing any config whose script runs as another user — a MISC_CHECK's or a
 * vrrp_script's `user` — because it compares its parent's PID with a main
 * PID that is never set in test mode (acassen/keepalived#2587, fixed in
 * 2.2.8 by aae8e91). Run as the first process of a new PID namespace, its
 * parent's PID reads 0 and equals that unset one; where namespaces are not
 * allowed (an unprivileged container), the plain test runs.
 */
export const KEEPALIVED_CONFIG_TEST = '{ if unshare --pid --fork true 2>/dev/null; then unshare --pid --fork keepalived --config-test -f %s; else keepalived --config-test -f %s; fi; }';

/** Does this director hold `vip` on `iface`? Exit 0 when it does. */
export function holdsVipCommand(vip: string, iface: string): string {
  return `ip -o -4 addr show dev ${quote(iface)} 2>/dev/null | grep -q ${quote(` ${vip}/`)}`;
}

/**
 * Shell for applying a keepalived config to a running director, each
 * command confirming its own result on the host (no extra round trip).
 */

const JOURNAL = 'journalctl -u keepalived -n 20 --no-pager >&2';
const IPVS_FLAG: Record<string, string> = { DR: '-g', NAT: '-m', TUN: '-i' };
/** `-t VIP:PORT` (or `-u`): the flag is ours, the address is quoted. */
const serviceArg = (vs: KaVirtualServer) => `${vs.protocol === 'UDP' ? '-u' : '-t'} ${quote(`${vs.address}:${vs.port}`)}`;

/**
 * Exit 0 when every virtual server's live IPVS entry has the config's
 * scheduler and each listed real server the config's weight (or 0: drained),
 * and no real server the config dropped is still listed. A sorry server
 * may be listed, with any weight: it is, while every real server is down.
 */
export function ipvsMatches(c: KaConfig): string {
  return c.virtualServers.map((vs) => {
    const want = [...vs.reals.map((r) => `${r.address}:${r.port}=${r.weight}`), ...(vs.sorry ? [`${vs.sorry}=*`] : [])].join(' ');
    // Service line: "TCP  VIP:PORT rr"; real lines: "-> ADDR:PORT Route WEIGHT ACTIVE INACT".
    const awk = `BEGIN{n=split(w,a," ");for(i=1;i<=n;i++){split(a[i],kv,"=");want[kv[1]]=kv[2]}}
$1 ~ /^(TCP|UDP)$/ {seen=1; if ($3 != s) bad=1}
$1=="->" && $2 != "RemoteAddress:Port" {if (!($2 in want)) bad=1; else if (want[$2] != "*" && $4 != want[$2] && $4 != 0) bad=1}
END{exit (bad || !seen)}`;
    return `ipvsadm -Ln ${serviceArg(vs)} 2>/dev/null | ${sh`awk -v w=${want} -v s=${vs.scheduler} ${awk}`}`;
  }).join(' && ') || 'true';
}

/** Poll `cond` every 0.2 s for up to `seconds`; on timeout print `why` and fail. */
function waitFor(cond: string, seconds: number, why: string): string {
  const polls = Math.ceil(seconds * 5);
  return `n=0; until ${cond}; do n=$((n+1)); if [ "$n" -ge ${polls} ]; then echo ${quote(why)} >&2; exit 1; fi; sleep 0.2; done`;
}

/**
 * `systemctl reload keepalived` (SIGHUP), then proof that the new config is
 * live: keepalived logged "Reload complete" after our mark, it is the same
 * process (a reload, not a restart), and where IPVS exists the table shows
 * the new scheduler and weights.
 */
export function reloadCommand(after: KaConfig, seconds = 20): string {
  return [
    `cur=$(journalctl -u keepalived -n 0 --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p')`,
    'pid=$(systemctl show -p MainPID --value keepalived)',
    `systemctl reload keepalived || { rc=$?; ${JOURNAL}; exit "$rc"; }`,
    `if [ -n "$cur" ]; then ${waitFor(`journalctl -u keepalived --after-cursor "$cur" --no-pager 2>/dev/null | grep -q 'Reload complete'`, seconds, `keepalived did not report "Reload complete" within ${seconds} s`)}; else sleep 1; fi`,
    `if [ "$(systemctl show -p MainPID --value keepalived)" != "$pid" ] || [ "$(systemctl is-active keepalived)" != active ]; then echo "keepalived is not the same running process after the reload" >&2; ${JOURNAL}; exit 1; fi`,
    `if ipvsadm -Ln >/dev/null 2>&1; then ${waitFor(`{ ${ipvsMatches(after)}; }`, 10, 'the IPVS table does not show the new config 10 s after the reload')}; fi`,
  ].join('\n');
}

/**
 * Run `inner` (a reload that replaces the VRRP instance, see
 * `replacedInstances`) with every VIP this director holds on `iface` also
 * held on `lo` meanwhile: the old instance removes the VIPs at once and the
 * new one takes them only after a master-down interval, and while a VIP is
 * local here IPVS goes on serving it, the clients' ARP entries still
 * pointing here (and this host answering new ARP requests for it). Ends
 * once each VIP is back on `iface` (fails after `seconds`); the `lo` copies
 * go whatever happens, so no director keeps a VIP it does not announce.
 */
export function vipsBridgedCommand(vips: readonly string[], iface: string, inner: string, seconds: number): string {
  const held = (dev: string) => `ip -o -4 addr show dev ${quote(dev)} 2>/dev/null | grep -q " $v/"`;
  return [
    'bridged=',
    `for v in ${vips.map(quote).join(' ')}; do if ${held(iface)} && ! ${held('lo')}; then ip addr add "$v/32" dev lo && bridged="$bridged $v"; fi; done`,
    `trap 'for v in $bridged; do ip addr del "$v/32" dev lo 2>/dev/null; done' EXIT`,
    `announced() { for v in $bridged; do ${held(iface)} || return 1; done; }`,
    inner,
    waitFor('announced', seconds, `the new VRRP instance did not take the VIPs within ${seconds} s of the reload`),
    'for v in $bridged; do ip addr del "$v/32" dev lo; done; bridged=',
  ].join('\n');
}

/**
 * Take a real server out of IPVS gently before keepalived forgets it:
 * weight 0 (no new connections), then wait until its active connections
 * end. Fails when they do not end in time: removing it then would cut them.
 */
export function drainCommand(vs: KaVirtualServer, real: KaRealServer, forwarding: string, seconds: number): string {
  const dest = `${real.address}:${real.port}`;
  const active = `ipvsadm -Ln ${serviceArg(vs)} 2>/dev/null | ${sh`awk -v d=${dest}`} '$1=="->" && $2==d {print $5}'`;
  return [
    `a=$(${active})`,
    // Not in the table (no IPVS, or its health check already removed it): nothing to drain.
    'if [ -z "$a" ]; then exit 0; fi',
    `ipvsadm -e ${serviceArg(vs)} -r ${quote(dest)} ${IPVS_FLAG[forwarding] ?? '-g'} -w 0`,
    waitFor(`[ "$(${active})" = 0 ] || [ -z "$(${active})" ]`, seconds, `${dest} still has active connections ${seconds} s after weight 0; not removing it`),
  ].join('\n');
}

/**
 * Marks a BACKUP that stopped keepalived for new shared VRRP settings, so
 * that it starts again only once the MASTER runs them. In /run: a reboot
 * forgets it, as it forgets that keepalived was stopped.
 */
export const LEFT_MARK = '/run/play/keepalived-left-vrrp';

/** Did this director leave VRRP for new shared settings? */
export const leftVrrp = fact('keepalived:left-vrrp', `test -e ${LEFT_MARK} && echo yes || echo no`, (out) => out.trim() === 'yes');

/**
 * Stop keepalived (confirmed) and leave the mark; `handedOver`: the
 * director gave its VIPs away first (its handover offset is play's, to be
 * undone when it rejoins).
 */
export function leaveCommand(handedOver = false): string {
  return [`mkdir -p /run/play && ${handedOver ? `echo handover > ${LEFT_MARK}` : `: > ${LEFT_MARK}`}`, systemctlCommand('keepalived', 'stop')].join('\n');
}

/**
 * Before a director that left VRRP starts again: it starts with the
 * handover offset (priority 1), so it cannot take an instance it is MASTER
 * of by preemption, unannounced; prints `handback` when the rejoin must
 * then take its instances back (the offset is play's: it was 0, or set
 * when it left), `keep` for an offset of the operator's own (play
 * handover), `stay` when it did not leave.
 */
export function rejoinPrepareCommand(): string {
  return [
    `if [ -e ${LEFT_MARK} ]; then`,
    `  o=$(cat ${HANDOVER_FILE} 2>/dev/null); o=\${o:-0}`,
    `  if [ "$o" = 0 ] || grep -qx handover ${LEFT_MARK}; then ${handoverCommand(HANDOVER_OFFSET)} && echo handback; else echo keep; fi`,
    'else echo stay; fi',
  ].join('\n');
}

/** Start keepalived (confirmed) and remove the mark; with `onlyIfLeft`, only on a director that left. */
export function rejoinCommand(onlyIfLeft = false): string {
  const body = `( ${systemctlCommand('keepalived', 'start')}
) && rm -f ${LEFT_MARK}`;
  return onlyIfLeft ? `if [ -e ${LEFT_MARK} ]; then ${body}; fi` : body;
}

/** Is IPVS loaded (its sysctls exist)? keepalived loads it as it starts. */
export const ipvsLoaded = fact('kernel:ipvs-loaded', 'test -d /proc/sys/net/ipv4/vs && echo yes || echo no', (out) => out.trim() === 'yes');

/**
 * Does this kernel have IPVS (loaded, a module to load, or built in)? A
 * config for a kernel without it leaves out what needs it: keepalived's
 * VRRP process dies on `lvs_sync_daemon` there (seen on the container lab).
 */
export const ipvsKernel = fact('kernel:ipvs', [
  'k=/lib/modules/"$(uname -r)"',
  `if [ -e /proc/net/ip_vs ] || ls "$k"/kernel/net/netfilter/ipvs/ip_vs.ko* >/dev/null 2>&1 || grep -qs '/ip_vs.ko' "$k"/modules.builtin; then echo yes; else echo no; fi`,
].join('; '), (out) => out.trim() === 'yes');
