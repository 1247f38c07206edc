/**
 * The first run's floor (#17): the seed's end state written as one shell
 * script per host, each sent over one OpenSSH connection, all hosts at once
 * — no ordering between hosts, no health waits, no checks but `set -e`. What
 * play's first run is measured against (`firstFloor` in the results).
 *
 * The same run gives a second figure, the floor until the cluster serves
 * (`firstFloorServing`): each VRRP instance's MASTER, its script done, also
 * waits until it holds the instance's VIPs — keepalived's first election,
 * which play's health gate waits for and the scripts' end does not. The
 * scripts' end is read off a mark the MASTER prints before that wait.
 *
 * The scripts write the bytes play renders (its templates, rendered here
 * from play's compiled plan of the seed: both kernels' keepalived.conf, the
 * host picks by whether it has IPVS), so the hosts end byte for byte as
 * after play's run; the benchmark checks that they do.
 */
import { compile } from '../lib/engine/compile.ts';
import { quote } from '../lib/core/shell.ts';
import { renderTemplate } from '../lib/tasks/render-template.ts';
import type { LabProfile } from '../lib/lab/index.ts';
import seed from '../inventory/inventory.ts';
import site from '../playbooks/site.ts';
import { LVS_PACKAGES } from '../roles/lvs/packages.ts';
import { instancesOf } from '../roles/lvs/cluster.ts';
import { timed, type Timed } from './measure.ts';

/** One heredoc that writes `text` to `path` with `mode`, root's. */
function writeFile(path: string, text: string, mode: string): string {
  const end = 'PLAY_FLOOR_EOF';
  if (text.includes(end)) throw new Error(`${path}: the rendered text contains the heredoc's end marker`);
  return `install -d ${quote(path.slice(0, path.lastIndexOf('/')) || '/')}\ncat > ${quote(path)} <<'${end}'\n${text.endsWith('\n') ? text : `${text}\n`}${end}\nchmod ${mode} ${quote(path)}; chown root:root ${quote(path)}`;
}

/** The rendered files play's seed plan writes on each host: path → { text, or per kernel, mode }. */
function renderedFiles(): Record<string, Array<{ path: string; mode: string; text?: string; ipvs?: string; noIpvs?: string }>> {
  const out: Record<string, Array<{ path: string; mode: string; text?: string; ipvs?: string; noIpvs?: string }>> = {};
  for (const play of compile(site, seed).plays) {
    for (const w of play.work) {
      for (const { task } of w.tasks) {
        const p = task.params as { src?: URL | string; dest?: string; mode?: string; vars?: Record<string, unknown> };
        if (task.kind === 'template' && p.src !== undefined && p.dest) {
          const r = renderTemplate(p.src, { ...w.host.vars, ...p.vars });
          if (!r.ok) throw new Error(`${w.host.name} ${p.dest}: ${r.message}`);
          (out[w.host.name] ??= []).push({ path: p.dest, mode: p.mode ?? '0644', text: r.text });
        } else if (task.kind === 'keepalived' && p.src !== undefined) {
          const both = [true, false].map((ipvsKernel) => renderTemplate(p.src!, { ...w.host.vars, ...p.vars, ipvsKernel }));
          const [ipvs, noIpvs] = both.map((r) => { if (!r.ok) throw new Error(`${w.host.name} keepalived.conf: ${r.message}`); return r.text; });
          (out[w.host.name] ??= []).push({ path: p.dest ?? '/etc/keepalived/keepalived.conf', mode: '0640', ipvs, noIpvs });
        }
      }
    }
  }
  return out;
}

const APT = 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';
const IPVS = 'k=/lib/modules/"$(uname -r)"; [ -e /proc/net/ip_vs ] || ls "$k"/kernel/net/netfilter/ipvs/ip_vs.ko* >/dev/null 2>&1 || grep -qs /ip_vs.ko "$k"/modules.builtin';

/** What a MASTER prints when its script's work is done, before it waits for its VIPs. */
export const DONE_MARK = 'PLAY_FLOOR_DONE';
/** The longest a MASTER waits for its VIPs, s: keepalived's first election takes about 3 advert intervals. */
const SERVING_WAIT_S = 30;

/** The wait a MASTER's script ends with: every VIP of the instances it is MASTER of on its interface, polled every 50 ms. */
function servingWait(iface: string, vips: readonly string[]): string[] {
  const held = vips.map((v) => `ip -o -4 addr show dev ${quote(iface)} | grep -qF ${quote(` ${v}/`)}`).join(' && ');
  return [
    `echo ${DONE_MARK}`,
    `n=0; until ${held}; do n=$((n+1)); [ "$n" -le ${SERVING_WAIT_S * 20} ] || { echo 'no VIP after ${SERVING_WAIT_S} s' >&2; exit 1; }; sleep 0.05; done`,
  ];
}

/** Each seed host's script: what site.ts's director and realserver roles leave there, as plain shell. */
export function floorScripts(): Record<string, string> {
  const files = renderedFiles();
  const out: Record<string, string> = {};
  const cluster = seed.vars.cluster;
  const masterVips = (name: string) => instancesOf(cluster).filter((i) => i.master === name).flatMap((i) => i.vips);
  for (const h of seed.hosts) {
    const mine = files[h.name] ?? [];
    const plain = mine.filter((f) => f.text !== undefined).map((f) => writeFile(f.path, f.text!, f.mode));
    const lines = ['set -e'];
    if (h.groups.includes('directors')) {
      const ka = mine.find((f) => f.ipvs !== undefined)!;
      lines.push(
        `${APT} ${LVS_PACKAGES.director.join(' ')} >/dev/null`,
        `if ${IPVS}; then`, writeFile(ka.path, ka.ipvs!, ka.mode), 'else', writeFile(ka.path, ka.noIpvs!, ka.mode), 'fi',
        `keepalived --config-test -f ${ka.path}`,
        'systemctl enable -q keepalived; systemctl restart keepalived',
        "printf 'ip_vs\\n' > /etc/modules-load.d/lvs-director.conf; chmod 0644 /etc/modules-load.d/lvs-director.conf",
        'modprobe ip_vs 2>/dev/null || true',
        'if [ -d /proc/sys/net/ipv4/vs ]; then',
        "  printf 'net.ipv4.vs.expire_nodest_conn = 1\\nnet.ipv4.vs.sync_threshold = 2 0\\nnet.ipv4.vs.sync_refresh_period = 2\\n' > /etc/sysctl.d/90-lvs-director.conf",
        '  sysctl -q -p /etc/sysctl.d/90-lvs-director.conf',
        ...plain,
        '  systemctl daemon-reload; systemctl enable -q --now lvs-director-no-rst',
        'fi',
      );
      const vips = masterVips(h.name);
      if (vips.length) lines.push(...servingWait(cluster.interface, vips));
    } else {
      lines.push(
        `${APT} ${LVS_PACKAGES.realserver.join(' ')} >/dev/null`,
        "printf 'net.ipv4.conf.lo.arp_ignore = 1\\nnet.ipv4.conf.lo.arp_announce = 2\\nnet.ipv4.conf.all.arp_ignore = 1\\nnet.ipv4.conf.all.arp_announce = 2\\n' > /etc/sysctl.d/90-lvs-realserver.conf",
        'sysctl -q -p /etc/sysctl.d/90-lvs-realserver.conf',
        ...plain,
        'systemctl daemon-reload; systemctl enable -q --now lvs-vip nginx',
      );
    }
    out[h.name] = `${lines.join('\n')}\n`;
  }
  return out;
}

/**
 * Run every host's script at once, one `ssh HOST bash -s` each: `ms` until
 * every script's work is done (a MASTER's at its mark), `servingMs` until
 * every script has ended (the MASTERs holding their VIPs), and each run (a
 * failed one voids the sample).
 */
export async function runFloor(lab: LabProfile): Promise<{ ms: number; servingMs: number; runs: Record<string, Timed> }> {
  const scripts = floorScripts();
  const ssh = ['-i', lab.identityFile, '-o', `UserKnownHostsFile=${lab.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none'];
  const t0 = performance.now();
  const done: number[] = [];
  const runs = await Promise.all(seed.hosts.map(async (h) => {
    let seen = '';
    let mark: number | undefined;
    const onStdout = (text: string) => {
      seen += text;
      if (mark === undefined && seen.includes(DONE_MARK)) mark = performance.now();
    };
    const t = await timed('ssh', [...ssh, `root@${h.address}`, 'bash -s'], { input: scripts[h.name]!, onStdout });
    done.push((mark ?? performance.now()) - t0);
    return [h.name, t] as const;
  }));
  return { ms: Math.round(Math.max(...done)), servingMs: Math.round(performance.now() - t0), runs: Object.fromEntries(runs) };
}
