/** What the cluster-model specs share: a cluster on a fixture's hosts, its rendered keepalived.conf, its problems as text, a changed copy. */
import { defineInventory, type Inventory } from '../../lib/dsl/inventory.ts';
import { renderTemplate } from '../../lib/tasks/render-template.ts';
import { keepalivedVars } from '../../roles/director/index.ts';
import { lvsGroups, validateCluster, type LvsCluster, type LvsVars } from '../../roles/lvs/cluster.ts';

export function clusterKit(hostsFrom: Inventory<LvsVars>) {
  const invOf = (c: LvsCluster) => defineInventory<LvsVars>({ ...hostsFrom.def, vars: { cluster: c }, groups: lvsGroups(c) });
  return {
    invOf,
    /** The keepalived.conf the director role renders for `host` (a kernel with IPVS). */
    render: (c: LvsCluster, host: string) => {
      const r = renderTemplate(new URL('../../roles/director/templates/keepalived.conf.njk', import.meta.url), { ...keepalivedVars(c, host, invOf(c)), ipvsKernel: true });
      if (!r.ok) throw new Error(r.message);
      return r.text;
    },
    /** The problems of a cluster, as "field: message" (warnings marked). */
    problems: (c: unknown) => validateCluster(c as LvsCluster, invOf(c as LvsCluster)).map((p) => `${p.warning ? 'warning ' : ''}${p.field}: ${p.message}`),
    changed: (base: LvsCluster, f: (c: any) => void): LvsCluster => { const c = structuredClone(base); f(c); return c; },
  };
}
