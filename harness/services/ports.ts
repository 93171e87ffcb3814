/**
 * TCP port helpers for orchestration: is a port free, pick a free one, and
 * which loopback host to use to reach a service that binds a wildcard.
 */
import net from 'node:net';
import { InvalidRunError } from '../../common/errors.js';
import { ErrorCode } from '../../common/error-codes.js';
import { itemAt } from '../../common/checked.js';

/** A port a service is about to bind, with who wants it (for messages). */
export interface PortClaim {
  /** TCP port, 1..65535 (0 means "pick one" and is never checked). */
  port: number;
  /** Address the service will bind, e.g. `0.0.0.0` or `127.0.0.1`. */
  host: string;
  /** Who needs it, e.g. `backend-8001` or `balancer metrics`. */
  owner: string;
}

/**
 * Whether `host:port` can be bound now: `free`, `busy` (EADDRINUSE), or
 * `error` for anything else (e.g. EADDRNOTAVAIL: the address is not local;
 * EACCES: a privileged port), which the service itself will then report.
 * The probe listens and closes at once; Node sets SO_REUSEADDR, so sockets
 * in TIME_WAIT do not count as busy, while any listener on the port does.
 */
export function probePort(port: number, host = '0.0.0.0'): Promise<'free' | 'busy' | 'error'> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? 'busy' : 'error'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/** A port the kernel considers free on `host` right now (listen on 0, close).
 * Rejects with InvalidRunError (`LBB_ERR_BIND`) when `host` cannot be bound. */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new InvalidRunError(ErrorCode.BIND, `cannot bind ${host} to pick a free port: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Checks every claimed port before anything starts. Throws one
 * InvalidRunError (`LBB_ERR_PORT_BUSY`, exit 3) naming every busy port and
 * who needed it. Ports 0 are skipped. The check binds the wildcard address
 * as well as the claimed host, because a service binding `0.0.0.0` clashes
 * with a listener on any local address.
 */
export async function assertPortsFree(claims: readonly PortClaim[]): Promise<void> {
  const busy: PortClaim[] = [];
  for (const claim of claims) {
    if (claim.port === 0) continue;
    const busyHere = (await probePort(claim.port, claim.host)) === 'busy';
    if (busyHere || (claim.host !== '0.0.0.0' && (await probePort(claim.port, '0.0.0.0')) === 'busy')) busy.push(claim);
  }
  if (busy.length === 0) return;
  const list = busy.map((c) => `${c.port} (${c.owner})`).join(', ');
  throw new InvalidRunError(
    ErrorCode.PORT_BUSY,
    `port${busy.length > 1 ? 's' : ''} already in use: ${list}. Stop what listens there (e.g. \`ss -ltnp 'sport = :${itemAt(busy, 0, 'busy[0]').port}'\`), ` +
      'change the ports in the config, or use --attach to run against services that are already running',
  );
}

/** True for loopback addresses and `localhost` (127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host to connect to for a service bound to `bindHost`: wildcards
 * become 127.0.0.1, IPv6 literals get brackets. */
export function connectHost(bindHost: string): string {
  if (bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '') return '127.0.0.1';
  return bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost;
}
