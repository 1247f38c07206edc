import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseUfwState, ufwState } from '../../lib/tasks/ufw-facts.ts';
import { ruleText, ufw } from '../../lib/tasks/ufw.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

/** The ufw fact as a Debian host prints it (`ufw show added` lines already turned into rule=). */
const host = (o: { installed?: boolean; status?: string; rules?: string[]; policy?: [string, string, string] } = {}) => ({
  cmd: ufwState.command,
  stdout: o.installed === false ? 'installed=no\n'
    : `installed=yes\nstatus=${o.status ?? 'active'}\n${(o.rules ?? []).map((r) => `rule=${r}\n`).join('')}${(['INPUT', 'OUTPUT', 'FORWARD'] as const).map((c, i) => `policy=${c} ${(o.policy ?? ['DROP', 'ACCEPT', 'DROP'])[i]}\n`).join('')}`,
});

const Plans = suite('ufw: facts → plan');
planTable(Plans, [
  { name: 'rule there (its comment differs): no-op', task: ufw({ rules: [{ port: 80, comment: 'web' }] }), facts: [host({ rules: ["allow 80/tcp comment 'nginx'"] })], changes: [], notes: ['ufw has allow 80/tcp'] },
  {
    name: 'a missing rule, with a source: added in ufw\'s own syntax, every word quoted',
    task: ufw({ rules: [{ port: 22, from: '10.0.0.0/8', comment: "ops vpn" }] }), facts: [host({ rules: ['allow 80/tcp'] })],
    changes: ['ufw allow from 10.0.0.0/8 to any port 22 proto tcp'],
    then: (plan) => assert.is(execOf(plan.changes[0]), `ufw allow from 10.0.0.0/8 to any port 22 proto tcp comment 'ops vpn'`),
  },
  { name: 'a rule to delete', task: ufw({ rules: [{ port: 8080, state: 'absent' }] }), facts: [host({ rules: ['allow 8080/tcp'] })], changes: ['ufw delete allow 8080/tcp'], then: (plan) => assert.is(execOf(plan.changes[0]), 'ufw delete allow 8080/tcp') },
  {
    name: 'inactive firewall: defaults, rules, then enable (SSH allowed first)',
    task: ufw({ defaults: { incoming: 'deny', outgoing: 'allow' }, rules: [{ port: 22, action: 'limit' }], state: 'enabled' }),
    facts: [host({ status: 'inactive', policy: ['ACCEPT', 'ACCEPT', 'DROP'] })],
    changes: ['ufw default incoming allow → deny', 'ufw limit 22/tcp', 'enable ufw'], notes: ['ufw default outgoing is allow'],
    then: (plan) => assert.is(execOf(plan.changes.at(-1)), 'ufw --force enable'),
  },
  { name: 'enabling with incoming deny and SSH not allowed: refused while planning', task: ufw({ rules: [{ port: 80 }], state: 'enabled' }), facts: [host({ status: 'inactive' })], error: /would cut play's own SSH connection; add \{ port: 22 \}/ },
  { name: 'enabled already: no-op', task: ufw({ state: 'enabled' }), facts: [host()], changes: [], notes: ['ufw is active'] },
  { name: 'onlyWhenActive on a host without ufw: no-op, not a failure', task: ufw({ rules: [{ port: 80 }], onlyWhenActive: true }), facts: [host({ installed: false })], changes: [], notes: ['ufw is not installed: rules left alone'] },
  { name: 'onlyWhenActive on an inactive ufw: no-op', task: ufw({ rules: [{ port: 80 }], onlyWhenActive: true }), facts: [host({ status: 'inactive' })], changes: [], notes: ['ufw is inactive: rules left alone'] },
  { name: 'ufw missing when applying: refused', task: ufw({ rules: [{ port: 80 }] }), facts: [host({ installed: false })], error: /ufw is not installed \(install it first/ },
  {
    name: 'ufw missing in check mode after apt would install it: predicted',
    task: ufw({ rules: [{ port: 80 }] }), pending: PENDING, facts: [host({ installed: false })], changes: ['ufw allow 80/tcp'], predicted: ['ufw is not installed yet, expected from an earlier change'],
  },
]);
Plans('rule text matches what ufw show added prints (ufw 0.36 get_command)', () => {
  assert.is(ruleText({ port: 80 }), 'allow 80/tcp');
  assert.is(ruleText({ port: 53, proto: 'any' }), 'allow 53');
  assert.is(ruleText({ port: '8000:8100', proto: 'udp', action: 'deny' }), 'deny 8000:8100/udp');
  assert.is(ruleText({ port: 22, from: '192.168.56.0/24', proto: 'any' }), 'allow from 192.168.56.0/24 to any port 22');
  const st = parseUfwState("installed=yes\nstatus=active\nrule=allow 80/tcp comment 'it''s'\npolicy=INPUT REJECT\n");
  assert.equal(st.rules, ['allow 80/tcp']);
  assert.equal(st.defaults, { incoming: 'reject' });
});
Plans.run();

const Problems = suite('ufw: parameter problems');
problemTable(Problems, [
  { name: 'nothing to do', task: ufw({}), problems: [['rules', /say what to do/]] },
  { name: 'a port out of range, a hostile source', task: ufw({ rules: [{ port: 70000 }, { port: 22, from: '1.2.3.4; reboot' }] }), problems: [['rules[0].port', /1–65535/], ['rules[1].from', /IP address or network/]] },
  { name: 'a range for any protocol', task: ufw({ rules: [{ port: '6000:6010', proto: 'any' }] }), problems: [['rules[0].proto', /needs tcp or udp/]] },
  { name: 'a quote in a comment, an unknown rule field', task: ufw({ rules: [{ port: 80, comment: "it's", to: 'x' } as never] }), problems: [['rules[0].to', /unknown rule field/], ['rules[0].comment', /without quotes/]] },
  { name: 'a bad policy', task: ufw({ defaults: { incoming: 'drop' as never } }), problems: [['defaults.incoming', /must be one of 'allow', 'deny', 'reject'/]] },
]);
Problems.run();
