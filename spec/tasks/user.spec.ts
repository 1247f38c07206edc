import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { groupState, parseUserState, userState } from '../../lib/tasks/account-facts.ts';
import { group } from '../../lib/tasks/group.ts';
import { user } from '../../lib/tasks/user.ts';
import { PENDING, planTable, problemTable } from './table.ts';
import { execOf } from '../support/plan-harness.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBxkey deploy@ci';
const OTHER = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQold old@laptop';
/** What a Debian host prints for the user fact. */
const passwd = (entry: string, primary: string, groups: string, extra = '') => `passwd=${entry}\nprimary=${primary}\ngroups=${groups}\n${extra}`;
const DEPLOY = passwd('deploy:x:1001:1001:Deploy,,,:/home/deploy:/bin/sh', 'deploy', 'deploy adm');
const fact = (p: Parameters<typeof userState>, stdout: string) => ({ cmd: userState(...p).command, stdout });

const Users = suite('user: facts → plan');
planTable(Users, [
  {
    name: 'missing: one useradd with every wanted attribute, the home created',
    task: user({ name: 'deploy', uid: 1001, shell: '/bin/bash', groups: ['sudo'], comment: 'Deploy' }),
    facts: [fact(['deploy', { groups: ['sudo'] }], 'passwd=\nknown=sudo\n')],
    changes: ['create user deploy (uid 1001, groups sudo, shell /bin/bash)'],
    then: (plan) => assert.is(execOf(plan.changes[0]), `useradd -u 1001 -U -G sudo -s /bin/bash -d /home/deploy -m -c Deploy -- deploy`),
  },
  {
    name: 'a system account without a home',
    task: user({ name: 'lvs-exporter', system: true, shell: '/usr/sbin/nologin', home: '/nonexistent', createHome: false }),
    facts: [fact(['lvs-exporter', {}], 'passwd=\n')], changes: ['create user lvs-exporter (system, shell /usr/sbin/nologin)'],
    then: (plan) => assert.is(execOf(plan.changes[0]), 'useradd -r -U -s /usr/sbin/nologin -d /nonexistent -M -- lvs-exporter'),
  },
  { name: 'as wanted: no-op that says so', task: user({ name: 'deploy', shell: '/bin/sh', groups: ['adm'] }), facts: [fact(['deploy', { groups: ['adm'] }], `${DEPLOY}known=adm\n`)], changes: [], notes: ['user deploy is up to date'] },
  {
    name: 'drift: one usermod naming each difference; the exact group list drops adm',
    task: user({ name: 'deploy', shell: '/bin/bash', groups: ['sudo'], comment: 'Deploy' }),
    facts: [fact(['deploy', { groups: ['sudo'] }], `${DEPLOY}known=sudo\n`)],
    changes: ['change user deploy: groups +sudo -adm, shell /bin/sh → /bin/bash, comment "Deploy,,," → "Deploy"'],
    then: (plan) => assert.is(execOf(plan.changes[0]), 'usermod -G sudo -s /bin/bash -c Deploy -- deploy'),
  },
  {
    name: 'append: only the missing group is added',
    task: user({ name: 'deploy', groups: ['sudo', 'adm'], append: true }), facts: [fact(['deploy', { groups: ['sudo', 'adm'] }], `${DEPLOY}known=adm\nknown=sudo\n`)],
    changes: ['change user deploy: groups +sudo'], then: (plan) => assert.is(execOf(plan.changes[0]), 'usermod -aG sudo -- deploy'),
  },
  { name: 'a group that does not exist: refused while planning', task: user({ name: 'deploy', groups: ['docker'] }), facts: [fact(['deploy', { groups: ['docker'] }], DEPLOY)], error: /group docker does not exist on this host \(create it first/ },
  {
    name: 'the group is created by an earlier change check mode did not make: predicted',
    task: user({ name: 'deploy', groups: ['docker'] }), pending: PENDING, facts: [fact(['deploy', { groups: ['docker'] }], 'passwd=\n')],
    changes: ['create user deploy (groups docker)'], predicted: ['group docker does not exist yet, expected from an earlier change'],
  },
  {
    name: 'a new user with a key: useradd, then .ssh 0700 and the key file 0600 written atomically',
    task: user({ name: 'deploy', authorizedKeys: [KEY] }), facts: [fact(['deploy', { keys: true }], 'passwd=\n')],
    changes: ['create user deploy', 'add 1 key in /home/deploy/.ssh/authorized_keys'],
    then: (plan) => {
      const k = plan.changes[1]!;
      assert.is(k.stdin, `${KEY}\n`);
      assert.ok(execOf(k).startsWith(`mkdir -p -- /home/deploy/.ssh && chown deploy: -- /home/deploy/.ssh && chmod 0700 -- /home/deploy/.ssh || exit 1\n`));
      assert.ok(execOf(k).includes(`chmod 0600 "$tmp"`) && execOf(k).includes(`chown deploy: "$tmp"`));
      assert.equal(k.diff, { path: '/home/deploy/.ssh/authorized_keys', before: '', after: `${KEY}\n` });
    },
  },
  {
    name: 'the key is there among others: no-op',
    task: user({ name: 'deploy', authorizedKeys: [KEY] }), facts: [fact(['deploy', { keys: true }], `${DEPLOY}keys=file\nkey:${OTHER}\nkey:${KEY}\n`)],
    changes: [], notes: ['user deploy is up to date', "deploy's authorized_keys has the 1 key"],
  },
  {
    name: 'exclusive keys: the other key removed, the home taken from passwd',
    task: user({ name: 'deploy', authorizedKeys: [KEY], exclusiveKeys: true }), facts: [fact(['deploy', { keys: true }], `${passwd('deploy:x:1001:1001::/srv/deploy:/bin/sh', 'deploy', 'deploy')}keys=file\nkey:${OTHER}\nkey:${KEY}\n`)],
    changes: ['remove 1 in /srv/deploy/.ssh/authorized_keys'], then: (plan) => assert.is(plan.changes[0]!.stdin, `${KEY}\n`),
  },
  { name: 'absent and present: userdel -r', task: user({ name: 'deploy', state: 'absent', remove: true }), facts: [fact(['deploy', {}], DEPLOY)], changes: ['remove user deploy and its home'], then: (plan) => assert.is(execOf(plan.changes[0]), 'userdel -r -- deploy') },
  { name: 'absent and missing: no-op', task: user({ name: 'deploy', state: 'absent' }), facts: [fact(['deploy', {}], 'passwd=\n')], changes: [], notes: ['user deploy is absent'] },
]);
Users('the fact parser: key lines stay framed, the primary group is not a supplementary one', () => {
  const st = parseUserState(`${DEPLOY}keys=file\nkey:passwd=evil:x:0:0::/:/bin/sh\n`);
  assert.is(st.uid, 1001);
  assert.equal(st.groups, ['adm']);
  assert.equal(st.keys, ['passwd=evil:x:0:0::/:/bin/sh']);
  assert.equal(parseUserState(`${DEPLOY}`).keys, undefined, 'no keys= line: no file');
});
Users.run();

const Groups = suite('group: facts → plan');
const g = (name: string, stdout: string) => ({ cmd: groupState(name).command, stdout });
planTable(Groups, [
  { name: 'missing: groupadd with gid', task: group({ name: 'lvs', gid: 2001 }), facts: [g('lvs', 'group=\n')], changes: ['create group lvs (gid 2001)'], then: (plan) => assert.is(execOf(plan.changes[0]), 'groupadd -g 2001 -- lvs') },
  { name: 'present, same gid: no-op', task: group({ name: 'lvs', gid: 2001 }), facts: [g('lvs', 'group=lvs:x:2001:deploy\n')], changes: [], notes: ['group lvs is up to date (gid 2001)'] },
  { name: 'gid drift: groupmod', task: group({ name: 'lvs', gid: 2001 }), facts: [g('lvs', 'group=lvs:x:1005:\n')], changes: ['change group lvs: gid 1005 → 2001'] },
  { name: 'a system group', task: group({ name: 'lvs', system: true }), facts: [g('lvs', 'group=\n')], changes: ['create group lvs (system)'], then: (plan) => assert.is(execOf(plan.changes[0]), 'groupadd -r -- lvs') },
  { name: 'absent: groupdel', task: group({ name: 'lvs', state: 'absent' }), facts: [g('lvs', 'group=lvs:x:1005:\n')], changes: ['remove group lvs'] },
  { name: 'absent and missing: no-op', task: group({ name: 'lvs', state: 'absent' }), facts: [g('lvs', 'group=\n')], changes: [], notes: ['group lvs is absent'] },
]);
Groups.run();

const Problems = suite('user, group: parameter problems');
problemTable(Problems, [
  { name: 'a hostile name', task: user({ name: 'x; rm -rf /' }), problems: [['name', /must be a user name/]] },
  { name: 'a name that is an option', task: user({ name: '-o' }), problems: [['name', /must be a user name/]] },
  { name: 'a uid as a string', task: user({ name: 'a', uid: '1001' as never }), problems: [['uid', /whole number 0 or more, got the string "1001"/]] },
  { name: 'groups not a list', task: user({ name: 'a', groups: 'sudo' as never }), problems: [['groups', /must be a list/]] },
  { name: 'a relative shell, a comment with a colon', task: user({ name: 'a', shell: 'bash', comment: 'a:b' }), problems: [['shell', /absolute path/], ['comment', /without ':'/]] },
  { name: 'a key on two lines', task: user({ name: 'a', authorizedKeys: [`${KEY}\n${OTHER}`] }), problems: [['authorizedKeys[0]', /one public key on one line/]] },
  { name: 'absent with a shell', task: user({ name: 'a', state: 'absent', shell: '/bin/sh' }), problems: [['shell', /does not apply to state 'absent'/]] },
  { name: 'append without groups', task: user({ name: 'a', append: true }), problems: [['append', /needs groups/]] },
  { name: 'group: a bad gid', task: group({ name: 'lvs', gid: -1 }), problems: [['gid', /whole number/]] },
]);
Problems.run();
