/**
 * play as a user gets it: `npm pack` of this checkout (prepack builds
 * dist/), installed into a project of the user's own, made the way the
 * README says (`npm init -y`, "type": "module", `tsc --init`).
 *
 * Packing takes ~10-20 s, so one tarball serves every spec of a run. It is
 * packed from a copy of the sources, never in the checkout itself: prepack
 * writes dist/, and a run must not leave one behind (bin/play.js would still
 * run the sources, but a stale dist/ confuses whoever finds it).
 *
 * Installing is offline: the npm cache holds the tarballs `npm ci` fetched
 * for this checkout, not the registry metadata a fresh `npm install` asks
 * for. So the project gets the lockfile `npm install ../playbook-ts-x.tgz`
 * would write: the tarball, and this checkout's locked runtime packages
 * (those not marked dev), then `npm ci --offline`. What lands in
 * node_modules is the same.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** The TypeScript the user's project type-checks with: the version this checkout locks (what `npx tsc` would run once installed). */
export const tsc = join(repo, 'node_modules/typescript/bin/tsc');
const SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'LICENSE', 'README.md', 'bin', 'lib', 'roles', 'scripts'];

export interface Ran { code: number; out: string; err: string }

/** A command, niced (the machine is shared with measurements); never rejects. Async: the specs' SSH servers live in this process. */
export function sh(cmd: string, args: readonly string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => execFile('nice', ['-n', '15', cmd, ...args], {
    cwd: o.cwd, env: { ...process.env, NO_COLOR: '1', ...o.env }, timeout: o.timeoutMs ?? 180_000, maxBuffer: 16 << 20,
  }, (err, out, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out, err: stderr })));
}

function must(r: Ran, what: string): Ran {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.out}\n${r.err}`);
  return r;
}

let packing: Promise<string> | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'play-packed-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** The path of this checkout's packed tarball, packed on the first call of the run. */
export function packedTarball(): Promise<string> {
  packing ??= (async () => {
    const src = join(scratch, 'src');
    mkdirSync(src);
    for (const f of SOURCES) cpSync(join(repo, f), join(src, f), { recursive: true });
    // The build's own tools (tsc) come from the checkout; nothing of node_modules is packed ("files").
    symlinkSync(join(repo, 'node_modules'), join(src, 'node_modules'));
    must(await sh('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: src }), 'npm pack');
    const tgz = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error('npm pack wrote no tarball');
    return join(scratch, tgz);
  })();
  return packing;
}

/** A user's project in a temp directory, play installed from the tarball; `remove()` deletes it. */
export interface UserProject {
  readonly dir: string;
  /** `node_modules/.bin/play …` in the project (or in `cwd`), with the specs' environment: no lab, no agent. */
  play(args: readonly string[], o?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<Ran>;
  /** `tsc` with the project's own tsconfig, as `npx tsc --noEmit` there. */
  typecheck(): Promise<Ran>;
  write(path: string, text: string): string;
  remove(): void;
}

/** `npm init -y`, "type": "module", `tsc --init`, play installed: the README's path. */
export async function userProject(prefix = 'play-user-'): Promise<UserProject> {
  const tgz = await packedTarball();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const project: UserProject = {
    dir,
    play: (args, o = {}) => sh(join(dir, 'node_modules/.bin/play'), args, { cwd: o.cwd ?? dir, env: { PLAY_LAB: '0', PLAY_PERSIST: '0', ...o.env } }),
    typecheck: () => sh(process.execPath, [tsc, '--noEmit', '-p', dir], { cwd: dir }),
    write(path, text) {
      const file = join(dir, path);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  try {
    must(await sh('npm', ['init', '-y'], { cwd: dir }), 'npm init -y');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const name = pkg.name as string;
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ ...pkg, type: 'module', dependencies: { 'playbook-ts': `file:${tgz}` } }, null, 2)}\n`);
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lockfile(name, tgz), null, 2));
    must(await sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir }), 'npm ci --offline');
    must(await sh(process.execPath, [tsc, '--init'], { cwd: dir }), 'tsc --init');
  } catch (e) {
    project.remove();
    throw e;
  }
  return project;
}

/** Where the npm registry keeps a package's tarball: the key npm's cache files it under. */
function tarballUrl(name: string, version: string): string {
  return `https://registry.npmjs.org/${name}/-/${name.split('/').at(-1)}-${version}.tgz`;
}

interface Lock { packages: Record<string, { dev?: boolean } & Record<string, unknown>> }

function lockfile(name: string, tgz: string): object {
  const ours = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as Lock;
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
  // With each tarball's address (this checkout's lockfile leaves it out, so npm would ask the registry for it).
  const runtime = Object.fromEntries(Object.entries(ours.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev)
    .map(([path, p]) => [path, { resolved: tarballUrl((p.name as string | undefined) ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), p.version as string), ...p }]));
  return {
    name, version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: {
      '': { name, version: '1.0.0', dependencies: { 'playbook-ts': `file:${tgz}` } },
      'node_modules/playbook-ts': {
        version: manifest.version, resolved: `file:${tgz}`, license: manifest.license,
        dependencies: manifest.dependencies, bin: manifest.bin, engines: manifest.engines,
      },
      ...runtime,
    },
  };
}
