import { fact, type Fact } from '../core/fact.ts';

export type Policy = 'allow' | 'deny' | 'reject';

/** What ufw says about itself: installed, active, its added rules and default policies. */
export interface UfwState {
  installed: boolean;
  /** `active`, `inactive`, or `unknown` when `ufw status` said nothing (not root). */
  status: string;
  /** Rules as `ufw show added` prints them, without `ufw ` and without their comment. */
  rules: string[];
  defaults: { incoming?: Policy; outgoing?: Policy; routed?: Policy };
}

const POLICY: Record<string, Policy> = { DROP: 'deny', ACCEPT: 'allow', REJECT: 'reject' };
const CHAIN: Record<string, keyof UfwState['defaults']> = { INPUT: 'incoming', OUTPUT: 'outgoing', FORWARD: 'routed' };

/**
 * One command: is ufw there, is it active, which rules were added (`ufw show
 * added` lists them whether or not the firewall is enabled, in the syntax
 * `ufw` takes) and the default policies from /etc/default/ufw.
 */
export const ufwState: Fact<UfwState> = fact('ufw:state', [
  'if command -v ufw >/dev/null 2>&1; then',
  '  echo installed=yes',
  `  printf 'status=%s\\n' "$(ufw status 2>/dev/null | sed -n 's/^Status: //p')"`,
  `  ufw show added 2>/dev/null | sed -n 's/^ufw /rule=/p'`,
  `  sed -n 's/^DEFAULT_\\(INPUT\\|OUTPUT\\|FORWARD\\)_POLICY="\\{0,1\\}\\([A-Z]*\\)"\\{0,1\\}$/policy=\\1 \\2/p' /etc/default/ufw 2>/dev/null`,
  'else echo installed=no; fi',
].join('\n'), parseUfwState);

export function parseUfwState(out: string): UfwState {
  const st: UfwState = { installed: false, status: 'not installed', rules: [], defaults: {} };
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'installed') { st.installed = v === 'yes'; if (st.installed) st.status = 'unknown'; }
    else if (k === 'status') st.status = v.trim() || 'unknown';
    else if (k === 'rule') st.rules.push(withoutComment(v.trim()));
    else if (k === 'policy') {
      const [chain, policy] = v.split(' ');
      const key = CHAIN[chain ?? ''];
      if (key && POLICY[policy ?? '']) st.defaults[key] = POLICY[policy!];
    }
  }
  return st;
}

/** `allow 80/tcp comment 'web'` → `allow 80/tcp`: a comment does not make another rule. */
export function withoutComment(rule: string): string {
  return rule.replace(/ comment '.*'$/, '');
}
