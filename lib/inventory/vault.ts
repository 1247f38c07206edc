/**
 * Ansible Vault, format 1.1 and 1.2 with AES256 (what `ansible-vault`
 * writes): the envelope `$ANSIBLE_VAULT;1.1;AES256[;label]`, then hex of
 * "hex(salt)\nhex(hmac)\nhex(ciphertext)". Keys come from PBKDF2-SHA256
 * (10,000 rounds, 80 bytes: AES key, HMAC key, counter IV); the HMAC is
 * checked before anything is decrypted, so a wrong password is told apart
 * from a damaged file. Only node:crypto.
 */
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

/** Why a vault value could not be opened: a sentence for the problem list. */
export class VaultError extends Error {
  override name = 'VaultError';
}

/** Does this text start with a vault envelope? */
export function isVault(text: string): boolean {
  return /^\s*\$ANSIBLE_VAULT;/.test(text);
}

/**
 * Decrypt a vault text with the password.
 *
 * @example
 * ```ts
 * import { decryptVault, isVault } from './vault.ts';
 * const text = '$ANSIBLE_VAULT;1.1;AES256\n6130...';
 * // A VaultError says why: a wrong password (HMAC mismatch) or a damaged text.
 * const plain = isVault(text) ? decryptVault(text, 'password') : text;
 * ```
 */
export function decryptVault(text: string, password: string): string {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  const header = lines.shift() ?? '';
  const [magic, version, cipher] = header.split(';');
  if (magic !== '$ANSIBLE_VAULT') throw new VaultError('is not an Ansible Vault text');
  if (version !== '1.1' && version !== '1.2') throw new VaultError(`uses vault format ${version}; play reads 1.1 and 1.2`);
  if (cipher !== 'AES256') throw new VaultError(`uses cipher ${cipher}; play reads AES256`);
  const outer = Buffer.from(lines.join(''), 'hex').toString('ascii').split('\n');
  if (outer.length < 3) throw new VaultError('is damaged (its body is not salt, hmac and ciphertext)');
  const [salt, hmac, data] = outer.map((h) => Buffer.from(h, 'hex'));
  const key = pbkdf2Sync(password, salt!, 10000, 80, 'sha256');
  const mac = createHmac('sha256', key.subarray(32, 64)).update(data!).digest();
  if (mac.length !== hmac!.length || !timingSafeEqual(mac, hmac!)) throw new VaultError('cannot be decrypted with this vault password (HMAC mismatch)');
  const d = createDecipheriv('aes-256-ctr', key.subarray(0, 32), key.subarray(64, 80));
  const padded = Buffer.concat([d.update(data!), d.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > 16) throw new VaultError('is damaged (bad padding)');
  return padded.subarray(0, padded.length - pad).toString('utf8');
}
