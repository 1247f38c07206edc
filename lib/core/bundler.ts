/**
 * What bin/play.js hands to lib when play runs from its bundle, one home for
 * its shape: the user-module builder (lib/cli/user-modules.ts), the throw
 * site finder (lib/engine/throw-site.ts) and the template code cache
 * (lib/tasks/template-code-cache.ts) all read it from here. Under tsx (the
 * specs) there is none, and each falls back to working without it.
 */
import type { BuildOptions } from 'esbuild';

export interface Bundler {
  /** Where play's lib/ was built: `lib/x/y.ts` is `<libDir>/lib/x/y.js`. */
  readonly libDir: string;
  /**
   * Build with play's options into a directory cached as `name`, rebuilt
   * when an input changes; rejects with esbuild's BuildFailure.
   */
  build(name: string, options: BuildOptions & { absWorkingDir: string }): Promise<string>;
  /**
   * A directory for code play keeps across runs, writable by this user and
   * by nobody else (bin/cache.js): what is read back from it is run.
   */
  readonly cacheDir: string;
}

/** The bundler when play runs from bin/play.js, else undefined. */
export function bundler(): Bundler | undefined {
  return (globalThis as { [key: symbol]: Bundler | undefined })[Symbol.for('play.bundler')];
}
