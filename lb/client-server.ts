/**
 * The client side of one proxy process: plain `net.Server`s whose sockets
 * become ClientConnections (client-connection.ts), the set of open
 * connections (for `lb_active_connections`, drain and timeouts), the
 * per-worker connection limit, and one sweep timer that applies the idle,
 * request-head, request-body and send timeouts to every connection (no
 * timer per connection).
 *
 * The sweep closes at most CUTS_PER_TICK connections a tick, oldest first,
 * and comes back after CATCH_UP_MS while more are due. Connections opened
 * together time out together: a slowloris swarm of 1,000 connected at once
 * would otherwise be cut in one tick and reconnect in one burst, stalling
 * every other request of this worker for that long. Spread out, the same
 * work costs the other requests a fraction of a millisecond per tick. A
 * timeout therefore fires within one period after it passes, plus up to
 * (due connections / CUTS_PER_TICK) × CATCH_UP_MS when many are due at once.
 */
import net from 'node:net';
import type { LbConfig } from '../common/config.js';
import { ClientConnection, type ClientTimeouts, type ConnectionHost } from './client-connection.js';
import { ClientRefusal, rawErrorResponse } from './error-status.js';
import { ErrorIndex, type WorkerCounters } from './metrics/worker-counters.js';

/** Bounds of the sweep period, ms: a timeout fires within one period after it passes. */
const MIN_SWEEP_MS = 20;
const MAX_SWEEP_MS = 1_000;
/** Connections a sweep tick closes at most (idle, head and linger timeouts together). */
export const CUTS_PER_TICK = 16;
/** While more connections are due than one tick may close, the sweep runs again after this, ms:
 * at most CUTS_PER_TICK × 1000 / CATCH_UP_MS = 800 cuts/s per worker. */
export const CATCH_UP_MS = 20;

/** A refused connection is kept this long at most (its 503 is read meanwhile), ms. */
const REFUSED_LINGER_MS = 1_000;

/** What the client side needs from the proxy. */
export interface ClientSideHost {
  readonly counters: WorkerCounters;
  readonly draining: boolean;
  handleRequest(client: ClientConnection): void;
}

function dropRefused(this: net.Socket): void {
  this.destroy();
}

function noop(): void {}

/** Every client connection of this process and the servers that accept them. */
export class ClientConnections implements ConnectionHost {
  maxHeaderBytes = 16_384;
  maxBodyBytes = 1_073_741_824;
  private maxConnections = 16_384;
  private timeouts: ClientTimeouts = { idleMs: 5_000, headersMs: 10_000, bodyMs: 60_000, sendMs: 60_000 };
  private readonly open = new Set<ClientConnection>();
  private sweep: NodeJS.Timeout | null = null;
  private catchUp: NodeJS.Timeout | null = null;
  private sweepMs = MAX_SWEEP_MS;

  constructor(private readonly proxy: ClientSideHost) {}

  get counters(): WorkerCounters {
    return this.proxy.counters;
  }

  get draining(): boolean {
    return this.proxy.draining;
  }

  /** Open connections (refused ones not included). */
  get size(): number {
    return this.open.size;
  }

  /** Takes limits and timeouts from `lb` (open connections get them too). */
  configure(lb: LbConfig): void {
    this.maxHeaderBytes = lb.limits.maxHeaderBytes;
    this.maxBodyBytes = lb.limits.maxBodyBytes;
    this.maxConnections = lb.limits.maxConnections;
    const t = lb.timeouts;
    this.timeouts = { idleMs: t.clientIdleMs, headersMs: t.clientHeadersMs, bodyMs: t.clientBodyMs, sendMs: t.clientSendMs };
    const shortest = Math.min(t.clientIdleMs, t.clientHeadersMs, t.clientBodyMs, t.clientSendMs);
    const period = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(shortest / 5)));
    if (period !== this.sweepMs && this.sweep !== null) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
    this.sweepMs = period;
    this.startSweep();
  }

  /** Creates a server (not yet listening) whose connections this object serves. */
  createServer(): net.Server {
    return net.createServer({ allowHalfOpen: true, noDelay: true }, this.accept);
  }

  /** Takes a socket from any listener (worker.ts's extra reuseport sockets too). */
  readonly accept = (socket: net.Socket): void => {
    if (this.open.size >= this.maxConnections) {
      this.refuse(socket);
      return;
    }
    this.counters.activeConnections++;
    this.open.add(new ClientConnection(this, socket));
    this.startSweep();
  };

  /** Above maxConnections: a 503 with Connection: close, read and dropped input, a short linger. */
  private refuse(socket: net.Socket): void {
    const counters = this.counters;
    counters.errorsByKind[ErrorIndex.overload] = (counters.errorsByKind[ErrorIndex.overload] ?? 0) + 1;
    socket.on('error', noop);
    socket.setTimeout(REFUSED_LINGER_MS, dropRefused);
    socket.on('end', dropRefused);
    socket.resume();
    socket.end(rawErrorResponse(ClientRefusal.overloaded.status));
  }

  /** @internal ConnectionHost */
  handleRequest(client: ClientConnection): void {
    this.proxy.handleRequest(client);
  }

  /** @internal ConnectionHost */
  closed(client: ClientConnection): void {
    if (this.open.delete(client)) this.counters.activeConnections--;
  }

  /** Closes the connections that wait for a request (drain). */
  closeIdle(): void {
    for (const c of this.open) if (c.idle) c.socket.destroy();
  }

  /** Cuts every connection. */
  closeAll(): void {
    for (const c of this.open) c.socket.destroy();
  }

  /** Stops the sweep timer (the process is stopping). */
  stop(): void {
    if (this.sweep !== null) clearInterval(this.sweep);
    if (this.catchUp !== null) clearTimeout(this.catchUp);
    this.sweep = null;
    this.catchUp = null;
  }

  private startSweep(): void {
    if (this.sweep !== null) return;
    this.sweep = setInterval(this.tick, this.sweepMs);
    this.sweep.unref();
  }

  /** One sweep: up to CUTS_PER_TICK closes in connection order (a Set
   * iterates in insertion order, so the oldest go first); a catch-up tick
   * when the budget ran out. */
  private readonly tick = (): void => {
    if (this.catchUp !== null) clearTimeout(this.catchUp);
    this.catchUp = null;
    const now = Date.now();
    let budget = CUTS_PER_TICK;
    for (const c of this.open) {
      if (!c.checkTimeouts(now, this.timeouts) || --budget > 0) continue;
      if (this.sweep !== null) {
        this.catchUp = setTimeout(this.tick, CATCH_UP_MS);
        this.catchUp.unref();
      }
      return;
    }
  };
}
