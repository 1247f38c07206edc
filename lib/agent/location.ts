/**
 * Where the connection agent's socket lives, and the check that nobody else
 * can reach it. Anyone who can connect to the socket can run commands on
 * every host the agent holds, so, like OpenSSH's ControlPath, it sits in a
 * directory only its owner can enter.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PlayError } from '../core/errors.ts';
import { PROTOCOL } from './protocol.ts';

/** The agent cannot be used; the run connects by itself instead. */
export class AgentUnavailable extends PlayError {
  override name = 'AgentUnavailable';
}

/**
 * Another agent already serves this socket: the one starting gives way to
 * it (a concurrent run started it first), which is no failure.
 */
export class AgentRunning extends PlayError {
  override name = 'AgentRunning';
  constructor(readonly socket: string) {
    super(`an agent already listens on ${socket}`);
  }
}

/**
 * The agent's directory: `$PLAY_AGENT_DIR`, else `$XDG_RUNTIME_DIR/play`
 * (a per-user tmpfs on systemd machines), else `~/.cache/play`.
 *
 * @example
 * ```ts
 * import { agentDir } from './location.ts';
 * agentDir({ XDG_RUNTIME_DIR: '/run/user/1000' }); // => '/run/user/1000/play'
 * ```
 */
export function agentDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.PLAY_AGENT_DIR) return env.PLAY_AGENT_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'play');
  return join(env.HOME || homedir(), '.cache', 'play');
}

/** The socket in `dir`; its name carries the protocol version. */
export function socketPath(dir: string): string {
  return join(dir, `agent-${PROTOCOL}.sock`);
}

/**
 * Create `dir` if needed (mode 0700) and refuse it unless it is a real
 * directory owned by this user that no one else can enter.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new AgentUnavailable(`cannot create ${dir}: ${(e as Error).message}`);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new AgentUnavailable(`${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new AgentUnavailable(`${dir} belongs to uid ${st.uid}, not to this user (${uid})`);
  if ((st.mode & 0o077) !== 0) throw new AgentUnavailable(`${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}); it must be 700`);
  // Unix socket paths are limited to 107 bytes on Linux.
  if (Buffer.byteLength(socketPath(dir)) > 107) throw new AgentUnavailable(`${socketPath(dir)} is too long for a Unix socket`);
}
