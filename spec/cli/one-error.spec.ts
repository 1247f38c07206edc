/**
 * Issue 14, part A, through the CLI: every broken input exits 1 with its
 * problems, each once, naming its file, host, task and field; never an
 * internal error (exit 3), never a connection. Then a generative sweep:
 * from a fixed seed, malformed task options and cluster values.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../support/cli.ts';

/** Every connection is recorded, and answers every command with success. */
const cli = (argv: string[]) => runCli(argv, () => [{ cmd: /.*/ }]);

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const generated = fileURLToPath(new URL('../.generated/', import.meta.url));

/** The problem lines of a ValidationError, with the fixtures folder shown as `<f>/`. */
const problems = (err: string) => err.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.slice(4).split(fixtures).join('<f>/'));
const at = (pb: string, inv: string) => [pb.startsWith('/') ? pb : `${fixtures}playbooks/${pb}`, '-i', inv.startsWith('/') ? inv : `${fixtures}inventory/${inv}`];
const SITE = fileURLToPath(new URL('../../playbooks/site.ts', import.meta.url));
const ROLES = '(roles realserver, director, verify)';

const Cli = suite('cli: one clear error per mistake, before anything is contacted');

// Each case: the command line, and the exact problem lines it must print.
const cases: Array<[string, string[], string[]]> = [
  ['task options of the wrong type', at('bad-options.ts', 'three.ts'), [
    '<f>/playbooks/bad-options.ts: host A: task "guarded": field when: must be a function ({ host, vars, results, changed }) => boolean, got the boolean false',
    '<f>/playbooks/bad-options.ts: host A: task "tagged": field tags: must be a string or a list of strings, got 7',
    '<f>/playbooks/bad-options.ts: host A: task "judged": field changedWhen: must be a function (result) => boolean, got the boolean false',
  ]],
  ['task options of the wrong type, with --list-tasks', [...at('bad-options.ts', 'three.ts'), '--list-tasks'], [
    '<f>/playbooks/bad-options.ts: host A: task "guarded": field when: must be a function ({ host, vars, results, changed }) => boolean, got the boolean false',
    '<f>/playbooks/bad-options.ts: host A: task "tagged": field tags: must be a string or a list of strings, got 7',
    '<f>/playbooks/bad-options.ts: host A: task "judged": field changedWhen: must be a function (result) => boolean, got the boolean false',
  ]],
  ['virtualRouterId as the string "62"', [SITE, '-i', `${fixtures}inventory/string-vrid.ts`], [
    `<f>/inventory/string-vrid.ts: field cluster.virtualRouterId: must be a whole number 1–255, got the string "62" ${ROLES}`,
  ]],
  ['five cluster mistakes: five problems, none against a host', [SITE, '-i', `${fixtures}inventory/five-mistakes.ts`], [
    `<f>/inventory/five-mistakes.ts: field cluster.virtualRouterId: must be a whole number 1–255, got 0 ${ROLES}`,
    `<f>/inventory/five-mistakes.ts: field cluster.auth.pass: is 9 characters; keepalived silently uses only the first 8 ${ROLES}`,
    `<f>/inventory/five-mistakes.ts: field cluster.scheduler: must be one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, got the string "random" ${ROLES}`,
    `<f>/inventory/five-mistakes.ts: field cluster.directors.LB2.priority: 200 is also LB1's priority; priorities must differ so one director is MASTER ${ROLES}`,
    `<f>/inventory/five-mistakes.ts: field cluster.realServers.RS1.weight: must be a whole number 0–65535, got the string "1" ${ROLES}`,
  ]],
];
for (const [name, argv, want] of cases) {
  Cli(name, async () => {
    const r = await cli(argv);
    assert.is(r.code, 1, r.err);
    assert.equal(r.contacted, []);
    assert.is(r.out, '');
    assert.equal(problems(r.err), want);
    assert.match(r.err, new RegExp(`^play: ${want.length} problem\\(s\\) found before contacting any host:\n`));
  });
}

Cli('a string tag is one tag: --list-tasks shows it, --tags selects it', async () => {
  const list = await cli([...at('string-tags.ts', 'three.ts'), '--list-tasks']);
  assert.is(list.code, 0, list.err);
  assert.match(list.out, /A 192\.0\.2\.1\n {4}web step {2}\[web\]\n {4}db step {2}\[db\]\n/);
  const picked = await cli([...at('string-tags.ts', 'three.ts'), '--tags', 'web', '--json']);
  assert.is(picked.code, 0, picked.err);
  assert.match(picked.out, /"task":"web step"/);
  assert.not.match(picked.out, /db step/);
});

Cli.run();

const Gen = suite('generated: malformed task options and cluster values, from a fixed seed');

/** mulberry32: small, fixed, the same sequence on every machine. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const MISSING = Symbol('missing');
const WRONG: unknown[] = ['62', true, false, null, [], {}, -1, 0.5, 1e9, '', 'x', MISSING];

// What is right, said independently of play's rules, so only wrong values are drawn.
const isFn = (v: unknown) => typeof v === 'function';
const isName = (v: unknown) => typeof v === 'string' && v.trim() !== '';
const isNames = (v: unknown) => isName(v) || (Array.isArray(v) && v.every(isName));
const OPTIONS: Record<string, (v: unknown) => boolean> = {
  when: isFn, changedWhen: isFn, failedWhen: isFn, tags: isNames, notify: isNames,
  register: isName, title: isName, ignoreErrors: (v) => typeof v === 'boolean', check: (v) => v === 'skip' || v === 'run',
};
const int = (lo: number, hi: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
const CLUSTER: Record<string, (v: unknown) => boolean> = {
  port: int(1, 65535), virtualRouterId: int(1, 255), advertInterval: int(1, 255), delayLoop: int(1, 3600),
  'healthCheck.connectTimeout': int(1, 3600), 'healthCheck.retry': int(0, 100), 'healthCheck.delayBeforeRetry': int(0, 3600),
  'directors.LB1.priority': int(1, 254), 'realServers.RS2.weight': int(0, 65535),
  protocol: (v) => v === 'TCP' || v === 'UDP', scheduler: (v) => v === 'rr', forwarding: (v) => v === 'DR',
  interface: (v) => typeof v === 'string' && /^[A-Za-z0-9_.:@-]{1,15}$/.test(v), vip: () => false, subnet: () => false,
  'auth.type': (v) => v === 'PASS' || v === 'AH', auth: () => false, healthCheck: () => false, directors: () => false, realServers: () => false, 'auth.pass': (v) => typeof v === 'string' && v.length >= 1 && v.length <= 8,
};

/** Draw `n` (field, wrong value) pairs: a value the field accepts is drawn again. */
function draw(rand: () => number, fields: Record<string, (v: unknown) => boolean>, n: number): Array<[string, unknown]> {
  const names = Object.keys(fields);
  const out: Array<[string, unknown]> = [];
  while (out.length < n) {
    const field = names[Math.floor(rand() * names.length)]!;
    const value = WRONG[Math.floor(rand() * WRONG.length)];
    // A task option left out is no mistake; a cluster field left out is.
    if (value === MISSING ? field in OPTIONS && fields === OPTIONS : fields[field]!(value)) continue;
    out.push([field, value]);
  }
  return out;
}
const show = (v: unknown) => (v === MISSING ? 'missing' : JSON.stringify(v));

rmSync(generated, { recursive: true, force: true });
mkdirSync(generated, { recursive: true });
const rand = prng(14);

for (const [i, [field, value]] of draw(rand, OPTIONS, 16).entries()) {
  Gen(`task option ${field}: ${show(value)}`, async () => {
    const pb = `${generated}options-${i}.ts`;
    writeFileSync(pb, `import { command, definePlaybook } from 'playbook-ts';
export default definePlaybook({ name: 'gen', plays: [{ name: 'gen', hosts: 'A', tasks: () => [command({ cmd: 'gen', ...${JSON.stringify({ [field]: value })} } as never)] }] });
`);
    await expectOne(await cli(at(pb, 'three.ts')), field);
  });
}

for (const [i, [path, value]] of draw(rand, CLUSTER, 24).entries()) {
  Gen(`cluster.${path}: ${show(value)}`, async () => {
    const inv = `${generated}cluster-${i}.ts`;
    const keys = path.split('.');
    const set = value === MISSING ? `delete c.${path};` : `c${keys.map((k) => `[${JSON.stringify(k)}]`).join('')} = ${JSON.stringify(value)};`;
    writeFileSync(inv, `import { defineInventory } from 'playbook-ts';
import seed from '../../inventory/inventory.ts';
import { lvsGroups } from '../../roles/lvs/cluster.ts';
const c: any = structuredClone(seed.vars.cluster);
${set}
export default defineInventory({ ...seed.def, vars: { cluster: c }, groups: lvsGroups(seed.vars.cluster) });
`);
    await expectOne(await cli([SITE, '-i', inv]), `cluster.${path}`);
  });
}

/** Exit 1, one problem naming the field, no internal error, nothing contacted. */
async function expectOne(r: Awaited<ReturnType<typeof cli>>, field: string) {
  assert.is(r.code, 1, r.err);
  assert.equal(r.contacted, []);
  assert.not.match(r.err, /internal error|threw/);
  const lines = problems(r.err);
  assert.is(lines.length, 1, r.err);
  // A whole object wrong may be named by its first field checked (cluster.healthCheck.kind).
  assert.ok(lines[0]!.includes(`field ${field}: `) || lines[0]!.includes(`field ${field}.`), r.err);
}

Gen.run();
