/**
 * The only importer of `yaml` (eemeli/yaml: YAML 1.2, custom tags, errors
 * with line and column). Ansible's tags are read as Ansible reads them:
 * `!vault` is decrypted with the vault password and marked secret, `!secret`
 * (play's own) marks a plain value secret, `!unsafe` is a plain string.
 */
import { parseDocument, type ScalarTag } from 'yaml';
import { secret } from '../core/secret.ts';
import { decryptVault, VaultError } from './vault.ts';

export interface YamlOptions {
  /** The vault password; a `!vault` value without one is a problem. */
  vaultPassword?: string;
}

/** Parse one YAML text; every problem comes back as a sentence with its line. */
export function parseYaml(text: string, o: YamlOptions = {}): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const tags: ScalarTag[] = [
    {
      tag: '!vault',
      resolve: (value) => {
        if (o.vaultPassword === undefined) { problems.push('has a !vault value: give the password with --vault-password-file'); return ''; }
        try {
          return secret(decryptVault(value, o.vaultPassword));
        } catch (e) {
          problems.push(`has a !vault value that ${e instanceof VaultError ? e.message : String(e)}`);
          return '';
        }
      },
    },
    { tag: '!secret', resolve: (value) => secret(value) },
    { tag: '!unsafe', resolve: (value) => value },
  ];
  const doc = parseDocument(text, { customTags: tags, prettyErrors: true, uniqueKeys: true });
  for (const e of doc.errors) problems.push(`${e.message.split('\n')[0]}`);
  if (problems.length) return { ok: false, problems };
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
}
