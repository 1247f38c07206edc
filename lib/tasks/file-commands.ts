import { quote } from '../core/shell.ts';
import { tempPrefix } from './file-facts.ts';

/** What the atomic write needs to know; every value is quoted here. */
export interface AtomicWrite {
  path: string;
  /** sha256 (hex) of the content that will arrive on stdin. */
  sha256: string;
  mode: string;
  /** `owner`, `owner:group` or `:group` for chown; absent = leave as created. */
  chown?: string;
  /** A command with `%s` where the temp file goes. */
  validate?: string;
  /** Keep a copy of the old file as `path.YYYYmmddHHMMSS~`. */
  backup?: boolean;
}

/**
 * One shell command that writes stdin to `path` so that the host never holds
 * a half-written file: the content goes to a temp file in the same directory
 * (so the final rename is atomic), is checked against the planned checksum (a
 * connection cut mid-transfer gives a short stdin, which must never replace
 * the real file), gets its mode and owner, passes `validate`, and only then
 * is renamed over the destination. Any failure removes the temp file and
 * leaves the destination untouched.
 */
export function atomicWriteCommand(w: AtomicWrite): string {
  const lines = [
    // With sshd gone (session killed), a message to stderr would raise
    // SIGPIPE and kill the shell before its EXIT trap removes the temp file.
    `trap '' PIPE`,
    `fail() { printf 'play: %s\\n' "$*" >&2; exit 1; }`,
    `dest=${quote(w.path)}`,
    `tmp=$(mktemp ${quote(`${tempPrefix(w.path)}XXXXXX`)}) || fail "cannot create a temporary file beside $dest"`,
    `trap 'rm -f -- "$tmp"' EXIT`,
    `trap 'exit 1' HUP INT TERM`,
    `cat > "$tmp" || fail "could not write the temporary file for $dest"`,
    `[ "$(sha256sum < "$tmp")" = ${quote(`${w.sha256}  -`)} ] || fail "content arrived incomplete (checksum mismatch); $dest left untouched"`,
  ];
  // chown before chmod: chown clears setuid/setgid bits.
  if (w.chown) lines.push(`chown ${quote(w.chown)} "$tmp" || fail "chown failed; $dest left untouched"`);
  lines.push(`chmod ${quote(w.mode)} "$tmp" || fail "chmod failed; $dest left untouched"`);
  if (w.validate) {
    const check = w.validate.split('%s').join('"$tmp"');
    lines.push(`if ! out=$(${check} 2>&1); then printf '%s\\n' "$out" >&2; fail ${quote(`validation failed (${w.validate}); `)}"$dest left untouched"; fi`);
  }
  if (w.backup) lines.push(`if [ -e "$dest" ]; then cp -p -- "$dest" "$dest.$(date +%Y%m%d%H%M%S)~" || fail "backup of $dest failed"; fi`);
  lines.push(`mv -f -- "$tmp" "$dest" || fail "could not rename the temporary file over $dest"`, `trap - EXIT`);
  return lines.join('\n');
}

/** chown and/or chmod one path, in one command. */
export function attributesCommand(path: string, a: { chown?: string; mode?: string }): string {
  const steps: string[] = [];
  if (a.chown) steps.push(`chown ${quote(a.chown)} -- ${quote(path)}`);
  if (a.mode) steps.push(`chmod ${quote(a.mode)} -- ${quote(path)}`);
  return steps.join(' && ');
}

/** Remove leftovers of interrupted writes. */
export function removeCommand(paths: readonly string[], recursive = false): string {
  return `rm ${recursive ? '-rf' : '-f'} -- ${paths.map((p) => quote(p)).join(' ')}`;
}

/** Create a directory (and its parents) with mode and owner. */
export function mkdirCommand(path: string, a: { chown?: string; mode: string }): string {
  return [`mkdir -p -- ${quote(path)}`, attributesCommand(path, a)].join(' && ');
}
