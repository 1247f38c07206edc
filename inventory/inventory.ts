/**
 * The seed's cluster: two directors (LB1 MASTER, LB2 BACKUP) in front of two
 * nginx real servers, VIP 192.168.56.200, LVS direct routing, round robin.
 * The same file drives the local lab (`play lab up`) and real machines.
 */
import { defineInventory, secret } from 'playbook-ts';
import { lvsGroups, type LvsCluster, type LvsVars } from '../roles/lvs/cluster.ts';

const cluster: LvsCluster = {
  vip: '192.168.56.200',
  subnet: '192.168.56.0/24',
  port: 80,
  protocol: 'TCP',
  virtualRouterId: 62,
  advertInterval: 1,
  auth: { type: 'PASS', pass: secret('1111') },
  scheduler: 'rr',
  forwarding: 'DR',
  // No persistence: with 50 s (the seed's first try) one client always hits the same real server.
  delayLoop: 3,
  healthCheck: { kind: 'TCP_CHECK', connectTimeout: 10, retry: 3, delayBeforeRetry: 3 },
  interface: 'enp0s8',
  directors: { LB1: { priority: 200 }, LB2: { priority: 100 } },
  realServers: { RS1: { weight: 1 }, RS2: { weight: 1 } },
};

export default defineInventory<LvsVars>({
  vars: { cluster },
  hosts: {
    LB1: { address: '192.168.56.101' },
    LB2: { address: '192.168.56.102' },
    RS1: { address: '192.168.56.103' },
    RS2: { address: '192.168.56.104' },
  },
  groups: lvsGroups(cluster),
});
