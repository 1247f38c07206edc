import { changes, noop, outline, type Change } from '../../lib/core/change.ts';
import { defineTask } from '../../lib/core/define-task.ts';
import { absolutePath, wholeNumber } from '../../lib/tasks/checks.ts';
import { TaskError } from '../../lib/core/errors.ts';
import { fileText } from '../../lib/tasks/file-facts.ts';
import { fileFacts, planFile } from '../../lib/tasks/file-plan.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import { systemctlCommand } from '../../lib/tasks/service-commands.ts';
import { serviceState } from '../../lib/tasks/service-facts.ts';
import { sh } from '../../lib/core/shell.ts';
import { liveHandoverStep, type LiveHandover } from './vip-handover.ts';
import {
  KEEPALIVED_CONFIG_TEST, vipsBridgedCommand,
  drainCommand, handoverOffset, HANDOVER_OFFSET, ipvsKernel, leaveCommand, leftVrrp, rejoinCommand, rejoinPrepareCommand, reloadCommand,
} from './keepalived-commands.ts';
import { parseKeepalived, rehomedVips, removedReals, rolloutOf, sharedOf, type RESTART_ONLY } from './keepalived-parse.ts';

/** Parameters of {@link keepalivedConfig}. */
export interface KeepalivedConfigParams {
  /** The keepalived.conf template (nunjucks), e.g. `new URL('./templates/keepalived.conf.njk', import.meta.url)`. */
  src: string | URL;
  /** Variables for the template; `ipvsKernel` (does the host's kernel have IPVS?) is added from the host. */
  vars: Readonly<Record<string, unknown>>;
  /** @default '/etc/keepalived/keepalived.conf' */
  dest?: string;
  /**
   * The cluster's MASTER (inventory name): it takes a change of the VRRP
   * settings all directors share by reload, after the BACKUPs left VRRP,
   * and then starts them again.
   */
  master: string;
  /** The other directors (inventory names). */
  peers: readonly string[];
  /** The interface that carries the VIPs. */
  interface: string;
  /** The VRRP advert interval (`cluster.advertInterval`): how long a VIP's new instance takes to claim it. */
  advertInterval: number;
  /** Seconds a removed real server may take to finish its connections. @default 30 */
  drainSeconds?: number;
  /**
   * Is this director MASTER of a VRRP instance in the new config? With
   * several instances (active/active) not only `master` is: each hands the
   * instances it is MASTER of over before a restart, or before it leaves
   * VRRP for new shared settings. @default this host is `master`
   */
  leads?: boolean;
}

const DEST = '/etc/keepalived/keepalived.conf';

/**
 * Start keepalived again on a director that left VRRP (`who`): with its
 * priority lowered first, so that an instance it is MASTER of in the new
 * config does not preempt unannounced, then its instances taken back as a
 * handback does (quiesced). An offset of the operator's own (play
 * handover) stays. Nothing happens on a director that did not leave.
 */
function rejoinSteps(live: LiveHandover, who: string, why: string): Change[] {
  const back = liveHandoverStep(live, who, 0, `${who} takes the VIPs it is MASTER of back`);
  return [{
    summary: `start keepalived on ${who} (${why}), its priority lowered until it takes the VIPs it is MASTER of back`,
    what: outline([[`on ${who}:`, rejoinPrepareCommand(), rejoinCommand()], ['then, unless the offset is the operator\'s:', back.what]]),
    apply: async (io) => {
      const r = io.self.host.name === who ? io.self : await io.host(who);
      const prep = await r.run(rejoinPrepareCommand());
      if (prep.code !== 0) return prep;
      const word = prep.stdout.trim();
      if (word === 'stay') return { code: 0, stdout: `${who} did not leave VRRP`, stderr: '' };
      const started = await r.run(rejoinCommand());
      return started.code !== 0 || word !== 'handback' ? started : back.apply(io);
    },
    failMessage: (res) => `could not start keepalived on ${who} again: ${(res.stderr || res.stdout).trim()}`,
  }];
}

/**
 * keepalived.conf, rolled out without dropping a request. The new file is
 * written atomically (checked with `keepalived --config-test` first); a
 * running keepalived then takes it by **reload** (SIGHUP: the VIP and the
 * IPVS table stay, new weights and real servers apply at once), confirmed
 * live on the host. Real servers the new config drops are drained first
 * (weight 0, until their connections end). A restart happens only for the
 * settings keepalived cannot change on reload ({@link RESTART_ONLY}: a
 * reload would keep the old config); a MASTER hands the VIP to a BACKUP
 * first (the handover track file) and takes it back after. When a VRRP setting every director must share
 * changes (advert_int, virtual_router_id, authentication, the VIPs), a
 * BACKUP leaves VRRP (keepalived stopped) until the MASTER runs the new
 * settings — directors that disagree ignore each other and both take the
 * VIP — and the next run of this task on it (the site playbook's last
 * director play) starts it again. A stopped keepalived is started.
 *
 * @example
 * ```ts
 * import { keepalivedConfig } from './keepalived-config.ts';
 * const conf = keepalivedConfig({
 *   src: new URL('./templates/keepalived.conf.njk', import.meta.url),
 *   vars: { routerId: 'LVS_MASTER' },
 *   master: 'LB1',
 *   peers: ['LB2'],
 *   interface: 'enp0s8',
 *   advertInterval: 1,
 * });
 * ```
 */
export const keepalivedConfig = defineTask<KeepalivedConfigParams>({
  kind: 'keepalived',
  keys: ['src', 'vars', 'dest', 'master', 'peers', 'interface', 'advertInterval', 'drainSeconds', 'leads'],
  required: ['src', 'vars', 'master', 'peers', 'interface', 'advertInterval'],
  name: (p) => `keepalived config ${p.dest ?? DEST}`,
  check: (p, host) => {
    const own = [...absolutePath('dest', p.dest), ...wholeNumber('drainSeconds', p.drainSeconds, 0, 3600, { unit: 'seconds' })];
    if (own.length) return own;
    const r = renderTemplate(p.src, { ...host.vars, ...p.vars, ipvsKernel: true });
    return r.ok ? [] : [{ field: 'src', message: r.message }];
  },
  facts: (p) => [...fileFacts(p.dest ?? DEST), fileText(p.dest ?? DEST), serviceState('keepalived', 'keepalived'), leftVrrp, ipvsKernel, handoverOffset],
  plan: async (p, ctx) => {
    const dest = p.dest ?? DEST;
    const task = `keepalived config ${dest}`;
    // The template sees whether this host's kernel has IPVS (`ipvsKernel`).
    const r = renderTemplate(p.src, { ...ctx.host.vars, ...p.vars, ipvsKernel: await ctx.fact(ipvsKernel) });
    if (!r.ok) throw new TaskError(ctx.host.name, task, r.message);
    const [old, st] = await Promise.all([ctx.fact(fileText(dest)), ctx.fact(serviceState('keepalived', 'keepalived'))]);
    const file = await planFile(ctx, { path: dest, state: 'file', content: r.text, mode: '0640', owner: 'root', validate: KEEPALIVED_CONFIG_TEST }, { task, before: old });
    const running = st.init === 'systemd' ? ['active', 'reloading'].includes(st.active) : st.running;
    const installed = st.init === 'systemd' ? st.load !== 'not-found' : st.script;
    const predicted = installed ? undefined : 'keepalived is not installed yet, expected from an earlier change';
    const start = (why = ''): Change => ({ summary: `start keepalived${why}`, exec: systemctlCommand('keepalived', 'start'), predicted });

    const isMaster = ctx.host.name === p.master;
    const live: LiveHandover = { directors: [ctx.host.name, ...p.peers], interface: p.interface, advertInterval: p.advertInterval, conf: dest };
    const left = (await ctx.fact(leftVrrp)) && !isMaster;
    if (file.changes.length === 0) {
      if (running) return noop(...file.notes, 'keepalived runs this config');
      if (!left) return changes([start(' (its config is up to date)')], file.notes);
      // It left VRRP for new shared settings: back only once the MASTER runs them.
      const m = await ctx.reader(p.master);
      const mine = sharedOf(parseKeepalived(r.text));
      const theirs = await m.run(sh`systemctl is-active keepalived 2>/dev/null; cat ${dest} 2>/dev/null`);
      const [state = '', ...conf] = theirs.stdout.split('\n');
      if (state.trim() === 'active' && sharedOf(parseKeepalived(conf.join('\n'))) === mine) {
        return changes(rejoinSteps(live, ctx.host.name, `it left VRRP for new shared settings, which ${p.master} (MASTER) now runs`), file.notes);
      }
      return noop(...file.notes, `keepalived stays stopped: it left VRRP for new shared settings that ${p.master} (MASTER) does not run yet`);
    }
    if (!running) return changes([...file.changes, start()]);

    // Only the mode or owner drifted: keepalived reads the same text, nothing to reload.
    if (old === r.text) return file;
    const before = parseKeepalived(old);
    const after = parseKeepalived(r.text);
    const out: Change[] = [];
    const forwarding = after.virtualServers[0]?.forwarding ?? 'DR';
    const how = rolloutOf(before, after);
    // MASTER of an instance, in the model or in the config it runs (a rollout between two sets of instances).
    const leads = isMaster || p.leads === true || before.instances.some((i) => i.state === 'MASTER');
    const free = p.peers.length > 0 && (await ctx.fact(handoverOffset)) === 0;
    // Read from the configs before this one is written: what this director is MASTER of now.
    const away = how.kind === 'restart' || (how.kind === 'shared' && !isMaster) ? leads && free : false;
    if (away) out.push(liveHandoverStep(live, ctx.host.name, HANDOVER_OFFSET, `hand the VIPs this director is MASTER of to ${p.peers.join(' or ')} before ${how.kind === 'restart' ? 'the restart' : 'it leaves VRRP'}`));
    for (const { vs, real } of removedReals(before, after)) {
      out.push({ summary: `drain ${real.address}:${real.port} from ${vs.address}:${vs.port} (weight 0, its connections end) before removing it`, exec: drainCommand(vs, real, forwarding, p.drainSeconds ?? 30) });
    }
    out.push(...file.changes);
    const restart: Change = { summary: `restart keepalived: ${how.kind === 'restart' ? how.why : ''}`, exec: systemctlCommand('keepalived', 'restart') };
    if (how.kind === 'restart') {
      out.push(restart);
      if (away) out.push(liveHandoverStep(live, ctx.host.name, 0, 'take the VIPs back'));
    } else if (how.kind === 'shared' && !isMaster) {
      out.push({
        summary: `stop keepalived until ${p.master} (MASTER) runs the new VRRP settings (${how.what.join(', ')}): directors that disagree both take the VIP`,
        exec: leaveCommand(away),
      });
    } else {
      const rehomed = rehomedVips(before, after);
      const summary = `reload keepalived${how.kind === 'shared' ? ` (new VRRP settings: ${how.what.join(', ')})` : ''}; confirm the new config is live`;
      // The instance that carries them next waits a master-down interval before it takes them: lo holds them meanwhile.
      const bound = 3 * Math.max(p.advertInterval, ...before.instances.map((i) => Number(i.shared.advertInt) || 1)) + 10;
      out.push(rehomed.length
        ? { summary: `${summary}; ${rehomed.join(', ')} change VRRP instance (a new one, or a new VRID, interface or unicast setting), so they stay served from lo until their new instance takes them`, exec: vipsBridgedCommand(rehomed, p.interface, reloadCommand(after), bound) }
        : { summary, exec: reloadCommand(after) });
      if (how.kind === 'shared' && isMaster) {
        for (const peer of p.peers) out.push(...rejoinSteps(live, peer, 'if it left VRRP for these settings'));
      }
    }
    return changes(out, file.notes);
  },
});
