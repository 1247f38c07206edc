import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { LoadError, ValidationError, type Problem } from '../core/errors.ts';
import type { Inventory } from '../dsl/inventory.ts';
import type { Playbook } from '../dsl/playbook.ts';
import { userModules, type UserModules } from './user-modules.ts';

/** TypeScript and JavaScript modules are play inventories; any other file is Ansible's (INI, or YAML for .yml/.yaml). */
export function isAnsibleInventory(file: string): boolean {
  return !/\.(?:ts|mts|js|mjs)$/.test(file);
}

/**
 * Find a playbook or inventory file: the name as given, then under
 * `playbooks/` or `inventory/` of the current directory; `.ts` may be left
 * out. Never in play's own package: run from the wrong directory, a bare
 * `site -i inventory` would otherwise configure play's demo addresses.
 */
export function resolveFile(name: string, folder: 'playbooks' | 'inventory', cwd = process.cwd()): string {
  const names = name.endsWith('.ts') ? [name] : [name, `${name}.ts`];
  const candidates = isAbsolute(name)
    ? names
    : [cwd, join(cwd, folder)].flatMap((dir) => names.map((n) => resolve(dir, n)));
  const found = candidates.find((c) => statSync(c, { throwIfNoEntry: false })?.isFile());
  if (!found) throw new LoadError(name, `no such ${folder === 'playbooks' ? 'playbook' : 'inventory'} (looked for ${[...new Set(candidates)].join(', ')})`);
  return found;
}

/**
 * Find a run's playbook and inventory (see resolveFile). When neither is
 * found, both are reported at once, each with every path looked at.
 *
 * @example
 * ```ts
 * import { resolveRunFiles } from './load.ts';
 * const { playbookFile, inventoryFile } = resolveRunFiles('site', 'inventory');
 * ```
 */
export function resolveRunFiles(playbook: string, inventory: string, cwd = process.cwd()): { playbookFile: string; inventoryFile: string } {
  const attempt = (name: string, folder: 'playbooks' | 'inventory'): string | LoadError => {
    try {
      return resolveFile(name, folder, cwd);
    } catch (e) {
      if (!(e instanceof LoadError)) throw e;
      return e;
    }
  };
  const playbookFile = attempt(playbook, 'playbooks');
  const inventoryFile = attempt(inventory, 'inventory');
  if (typeof playbookFile === 'string' && typeof inventoryFile === 'string') return { playbookFile, inventoryFile };
  const errors = [playbookFile, inventoryFile].filter((f): f is LoadError => f instanceof LoadError);
  if (errors.length === 1) throw errors[0]!;
  throw new ValidationError(errors.map((e) => ({ file: e.file, message: e.reason })));
}

async function importDefault(file: string, modules?: UserModules): Promise<unknown> {
  const from = (modules?.has(file) ? modules : await userModules([file])).get(file)!;
  if (from instanceof LoadError) throw from;
  try {
    const mod = (await import(from)) as { default?: unknown };
    if (mod.default === undefined) throw new LoadError(file, 'has no default export');
    return mod.default;
  } catch (e) {
    if (e instanceof LoadError) throw e;
    const err = e as Error;
    const where = err.stack?.split('\n').find((l) => l.includes(file));
    throw new LoadError(file, `failed to load: ${err.message}${where ? `\n    ${where.trim()}` : ''}`);
  }
}

/**
 * Load a playbook module (default export from definePlaybook); from
 * `modules` when it was built with other files (see userModules).
 */
export async function loadPlaybook(file: string, modules?: UserModules): Promise<Playbook<unknown>> {
  const pb = (await importDefault(file, modules)) as Playbook<unknown>;
  if (!pb || typeof pb !== 'object' || !Array.isArray(pb.plays)) throw new LoadError(file, 'default export is not a playbook (use definePlaybook({ name, plays: [...] }))');
  return pb;
}

/** How an Ansible inventory's vault values are opened. */
export interface InventoryLoadOptions {
  /** A file whose first line is the Ansible Vault password. */
  vaultPasswordFile?: string;
}

/** The vault password from its file, as ansible-vault reads one: the first line. */
function vaultPassword(o: InventoryLoadOptions): string | undefined {
  if (!o.vaultPasswordFile) return undefined;
  try {
    return readFileSync(o.vaultPasswordFile, 'utf8').split(/\r?\n/)[0];
  } catch (e) {
    throw new LoadError(o.vaultPasswordFile, `cannot read the vault password file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Load an inventory module (default export from defineInventory); from
 * `modules` when it was built with other files (see userModules). Any other
 * file is an Ansible inventory (INI, or YAML for .yml/.yaml), read with the
 * group_vars/ and host_vars/ beside it; its loader and the YAML library load
 * only then.
 */
export async function loadInventory(file: string, modules?: UserModules, o: InventoryLoadOptions = {}): Promise<Inventory<unknown>> {
  if (isAnsibleInventory(file)) {
    const { loadAnsibleInventory } = await import('../inventory/ansible.ts');
    return loadAnsibleInventory(file, { vaultPassword: vaultPassword(o) });
  }
  const inv = (await importDefault(file, modules)) as Inventory<unknown>;
  if (!inv || typeof inv !== 'object' || !Array.isArray(inv.hosts) || !(inv.groups instanceof Map)) {
    throw new LoadError(file, 'default export is not an inventory (use defineInventory({ vars, hosts, groups }))');
  }
  return inv;
}

/**
 * Load the inventory and the playbook of a run. When one of them cannot be
 * loaded, the other is still loaded, and every problem found so far (both
 * load failures, the inventory's own problems) is reported at once.
 */
export async function loadBoth(playbookFile: string, inventoryFile: string, o: InventoryLoadOptions = {}): Promise<{ playbook: Playbook<unknown>; inventory: Inventory<unknown> }> {
  const problems: Problem[] = [];
  const attempt = async <T>(load: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await load();
    } catch (e) {
      if (!(e instanceof LoadError)) throw e;
      problems.push({ file: e.file, message: e.reason });
      return undefined;
    }
  };
  // One build, so a module both import is one instance; then one import
  // each, inventory first, so a playbook that throws hides nothing.
  const modules = await userModules(isAnsibleInventory(inventoryFile) ? [playbookFile] : [inventoryFile, playbookFile]);
  const inventory = await attempt(() => loadInventory(inventoryFile, modules, o));
  const playbook = await attempt(() => loadPlaybook(playbookFile, modules));
  if (inventory && playbook) return { playbook, inventory };
  if (inventory) problems.push(...inventory.problems.map((p) => ({ file: inventoryFile, ...p })));
  throw new ValidationError(problems);
}
