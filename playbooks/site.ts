/**
 * The whole seed: directors, then real servers, then verification from the
 * controller. `play site -i inventory --role realserver` runs one role.
 */
import { definePlaybook } from 'play';
import { director } from '../roles/director/index.ts';
import type { LvsVars } from '../roles/lvs/cluster.ts';
import { realserver } from '../roles/realserver/index.ts';
import { verify } from '../roles/verify/index.ts';

export default definePlaybook<LvsVars>({
  name: 'lvs-keepalived',
  plays: [
    { name: 'directors', hosts: 'directors', roles: [director] },
    { name: 'real servers', hosts: 'realservers', roles: [realserver] },
    { name: 'verify', hosts: 'controller', roles: [verify] },
  ],
});
