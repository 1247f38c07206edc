import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A file of play's own package, by its path from the package root
 * (`'bin/play.js'`, `'package.json'`). The root is the nearest folder above
 * this module holding a package.json: lib/core sits two folders down in the
 * repository but three in the published package (dist/lib/core), so a fixed
 * `../../` would name the wrong file in one of them.
 *
 * @example
 * ```ts
 * import { packageFile } from './package-root.ts';
 * const bin = packageFile('bin/play.js');
 * ```
 */
export function packageFile(path: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    // Unreachable in an installed or checked-out play; a bug if it happens.
    if (up === dir) throw new Error(`play's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return join(dir, path);
}
