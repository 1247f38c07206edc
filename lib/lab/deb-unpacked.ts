/**
 * The offline repo's packages with their members stored uncompressed. Under
 * the `--ipvs` VMs' software emulation, xz decompression was the largest
 * single cost of a director's first `apt install` (measured in a VM:
 * `dpkg-deb --fsys-tarfile` of the repo's packages alone took 13 s; the
 * install 44 s). The tar streams inside are Debian's own, byte for byte —
 * only their compression is undone — so dpkg unpacks, configures and
 * records exactly what it would from Debian's files; every lab host, and
 * Ansible's runs in the benchmark, install from the same repo.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { LabError } from './errors.ts';

/** Write `dpkg-deb ARGS`'s standard output to `file` (a tar stream: binary, possibly large). */
function dpkgDebTo(file: string, args: readonly string[]): Promise<void> {
  const fd = openSync(file, 'w', 0o644);
  return new Promise<void>((resolve, reject) => {
    const child = spawn('dpkg-deb', args, { stdio: ['ignore', fd, 'pipe'] });
    const err: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new LabError(`cannot run dpkg-deb: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new LabError(`dpkg-deb ${args.join(' ')} failed (exit ${code}): ${Buffer.concat(err).toString().trim()}`))));
  }).finally(() => closeSync(fd));
}

/** One member of an ar archive (the .deb container): a 60-byte header, the data, padded to an even length. */
function arMember(name: string, data: Buffer, mtime: number): Buffer {
  const field = (v: string, width: number) => v.padEnd(width, ' ').slice(0, width);
  const header = Buffer.from(
    field(name, 16) + field(String(mtime), 12) + field('0', 6) + field('0', 6) + field('100644', 8) + field(String(data.length), 10) + '`\n',
    'latin1',
  );
  return Buffer.concat(data.length % 2 ? [header, data, Buffer.from('\n')] : [header, data]);
}

/**
 * Rewrite the package at `deb` in place with an uncompressed control.tar
 * and data.tar (dpkg reads both since 1.17.6). Written to a temporary name
 * and renamed: a failure leaves Debian's file as it was.
 *
 * @example
 * ```ts
 * import { storeUncompressed } from './deb-unpacked.ts';
 * await storeUncompressed('/var/cache/play-lab/repo.tmp/keepalived_1%3a2.2.7-1+b2_amd64.deb');
 * ```
 */
export async function storeUncompressed(deb: string): Promise<void> {
  const control = `${deb}.control.tar`;
  const data = `${deb}.data.tar`;
  const out = `${deb}.tmp`;
  try {
    await dpkgDebTo(control, ['--ctrl-tarfile', deb]);
    await dpkgDebTo(data, ['--fsys-tarfile', deb]);
    const mtime = Math.floor(statSync(deb).mtimeMs / 1000);
    writeFileSync(out, Buffer.concat([
      Buffer.from('!<arch>\n', 'latin1'),
      arMember('debian-binary', Buffer.from('2.0\n'), mtime),
      arMember('control.tar', readFileSync(control), mtime),
      arMember('data.tar', readFileSync(data), mtime),
    ]));
    renameSync(out, deb);
  } finally {
    for (const f of [control, data, out]) rmSync(f, { force: true });
  }
}
