/**
 * What play runs and the connection agent say to each other: one JSON object
 * per line over a Unix socket in a private directory. Requests carry an id;
 * each gets exactly one reply with the same id.
 */
import { ConnectError, HostKeyError, PlayError, TransportError } from '../core/errors.ts';
import type { RunResult } from '../core/transport.ts';
import type { SshJump, SshOptions } from '../transport/ssh-options.ts';

/** Bumped whenever a message changes shape: the socket's name carries it, so old and new agents never meet. */
export const PROTOCOL = 1;

/** How long an agent keeps connections after the last run, when neither side says (--persist): Ansible's ControlPersist default. */
export const DEFAULT_PERSIST_S = 60;

/**
 * `T` as JSON carries it: arrays as arrays, nothing readonly. A field JSON
 * cannot carry (a function) becomes `never`, so SshOptions growing one fails
 * to compile where options are put on the wire, instead of silently
 * vanishing from what the agent receives.
 */
export type Wire<T> = T extends string | number | boolean | null ? T
  : T extends readonly (infer E)[] ? Wire<E>[]
  : T extends (...args: never[]) => unknown ? never
  : T extends object ? { -readonly [K in keyof T]: Wire<T[K]> }
  : never;

/**
 * The SSH options a run sends: SshOptions field for field, but of `env`
 * only HOME and SSH_AUTH_SOCK (where keys, known_hosts and ssh-agent are
 * found).
 */
export type WireSshOptions = Wire<Omit<SshOptions, 'env'>> & { env: { HOME?: string; SSH_AUTH_SOCK?: string } };

/** A jump host as sent (SshOptions.jump). */
export type WireJump = Wire<SshJump>;

export type Request =
  | { id: number; op: 'connect'; options: WireSshOptions }
  | { id: number; op: 'run'; conn: number; cmd: string; stdin?: { base64: string }; timeoutMs?: number }
  | { id: number; op: 'status' }
  | { id: number; op: 'stop' };

/** One kept connection, as `play agent status` shows it. */
export interface ConnectionStatus {
  host: string;
  address: string;
  port: number;
  user: string;
  open: boolean;
  /** Runs that have used it, the one that opened it included. */
  runs: number;
  commands: number;
  idleMs: number;
}

export interface AgentStatus {
  pid: number;
  persistMs: number;
  clients: number;
  connections: ConnectionStatus[];
}

/** What each request's reply carries when it succeeds. */
export interface ReplyValues {
  connect: { conn: number };
  run: RunResult;
  status: AgentStatus;
  stop: null;
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** An error crossing the socket: its class by name, and the fields that class is built from. */
export interface WireError {
  name: string;
  message: string;
  host?: string;
  cmd?: string;
  reason?: string;
}

/** Flatten an error for the socket. Only play's transport errors keep their class; anything else becomes a plain message. */
export function toWire(e: unknown): WireError {
  if (e instanceof TransportError) return { name: e.name, message: e.message, host: e.host, cmd: e.cmd, reason: e.reason };
  if (e instanceof ConnectError) return { name: e.name, message: e.message, host: e.host, reason: e.reason };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/**
 * Rebuild an error from the socket as the class the run would have seen
 * connecting by itself. It is built here, in the run, so the run's own
 * secrets are masked in its message.
 */
export function fromWire(w: WireError): Error {
  if (w.name === 'TransportError' && w.host !== undefined) return new TransportError(w.host, w.cmd ?? '', w.reason ?? w.message);
  if (w.name === 'HostKeyError' && w.host !== undefined) return new HostKeyError(w.host, w.reason ?? w.message);
  if (w.name === 'ConnectError' && w.host !== undefined) return new ConnectError(w.host, w.reason ?? w.message);
  return new PlayError(`connection agent: ${w.message}`);
}

/** Splits a byte stream into complete lines, keeping a partial last line for the next chunk. */
export class LineSplitter {
  private rest = '';

  /** The complete lines in `chunk` (with what was left over before it), without their newlines. */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop()!;
    return lines.filter((l) => l.length > 0);
  }
}
