import { fileURLToPath } from 'node:url';
import { bundler } from '../core/bundler.ts';

const libRoot = fileURLToPath(new URL('../', import.meta.url));

/** `at fn (file:///x/y.ts:3:9)`, `at /x/y.ts:3:9`: the location at the end of a V8 stack frame. */
const FRAME = /\(?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?$/;

/**
 * Where user code threw: the first frame of the error's stack in a file of
 * the user's (a playbook, a role, an inventory), as `path:line:column`.
 * Frames in play's own lib/ (source or built), in node_modules and in Node
 * itself are passed over: the user wants the line they wrote, not the line
 * of play that called it. Undefined when no such frame exists.
 *
 * @example
 * ```ts
 * import { throwSite } from './throw-site.ts';
 * try { JSON.parse('{'); } catch (e) { console.log(throwSite(e)); }
 * ```
 */
export function throwSite(e: unknown): string | undefined {
  const stack = e instanceof Error ? e.stack : undefined;
  if (!stack) return undefined;
  const skip = [libRoot, bundler()?.libDir].filter((d): d is string => !!d);
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (skip.some((d) => file.startsWith(d)) || file.includes('/node_modules/')) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}
