/**
 * The SSH transport: one connection per host, one exec channel per command.
 * The only importer of ssh2-promise (and of ssh2, for what it lacks): the
 * rest of the transport (ssh-transport.ts, ssh-login.ts, ssh-host-keys.ts,
 * ssh-failures.ts, ssh-commands.ts) is told what it needs of them here.
 *
 * ssh2-promise gives the connection; commands go through its `spawn()`, which
 * hands back the raw ssh2 channel, because its `exec()` throws the exit status
 * away and rejects on any stderr. We use its single-connection class
 * (`SSH2Promise.SSH`) rather than `SSH2Promise` itself: the latter either
 * shares connections through a process-wide cache keyed by user@host:port
 * (a failed connection would be served again, and two transports to one host
 * would share one), or, with the cache disabled, opens a new connection for
 * every `spawn()`. Its reconnect loop is turned off: a host that is down must
 * say so within the connect timeout, not after ten retries 5 s apart.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { homedir } from 'node:os';
import ssh2 from 'ssh2';
import type { AuthHandlerMiddleware } from 'ssh2';
import SSH2Promise from 'ssh2-promise';
import { ConnectError } from '../core/errors.ts';
import { connectFailure, type Ssh2Error } from './ssh-failures.ts';
import { hostKeyAlgorithms, hostKeyGuard } from './ssh-host-keys.ts';
import { authSequence, loadCredentials } from './ssh-login.ts';
import { knownHostsFilesOf, type SshConnection, type SshOptions } from './ssh-options.ts';
import { SshTransport, type SshSession } from './ssh-transport.ts';

/**
 * Open an SSH connection to a host and return it as a {@link Transport}.
 * Rejects with {@link HostKeyError} when the host key is not trusted (before
 * any login attempt), and with {@link ConnectError} when the host cannot be
 * reached or refuses every credential.
 *
 * @example
 * ```ts
 * import { connectSsh } from './ssh.ts';
 * const t = await connectSsh({ host: 'LB1', address: '10.0.0.11', user: 'deploy', become: true });
 * const { code, stdout } = await t.run('cat /etc/hostname');
 * await t.close();
 * ```
 */
export async function connectSsh(o: SshOptions): Promise<SshConnection> {
  const env = o.env ?? process.env;
  const home = env.HOME || homedir();
  const port = o.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new ConnectError(o.host, `port ${port} is not a TCP port`);
  const user = o.user ?? 'root';
  const connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
  const knownHostsFiles = knownHostsFilesOf(o, home);
  if (knownHostsFiles.length === 0) throw new ConnectError(o.host, 'knownHostsFile is an empty list: no host key could ever be trusted');

  const credentials = await loadCredentials(o.host, o.identityFile, env.SSH_AUTH_SOCK, home, (data) => ssh2.utils.parseKey(data));
  const auth = authSequence(user, credentials);
  const guard = hostKeyGuard(o.host, o.address, port, knownHostsFiles, o.acceptNewHostKeys ?? false);

  // Our own socket, only to turn Nagle off: a command is a handful of small
  // packets each way, and Nagle with delayed ACKs added ~40 ms to every one.
  // Through a jump host: a channel of its connection instead.
  const via = o.jump ? await connectSsh({
    ...o.jump, host: `${o.host} (jump host ${o.jump.address}:${o.jump.port ?? 22})`,
    acceptNewHostKeys: o.acceptNewHostKeys, connectTimeoutMs, env: o.env,
  }) as SshTransport : undefined;
  let sock: Socket | Duplex;
  try {
    sock = via ? await via.forward(o.host, o.address, port) : netConnect({ host: o.address, port, noDelay: true });
  } catch (e) {
    await via?.close();
    throw e;
  }
  const ssh = new SSH2Promise.SSH({
    host: o.address,
    port,
    sock,
    username: user,
    readyTimeout: connectTimeoutMs,
    reconnect: false,
    hostVerifier: guard.verify,
    // ssh2 takes `false` as "no more methods"; @types/ssh2 leaves it out.
    authHandler: auth.handler as unknown as AuthHandlerMiddleware,
    algorithms: { serverHostKey: hostKeyAlgorithms(knownHostsFiles, o.address, port) },
    // Without these a silently dead network (no RST) would hang a command
    // until its own timeout; with them it is noticed within a minute.
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
  });
  const transport = new SshTransport(session(ssh), sock, o.host, user, o, guard, via);

  // ssh2-promise rejects with the last error seen; the first one is the cause
  // (a handshake timeout is followed by "Connection lost before handshake").
  const errors: Error[] = [];
  const onEvent = (status: string, _conn: unknown, payload?: { err?: Error | null }) => {
    if (status === 'disconnect' && payload?.err) errors.push(payload.err);
  };
  ssh.on('ssh', onEvent);
  const connecting = ssh.connect();
  let timer: NodeJS.Timeout | undefined;
  // ssh2's readyTimeout should fire first; this bounds anything it misses.
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError(o.host, `timed out after ${connectTimeoutMs / 1000} s connecting to ${o.address}:${port}`)), connectTimeoutMs + 1_000);
  });
  try {
    await Promise.race([connecting, overdue]);
  } catch (e) {
    connecting.catch(() => {});
    sock.destroy();
    await transport.close();
    // An agent that cannot be reached is skipped, not the reason for failing.
    const cause = errors.find((x) => (x as Ssh2Error).level !== 'agent') ?? e;
    throw e instanceof ConnectError ? e : connectFailure(cause, {
      host: o.host, where: `${o.address}:${port}`, address: o.address, user, connectTimeoutMs, guard, auth,
    });
  } finally {
    clearTimeout(timer);
    ssh.off('ssh', onEvent);
  }
  return transport;
}

type Connection = InstanceType<typeof SSH2Promise.SSH>;

/** The parts of ssh2's Client that ssh2-promise hides: a keepalive and a forwarded channel need them. */
interface RawClient {
  _callbacks?: Array<(failed: boolean) => void>;
  _protocol?: { ping(): void };
  forwardOut: ssh2.Client['forwardOut'];
}

/** The connection as the transport's state machine sees it. */
function session(ssh: Connection): SshSession {
  const client = () => (ssh as unknown as { sshConnection?: RawClient }).sshConnection;
  return {
    onStatus: (listener) => {
      ssh.on('ssh', (status: string, _conn: unknown, payload?: { err?: Error | null }) => listener(status, payload?.err));
    },
    spawn: (command) => ssh.spawn(command),
    close: () => ssh.close(),
    ping: (onReply) => {
      // ssh2 keeps no public ping; its own keepalive does exactly this: queue a
      // reply callback and send `keepalive@openssh.com` with want-reply.
      const c = client();
      if (!c?._callbacks || !c._protocol) return false;
      c._callbacks.push(onReply);
      c._protocol.ping();
      return true;
    },
    forwardOut: (address, port, done) => {
      const c = client();
      if (!c) return false;
      c.forwardOut('127.0.0.1', 0, address, port, (err, channel) => done(err, channel as Duplex));
      return true;
    },
  };
}
