/**
 * The scale benchmark's small play: one template, one sysctl, one command,
 * on every host. bench/ansible/scale.yml is the same play for Ansible.
 */
import { definePlaybook, defineRole } from '../../lib/index.ts';
import { command, sysctl, template } from '../../lib/tasks/index.ts';
import type { ScaleVars } from './inventory.ts';

const small = defineRole<ScaleVars>({
  name: 'small',
  tasks: ({ vars, host }) => [
    template({ src: new URL('./templates/play-bench.conf.njk', import.meta.url), dest: '/etc/play-bench.conf', vars: { motto: vars.motto, host: host.name }, mode: '0644' }),
    sysctl({ name: 'net.ipv4.conf.all.arp_announce', value: '2', file: '/etc/sysctl.d/90-play-bench.conf' }),
    command({ cmd: ['uname', '-r'], changedWhen: () => false }),
  ],
});

export default definePlaybook<ScaleVars>({ name: 'bench-scale', plays: [{ name: 'small', hosts: 'all', roles: [small] }] });
