import { defineRole } from '../../lib/dsl/role.ts';
import { apt, command, service, sysctl, template, ufw } from '../../lib/tasks/index.ts';
import { clusterRule, type LvsVars } from '../lvs/cluster.ts';
import { LVS_PACKAGES } from '../lvs/packages.ts';

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
  tasks: ({ vars: { cluster: c }, host }) => [
    apt({ name: [...LVS_PACKAGES.realserver], state: 'present' }),
    template({
      src: new URL('./templates/index.html.njk', import.meta.url),
      dest: '/var/www/html/index.html',
      vars: { label: c.realServers[host.name]?.label ?? host.name, address: host.address, vip: c.vip, port: c.port },
      mode: '0644',
    }),
    // ARP suppression first: the VIP must never be announced from a real server.
    ...ARP_SYSCTLS.map(([name, value]) => sysctl({ name, value, file: ARP_SYSCTL_FILE })),
    template({
      src: new URL('./templates/lvs-vip.service.njk', import.meta.url),
      dest: `/etc/systemd/system/${VIP_UNIT}.service`,
      vars: { vip: c.vip, sysctlFile: ARP_SYSCTL_FILE.split('/').pop() },
      mode: '0644',
      notify: ['reload systemd', `restart ${VIP_UNIT}`],
    }),
    service({ name: VIP_UNIT, state: 'started', enabled: true }),
    // Only where the host runs ufw: a real server without a firewall is not this role's to change.
    ufw({ rules: [{ port: c.port, proto: c.protocol === 'UDP' ? 'udp' : 'tcp' }], onlyWhenActive: true }),
    service({ name: 'nginx', state: 'started', enabled: true }),
  ],
  handlers: () => [
    command({ title: 'reload systemd', cmd: ['systemctl', 'daemon-reload'] }),
    service({ title: `restart ${VIP_UNIT}`, name: VIP_UNIT, state: 'restarted' }),
  ],
});
