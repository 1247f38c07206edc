import { defineRole } from '../../lib/dsl/role.ts';
import { daemonReload, file, service, sysctl, template, ufw } from '../../lib/tasks/index.ts';
import { clusterRule, primaryService, servicesOf, type LvsCluster, type LvsVars } from '../lvs/cluster.ts';
import { lvsApt } from '../lvs/packages.ts';

/** The unit that owns the VIP on lo. */
export const VIP_UNIT = 'lvs-vip';
/** Where the ARP sysctls persist (read by systemd-sysctl at boot). */
export const ARP_SYSCTL_FILE = '/etc/sysctl.d/90-lvs-realserver.conf';
/** The ARP suppression LVS-DR needs: the kernel takes the max of `all` and the interface. */
export const ARP_SYSCTLS = [
  ['net.ipv4.conf.lo.arp_ignore', '1'],
  ['net.ipv4.conf.lo.arp_announce', '2'],
  ['net.ipv4.conf.all.arp_ignore', '1'],
  ['net.ipv4.conf.all.arp_announce', '2'],
] as const;

/** The body of the health page: its MD5 (an HTTP_GET `digest`) is {@link HEALTH_PAGE_DIGEST}. */
export const HEALTH_PAGE = 'ok\n';
/** MD5 of {@link HEALTH_PAGE}, as keepalived's genhash prints it. */
export const HEALTH_PAGE_DIGEST = 'eff5bc1ef8ec9d03e640fc4370f5eacd';
/** nginx's document root on Debian and Ubuntu, where the pages go. */
const WEB_ROOT = '/var/www/html';

/**
 * What a real server serves, from the services it is in: the VIPs it holds
 * on lo, the ports its firewall opens, and the health pages its HTTP checks
 * ask for (a path of one segment, e.g. `/health`, without a query: a file
 * in nginx's root; any other path is the service's own to answer).
 *
 * @example
 * ```ts
 * import { realServerServices } from './index.ts';
 * import inventory from '../../inventory/inventory.ts';
 * const { vips, ports, pages } = realServerServices(inventory.vars.cluster, 'RS1'); // ['192.168.56.200'], [80/tcp], []
 * ```
 */
export function realServerServices(c: LvsCluster, host: string) {
  const mine = servicesOf(c).filter((s) => s.realServers.some((r) => r.name === host));
  const ports = [...new Map(mine.map((s) => [`${s.port}/${s.protocol}`, { port: s.port, proto: s.protocol === 'UDP' ? 'udp' as const : 'tcp' as const }])).values()];
  const pages = [...new Set(mine.flatMap((s) => (s.check.kind === 'HTTP_GET' || s.check.kind === 'SSL_GET') && /^\/[A-Za-z0-9._-]+$/.test(s.check.path) && s.check.path !== '/index.html' ? [s.check.path] : []))];
  return { vips: [...new Set(mine.map((s) => s.vip))], ports, pages };
}

/**
 * An LVS-DR real server: nginx with a page naming the server, the VIP on
 * `lo` owned by a systemd unit, and ARP suppression persisted in
 * /etc/sysctl.d — the seed's `lvs-web.sh`, made to survive a reboot.
 *
 * @example
 * ```ts
 * import { definePlaybook } from 'playbook-ts';
 * import { realserver } from './index.ts';
 * import type { LvsVars } from '../lvs/cluster.ts';
 * export default definePlaybook<LvsVars>({ name: 'web', plays: [{ name: 'real servers', hosts: 'realservers', roles: [realserver] }] });
 * ```
 */
export const realserver = defineRole<LvsVars>({
  name: 'realserver',
  description: 'nginx, the VIP on lo (systemd unit) and ARP sysctls on each real server',
  inventoryRules: [clusterRule],
  validate: ({ vars, host }) => {
    const rs: unknown = vars.cluster?.realServers;
    if (typeof rs !== 'object' || rs === null || Object.hasOwn(rs, host.name)) return [];
    return [{ field: 'cluster.realServers', message: `host ${host.name} runs the realserver role but is not in cluster.realServers` }];
  },
  tasks: ({ vars: { cluster: c }, host }) => {
    const own = realServerServices(c, host.name);
    return [
      lvsApt('realserver'),
      template({
        src: new URL('./templates/index.html.njk', import.meta.url),
        dest: '/var/www/html/index.html',
        vars: { label: c.realServers[host.name]?.label ?? host.name, address: host.address, vip: primaryService(c).vip, port: primaryService(c).port },
        mode: '0644',
      }),
      // What the services' HTTP_GET / SSL_GET checks ask for: a page that answers 200 while nginx serves.
      ...own.pages.map((path) => file({ path: `${WEB_ROOT}${path}`, content: HEALTH_PAGE, mode: '0644' })),
      // ARP suppression first: the VIP must never be announced from a real server.
      ...ARP_SYSCTLS.map(([name, value]) => sysctl({ name, value, file: ARP_SYSCTL_FILE })),
      template({
        src: new URL('./templates/lvs-vip.service.njk', import.meta.url),
        dest: `/etc/systemd/system/${VIP_UNIT}.service`,
        vars: { vip: own.vips.join(' '), vips: own.vips, sysctlFile: ARP_SYSCTL_FILE.split('/').pop() },
        mode: '0644',
        notify: ['reload systemd', `restart ${VIP_UNIT}`],
      }),
      service({ name: VIP_UNIT, state: 'started', enabled: true }),
      // Only where the host runs ufw: a real server without a firewall is not this role's to change.
      ufw({ rules: own.ports, onlyWhenActive: true }),
      service({ name: 'nginx', state: 'started', enabled: true }),
    ];
  },
  handlers: () => [
    daemonReload({ title: 'reload systemd', units: [VIP_UNIT] }),
    service({ title: `restart ${VIP_UNIT}`, name: VIP_UNIT, state: 'restarted' }),
  ],
});
