import type { UserProject } from '../support/packed.ts';

/**
 * The user's own role and playbook the package specs run: a directory and
 * a greeting in it, rendered from a template (`vars.root`, `vars.greeting`),
 * on the hosts of group `web`. The inventory is each spec's own.
 */
export function writeGreetingProject(p: UserProject): void {
  p.write('roles/motd/templates/motd.njk', '{{ greeting }} from {{ host }}\n');
  p.write('roles/motd/index.ts', `import { command, defineRole, template } from 'playbook-ts';

/** A directory, and a greeting in it rendered from a template. */
export const motd = defineRole<{ greeting: string; root: string }>({
  name: 'motd',
  tasks: ({ vars, host }) => [
    command({ cmd: ['mkdir', '-p', vars.root], creates: vars.root }),
    template({
      src: new URL('./templates/motd.njk', import.meta.url), dest: \`\${vars.root}/motd\`, vars: { greeting: vars.greeting, host: host.name }, mode: '0644',
      when: ({ vars }) => vars.greeting.length > 0,
    }),
  ],
});
`);
  p.write('site.ts', `import { definePlaybook } from 'playbook-ts';
import { motd } from './roles/motd/index.js';

export default definePlaybook({ name: 'site', plays: [{ name: 'greet', hosts: 'web', roles: [motd] }] });
`);
}
