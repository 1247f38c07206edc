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

/** The quiesce rule's tc preference (the no-RST unit's egress rule is 4242). */
const QUIESCE_PREF = 4243;
/**
 * How long the quiesce rule lives: short of the client's 1 s SYN
 * retransmission, with room for a slow host to remove it late (measured on
 * the lab under load: a 700 ms rule removed through two more processes
 * outlived the retransmission, and 2 requests failed).
 */
export const QUIESCE_FOR_MS = 550;

/**
 * Just before the VIP leaves this director: stop taking new TCP connections
 * to it. IPVS replicates a connection only once it is ESTABLISHED, so a
 * handshake begun here whose ACK reaches the next holder is lost there (the
 * client's request then times out: measured, 1 of 141 requests in a
 * handback). New SYNs are dropped instead; handshakes in flight finish here.
 * The rule removes itself after `forMs` (below 1 s), on this host,
 * whatever becomes of the caller: a client whose SYN was dropped sends it
 * again 1 s later (Linux's first retransmission), and that one is never
 * dropped — it reaches the new holder, or this director taking connections
 * again if the VIP has not moved yet. Nothing to do on a kernel without
 * IPVS running.
 */
export function quiesceCommand(vip: string, iface: string, o: { afterMs?: number; forMs?: number } = {}): string {
  const dev = quote(iface);
  const rule = `tc filter replace dev ${dev} ingress pref ${QUIESCE_PREF} handle 1 protocol ip flower ip_proto tcp dst_ip ${quote(vip)} tcp_flags 0x2/0x12 action drop`;
  return [
    '[ -e /proc/net/ip_vs ] || exit 0',
    ...(o.afterMs ? [`sleep ${(o.afterMs / 1000).toFixed(3)}`] : []),
    // One command on time; clsact is there already where the no-RST unit runs.
    `${rule} 2>/dev/null || { tc qdisc add dev ${dev} clsact 2>/dev/null; ${rule}; } || exit`,
    // As few processes as can be between the sleep and the delete: each one started late on a busy host makes the rule live longer.
    `setsid sh -c ${quote(`sleep ${((o.forMs ?? QUIESCE_FOR_MS) / 1000).toFixed(3)}; exec tc filter del dev ${dev} ingress pref ${QUIESCE_PREF}`)} </dev/null >/dev/null 2>&1 &`,
    `logger -t play ${quote(`new connections to ${vip} held back: the VIP is moving`)} 2>/dev/null || true`,
  ].join('\n');
}

/** keepalived's journal cursor now (empty without journald): where {@link preemptSeenCommand} starts reading. */
export const JOURNAL_CURSOR = `journalctl -u keepalived -n 0 --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p'`;

/**
 * Wait (at most `seconds`) until keepalived here discards an advert of lower
 * priority than its own, logged after `cursor`: the first advert of a MASTER
 * whose priority dropped below ours. Follows the journal (no polling delay).
 * Prints this host's epoch seconds of the log line and of seeing it; exits
 * 1 when none came.
 */
export function preemptSeenCommand(cursor: string, seconds: number): string {
  return [
    'f=/run/play-preempt.$$; rm -f "$f"; mkfifo "$f" || exit 1',
    `timeout ${Math.ceil(seconds)} journalctl -u keepalived --after-cursor ${quote(cursor)} -f -o short-unix --no-pager >"$f" 2>/dev/null & j=$!`,
    `rc=1; while IFS= read -r l; do case $l in *'received lower priority'*) echo "\${l%% *} $(date +%s.%N)"; rc=0; break;; esac; done <"$f"`,
    'kill "$j" 2>/dev/null; rm -f "$f"; exit "$rc"',
  ].join('\n');
}

/** Take new connections again (see {@link quiesceCommand}); a no-op when there is no rule. */
export function unquiesceCommand(iface: string): string {
  const dev = quote(iface);
  // The journal keeps how many SYNs waited (each client retried once, 1 s later).
  return `n=$(tc -s filter show dev ${dev} ingress pref ${QUIESCE_PREF} 2>/dev/null | awk '/Sent/ {print $4; exit}'); tc filter del dev ${dev} ingress pref ${QUIESCE_PREF} 2>/dev/null && logger -t play "new connections taken again (\${n:-0} held back)" 2>/dev/null; true`;
}

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
 * and no real server the config dropped is still listed.
 */
export function ipvsMatches(c: KaConfig): string {
  return c.virtualServers.map((vs) => {
    const want = vs.reals.map((r) => `${r.address}:${r.port}=${r.weight}`).join(' ');
    // Service line: "TCP  VIP:PORT rr"; real lines: "-> ADDR:PORT Route WEIGHT ACTIVE INACT".
    const awk = `BEGIN{n=split(w,a," ");for(i=1;i<=n;i++){split(a[i],kv,"=");want[kv[1]]=kv[2]}}
$1 ~ /^(TCP|UDP)$/ {seen=1; if ($3 != s) bad=1}
$1=="->" && $2 != "RemoteAddress:Port" {if (!($2 in want)) bad=1; else if ($4 != want[$2] && $4 != 0) bad=1}
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

/** Stop keepalived (confirmed) and leave the mark. */
export function leaveCommand(): string {
  return [`mkdir -p /run/play && : > ${LEFT_MARK}`, systemctlCommand('keepalived', 'stop')].join('\n');
}

/** Start keepalived (confirmed) and remove the mark; with `onlyIfLeft`, only on a director that left. */
export function rejoinCommand(onlyIfLeft = false): string {
  const body = `( ${systemctlCommand('keepalived', 'start')}
) && rm -f ${LEFT_MARK}`;
  return onlyIfLeft ? `if [ -e ${LEFT_MARK} ]; then ${body}; fi` : body;
}

/**
 * Does this kernel have IPVS (loaded, a module to load, or built in)? A
 * config for a kernel without it leaves out what needs it: keepalived's
 * VRRP process dies on `lvs_sync_daemon` there (seen on the container lab).
 */
export const ipvsKernel = fact('kernel:ipvs', [
  'k=/lib/modules/"$(uname -r)"',
  `if [ -e /proc/net/ip_vs ] || ls "$k"/kernel/net/netfilter/ipvs/ip_vs.ko* >/dev/null 2>&1 || grep -qs '/ip_vs.ko' "$k"/modules.builtin; then echo yes; else echo no; fi`,
].join('; '), (out) => out.trim() === 'yes');
