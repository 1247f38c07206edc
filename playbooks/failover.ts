/**
 * The failover drill: stop keepalived on the MASTER, time the VIP moving to
 * the BACKUP and back. Changes state on purpose, so it is never part of site.ts.
 */
import { definePlaybook } from 'playbook-ts';
import { failover } from '../roles/failover/index.ts';
import type { LvsVars } from '../roles/lvs/cluster.ts';

export default definePlaybook<LvsVars>({
  name: 'failover-drill',
  plays: [{ name: 'failover drill', hosts: 'controller', roles: [failover] }],
});
