import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  appendKnownHost, checkHostKey, fingerprint, hashHostName, keyTypeOf, knownHostsLine, lookupKnownHost, matchesHost, parseKnownHosts,
  readKnownHostsFiles, type HostKeyStatus,
} from '../../lib/transport/known-hosts.ts';

// Real keys made with ssh-keygen; fingerprints and hashed names are what
// `ssh-keygen -lf` and `ssh-keygen -H` printed for them.
const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIKtBjFMaGg6e5L7uNFGw/pcnFVYPqfgT5B7zfmTMQru6';
const ED_FP = 'SHA256:Gvcc9CfM4ur8pfoLro46q9J/hlUb6sbh+i8tB7l3L0o';
const EC = 'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBP+0ygjhw3SVDrNmvQlk2+wNRA3zqr2L9WI43dN46e1FXtx2o4TyJdtMnCThU6GEad1OX+vZ2vvSgoglc+mPllY=';
const EC_FP = 'SHA256:Qbpc6IzVN4ZTdieC5hZQRRuWYKn80k0LHI2l+XLOC1k';
/** `ssh-keygen -H` of `[10.0.0.5]:2222` and of `web1.example.com`. */
const HASHED_10_0_0_5_2222 = '|1|NPaKlnSTtJH2SZ1iQocaxF/VVnk=|bquMH7ouiXzOAKAD1QAotCKI8Bs=';
const HASHED_WEB1 = '|1|3XVWvDAmwGd98O8eqdSOp6nh2tE=|7NnJhLtKHO6w+DH9xaWTlH7PpqQ=';

const blob = (b64: string) => Buffer.from(b64, 'base64');

// ------------------------------------------------------------------- parse

const Parse = suite('known_hosts: parse');

Parse('keeps plain, hashed and @revoked lines; skips comments, blanks, CA and malformed lines', () => {
  const text = [
    '# a comment',
    '',
    `web1,10.0.0.5 ssh-ed25519 ${ED} user@laptop`,
    `  [10.0.0.5]:2222 ecdsa-sha2-nistp256 ${EC}`,
    `${HASHED_WEB1} ssh-ed25519 ${ED}`,
    `@revoked * ssh-ed25519 ${ED}`,
    `@cert-authority *.example.com ssh-ed25519 ${ED}`,
    '@unknown-marker web1 ssh-ed25519 AAAA',
    'web2 ssh-ed25519',
    'web3 ssh-ed25519 not*base64',
  ].join('\n');
  const entries = parseKnownHosts(text, 'kh');
  assert.equal(entries.map((e) => [e.marker ?? '', e.hosts, e.type, e.source]), [
    ['', 'web1,10.0.0.5', 'ssh-ed25519', 'kh:3'],
    ['', '[10.0.0.5]:2222', 'ecdsa-sha2-nistp256', 'kh:4'],
    ['', HASHED_WEB1, 'ssh-ed25519', 'kh:5'],
    ['revoked', '*', 'ssh-ed25519', 'kh:6'],
  ]);
});

Parse('a file without a final newline, and CRLF line ends, parse the same', () => {
  assert.is(parseKnownHosts(`a ssh-ed25519 ${ED}\r\nb ssh-ed25519 ${ED}`).length, 2);
});

Parse.run();

// ------------------------------------------------------------------- match

const Match = suite('known_hosts: host matching');

const matching: Array<[hosts: string, address: string, port: number, expected: boolean]> = [
  ['web1', 'web1', 22, true],
  ['web1', 'web1', 2222, false],
  ['[web1]:2222', 'web1', 2222, true],
  ['[web1]:2222', 'web1', 22, false],
  ['[web1]:22', 'web1', 22, false],
  ['a,web1,b', 'web1', 22, true],
  ['WEB1', 'web1', 22, true],
  ['web1', 'WEB1', 22, true],
  ['*.example.com', 'web1.example.com', 22, true],
  ['*.example.com', 'example.com', 22, false],
  ['*.example.com,!db.example.com', 'db.example.com', 22, false],
  ['!db.example.com,*.example.com', 'web1.example.com', 22, true],
  ['10.0.0.?', '10.0.0.5', 22, true],
  ['10.0.0.?', '10.0.0.50', 22, false],
  ['*', '10.0.0.5', 2222, true],
  ['web.1', 'webx1', 22, false],
  ['::1', '::1', 22, true],
  ['[::1]:2222', '::1', 2222, true],
  [HASHED_10_0_0_5_2222, '10.0.0.5', 2222, true],
  [HASHED_10_0_0_5_2222, '10.0.0.5', 22, false],
  [HASHED_WEB1, 'web1.example.com', 22, true],
  [HASHED_WEB1, 'Web1.Example.com', 22, true],
  [HASHED_WEB1, 'web2.example.com', 22, false],
  ['|1|garbage', 'web1', 22, false],
];

for (const [hosts, address, port, expected] of matching) {
  Match(`${hosts} ${expected ? 'covers' : 'does not cover'} ${address}:${port}`, () => {
    assert.is(matchesHost(hosts, address, port), expected);
  });
}

Match('hashHostName makes what ssh-keygen -H makes', () => {
  assert.is(hashHostName('[10.0.0.5]:2222', blob('NPaKlnSTtJH2SZ1iQocaxF/VVnk=')), HASHED_10_0_0_5_2222);
  assert.ok(matchesHost(hashHostName('web9'), 'web9', 22));
});

Match.run();

// ------------------------------------------------------------------- check

const Check = suite('known_hosts: verdicts');

const file = [
  `web1 ssh-ed25519 ${ED}`,
  `[web2]:2222 ecdsa-sha2-nistp256 ${EC}`,
  `${HASHED_10_0_0_5_2222} ssh-ed25519 ${ED}`,
  `multi ssh-ed25519 ${ED}`,
  `multi ecdsa-sha2-nistp256 ${EC}`,
  `@revoked gone ssh-ed25519 ${ED}`,
  `gone ssh-ed25519 ${ED}`,
].join('\n');
const entries = parseKnownHosts(file, 'kh');

const verdicts: Array<[address: string, port: number, key: string, status: HostKeyStatus, known: string[]]> = [
  ['web1', 22, ED, 'trusted', [ED_FP]],
  ['web1', 22, EC, 'changed', [ED_FP]],
  ['web1', 2222, ED, 'unknown', []],
  ['web2', 2222, EC, 'trusted', [EC_FP]],
  ['web2', 22, EC, 'unknown', []],
  ['10.0.0.5', 2222, ED, 'trusted', [ED_FP]],
  ['10.0.0.5', 2222, EC, 'changed', [ED_FP]],
  ['multi', 22, EC, 'trusted', [ED_FP, EC_FP]],
  ['gone', 22, ED, 'revoked', [ED_FP]],
  ['nowhere', 22, ED, 'unknown', []],
];

for (const [address, port, key, status, known] of verdicts) {
  Check(`${address}:${port} presenting ${key === ED ? 'ED' : 'EC'} → ${status}`, () => {
    const v = checkHostKey(entries, address, port, blob(key));
    assert.is(v.status, status);
    assert.is(v.presented, key === ED ? ED_FP : EC_FP);
    assert.equal(v.known.map((k) => k.fingerprint), known);
  });
}

Check('a changed verdict says where the known key is recorded', () => {
  assert.equal(checkHostKey(entries, 'web1', 22, blob(EC)).known, [{ fingerprint: ED_FP, source: 'kh:1' }]);
});

Check.run();

// ---------------------------------------------------------------- formats

const Format = suite('known_hosts: fingerprints and lines');

Format('fingerprints match ssh-keygen -lf', () => {
  assert.is(fingerprint(ED), ED_FP);
  assert.is(fingerprint(blob(EC)), EC_FP);
});

Format('keyTypeOf reads the type out of the blob', () => {
  assert.is(keyTypeOf(blob(ED)), 'ssh-ed25519');
  assert.is(keyTypeOf(blob(EC)), 'ecdsa-sha2-nistp256');
  assert.throws(() => keyTypeOf(Buffer.from([0, 0, 0, 9, 1])), /malformed/);
});

Format('knownHostsLine: bare address on port 22, [address]:port otherwise', () => {
  assert.is(knownHostsLine('10.0.0.5', 22, blob(ED)), `10.0.0.5 ssh-ed25519 ${ED}\n`);
  assert.is(knownHostsLine('10.0.0.5', 2222, blob(EC)), `[10.0.0.5]:2222 ecdsa-sha2-nistp256 ${EC}\n`);
});

Format.run();

// --------------------------------------------------------------------- files

const Files = suite<{ dir: string }>('known_hosts: files', { dir: '' });
Files.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'play-kh-'));
});
Files.after((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

Files('a missing file reads as empty; files are read in order', ({ dir }) => {
  const a = join(dir, 'a');
  writeFileSync(a, `web1 ssh-ed25519 ${ED}\n`);
  assert.equal(readKnownHostsFiles([join(dir, 'missing'), a]).map((e) => e.source), [`${a}:1`]);
});

Files('append creates the parent directory and file, and never glues onto a last line without newline', ({ dir }) => {
  const fresh = join(dir, 'sub', '.ssh', 'known_hosts');
  appendKnownHost(fresh, knownHostsLine('10.0.0.5', 22, blob(ED)));
  assert.is(readFileSync(fresh, 'utf8'), `10.0.0.5 ssh-ed25519 ${ED}\n`);

  const edited = join(dir, 'edited');
  writeFileSync(edited, `web1 ssh-ed25519 ${ED}`);
  appendKnownHost(edited, knownHostsLine('web2', 2222, blob(EC)));
  assert.equal(readKnownHostsFiles([edited]).map((e) => e.hosts), ['web1', '[web2]:2222']);
});

Files('a file read again unchanged is the same list; an edit, an append or a removal is read afresh', ({ dir }) => {
  const f = join(dir, 'kept');
  writeFileSync(f, `web1 ssh-ed25519 ${ED}\n`);
  const first = readKnownHostsFiles([f]);
  assert.ok(readKnownHostsFiles([f]) === first);
  appendKnownHost(f, knownHostsLine('web2', 22, blob(EC)));
  assert.equal(readKnownHostsFiles([f]).map((e) => e.hosts), ['web1', 'web2']);
  // Same size, other content: the times tell.
  writeFileSync(f, `web3 ssh-ed25519 ${ED}\nweb4 ecdsa-sha2-nistp256 ${EC}\n`.replace('web3', 'web9'));
  assert.equal(readKnownHostsFiles([f]).map((e) => e.hosts), ['web9', 'web4']);
  rmSync(f);
  assert.equal(readKnownHostsFiles([f]), []);
});

Files.run();

const Lookup = suite('known_hosts: lookup in a large file');

Lookup('plain, wildcard, negated and hashed lines all count, in file order, whatever the case of the name', () => {
  const lines = [
    ...Array.from({ length: 500 }, (_, i) => `[10.0.1.${i % 250}]:${2000 + i} ssh-ed25519 ${ED}`),
    `Web1.Example.com,web2 ecdsa-sha2-nistp256 ${EC}`,
    `*.example.com ssh-ed25519 ${ED}`,
    `${HASHED_WEB1} ssh-ed25519 ${ED}`,
    `!web1.example.com,* ecdsa-sha2-nistp256 ${EC}`,
    `@revoked web1.example.com ssh-ed25519 ${ED}`,
  ];
  const entries = parseKnownHosts(`${lines.join('\n')}\n`, 'kh');
  const web1 = lookupKnownHost(entries, 'WEB1.example.com', 22);
  assert.equal(web1.trusted.map((k) => k.source), ['kh:501', 'kh:502', 'kh:503']);
  assert.equal(web1.revoked.map((k) => k.source), ['kh:505']);
  assert.equal(lookupKnownHost(entries, 'web2', 22).trusted.map((k) => k.source), ['kh:501', 'kh:504']);
  assert.equal(lookupKnownHost(entries, '10.0.1.7', 2257).trusted.map((k) => k.source), ['kh:258', 'kh:504']);
  assert.equal(lookupKnownHost(entries, '10.0.1.7', 22).trusted.map((k) => k.source), ['kh:504']);
});

Lookup.run();
