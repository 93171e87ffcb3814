/**
 * One keep-alive connection pool per backend (per worker): at most
 * `pool.maxConnections` sockets, idle ones reused last-in first-out (the
 * warmest socket, and the others idle out), requests beyond the cap wait in
 * FIFO order, at most `pool.maxQueue` of them: beyond that a request fails
 * at once with POOL_QUEUE_FULL (503), so a slow backend cannot build an
 * unbounded queue. How long one waits is bounded by its exchange's deadline. Opens and closes are counted into the backend's counters
 * (`lb_upstream_connects_total`, `lb_upstream_connections`).
 *
 * An idle socket lives min(`pool.idleTimeoutMs`, the backend's `Keep-Alive:
 * timeout` hint minus KEEP_ALIVE_TIMEOUT_THRESHOLD_MS), so the balancer
 * closes before the backend does and never writes into a closing socket.
 */
import type { BackendConfig, LbConfig } from '../common/config.js';
import type { BackendCounters } from './metrics/worker-counters.js';
import { UpstreamConnection, UpstreamError, type ConnectionOwner, type ConnectionTimeouts } from './upstream-connection.js';
import { ErrorCode } from '../common/error-codes.js';

export { UPSTREAM_MAX_HEADER_BYTES } from './upstream-connection.js';

/** How long a closing pool may finish in-flight requests before it is destroyed, ms. */
export const POOL_CLOSE_GRACE_MS = 30_000;

/** Margin kept below a backend's advertised keep-alive timeout, ms. */
export const KEEP_ALIVE_TIMEOUT_THRESHOLD_MS = 1_000;

/** Someone waiting for a connection (the proxy's exchange). */
export interface PoolWaiter {
  /** A connected, idle connection, now the waiter's until it begins and ends
   * an exchange. Returns false when the waiter no longer wants one (the
   * pool then keeps it). */
  onUpstreamReady(conn: UpstreamConnection): boolean;
  /** No connection: the connect failed, or the pool closed. */
  onUpstreamError(err: Error): void;
}

/** A backend's connection pool. */
export class UpstreamPool implements ConnectionOwner {
  /** Pools with the same key are interchangeable (reused across reloads). */
  readonly key: string;
  private readonly host: string;
  private readonly port: number;
  private readonly max: number;
  private readonly maxQueue: number;
  private readonly idleMs: number;
  private readonly timeouts: ConnectionTimeouts;
  private readonly idle: UpstreamConnection[] = [];
  /** Connections opened and not yet closed (connecting, idle or busy). */
  private open = 0;
  private readonly queue: (PoolWaiter | null)[] = [];
  private queueHead = 0;
  /** Waiters in `queue` that were not cancelled. */
  private waiting = 0;
  /** The waiter each connecting socket was opened for. */
  private readonly connectingFor = new Map<UpstreamConnection, PoolWaiter | null>();
  private readonly all = new Set<UpstreamConnection>();
  private closing: Promise<void> | null = null;
  private closeNow: (() => void) | null = null;

  constructor(
    backend: BackendConfig,
    lb: LbConfig,
    private readonly counters: BackendCounters,
  ) {
    this.key = upstreamPoolKey(backend, lb);
    const url = new URL(backend.url);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port === '' ? 80 : Number(url.port);
    this.max = lb.pool.maxConnections;
    this.maxQueue = lb.pool.maxQueue;
    this.idleMs = lb.pool.idleTimeoutMs;
    this.timeouts = { connectMs: lb.timeouts.connectMs, headersMs: lb.timeouts.headersMs, bodyMs: lb.timeouts.bodyMs };
  }

  /** The backend's `host:port`, for a request that has no Host header. */
  get authority(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /**
   * Gets a connection for `waiter`: an idle one at once (synchronously), a
   * new one when under the cap, else a place in the queue.
   */
  acquire(waiter: PoolWaiter): void {
    if (this.closing !== null) {
      waiter.onUpstreamError(new UpstreamError(ErrorCode.POOL_CLOSED, 'the backend was removed by a reload'));
      return;
    }
    const conn = this.idle.pop();
    if (conn !== undefined) {
      if (!waiter.onUpstreamReady(conn)) this.released(conn, true);
      return;
    }
    if (this.open < this.max) {
      this.connect(waiter);
      return;
    }
    if (this.waiting >= this.maxQueue) {
      waiter.onUpstreamError(
        new UpstreamError(ErrorCode.POOL_QUEUE_FULL, `all ${this.max} connections busy and ${this.waiting} requests waiting (pool.maxQueue)`),
      );
      return;
    }
    this.countWaiting(1);
    this.queue.push(waiter);
  }

  /** Requests waiting for a connection (for tests and metrics). */
  get queued(): number {
    return this.waiting;
  }

  /** Withdraws a waiter that no longer wants a connection (client gone). */
  cancel(waiter: PoolWaiter): void {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      if (this.queue[i] === waiter) {
        this.queue[i] = null;
        this.countWaiting(-1);
      }
    }
    for (const [conn, w] of this.connectingFor) if (w === waiter) this.connectingFor.set(conn, null);
  }

  /** Moves this pool's waiting count and the backend's queued-requests gauge together. */
  private countWaiting(delta: 1 | -1): void {
    this.waiting += delta;
    this.counters.queuedRequests += delta;
  }

  private connect(waiter: PoolWaiter | null): void {
    this.open++;
    const conn = new UpstreamConnection(this, this.host, this.port, this.timeouts);
    this.connectingFor.set(conn, waiter);
    this.all.add(conn);
  }

  private nextWaiter(): PoolWaiter | null {
    while (this.queueHead < this.queue.length) {
      const w = this.queue[this.queueHead] ?? null;
      this.queue[this.queueHead++] = null;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      if (w !== null) {
        this.countWaiting(-1);
        return w;
      }
    }
    return null;
  }

  /** @internal ConnectionOwner */
  connected(conn: UpstreamConnection): void {
    this.counters.upstreamConnects++;
    this.counters.upstreamConnections++;
    const waiter = this.connectingFor.get(conn) ?? null;
    this.connectingFor.delete(conn);
    if (waiter === null || !waiter.onUpstreamReady(conn)) this.released(conn, true);
  }

  /** @internal ConnectionOwner */
  released(conn: UpstreamConnection, reusable: boolean): void {
    const idleMs = Math.min(this.idleMs, conn.keepAliveHintMs - KEEP_ALIVE_TIMEOUT_THRESHOLD_MS);
    if (!reusable || this.closing !== null || idleMs <= 0) {
      conn.destroy();
      return;
    }
    for (let waiter = this.nextWaiter(); waiter !== null; waiter = this.nextWaiter()) {
      if (waiter.onUpstreamReady(conn)) return;
    }
    conn.idleTimeout(idleMs);
    this.idle.push(conn);
  }

  /** @internal ConnectionOwner */
  closed(conn: UpstreamConnection, wasConnected: boolean, err: Error | null): void {
    this.open--;
    this.all.delete(conn);
    if (wasConnected) this.counters.upstreamConnections--;
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.connectingFor.has(conn)) {
      const waiter = this.connectingFor.get(conn) ?? null;
      this.connectingFor.delete(conn);
      if (waiter !== null) waiter.onUpstreamError(err ?? new UpstreamError('ECONNRESET', 'connection closed while connecting'));
    }
    if (this.closing !== null) {
      if (this.open === 0) this.closeNow?.();
      return;
    }
    // A freed place: the first waiter gets a fresh connection.
    if (this.queueHead < this.queue.length && this.open < this.max) {
      const waiter = this.nextWaiter();
      if (waiter !== null) this.connect(waiter);
    }
  }

  /** Lets in-flight requests finish (up to `graceMs`), then destroys every connection. */
  close(graceMs = POOL_CLOSE_GRACE_MS): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const conn of [...this.all])
          conn.abort(new UpstreamError(ErrorCode.POOL_CLOSED, `the backend was removed by a reload; in-flight request cut after ${graceMs}ms`));
        this.closeNow?.();
      }, graceMs);
      timer.unref();
      this.closeNow = () => {
        clearTimeout(timer);
        this.closeNow = null;
        resolve();
      };
      for (let w = this.nextWaiter(); w !== null; w = this.nextWaiter()) {
        w.onUpstreamError(new UpstreamError(ErrorCode.POOL_CLOSED, 'the backend was removed by a reload'));
      }
      for (const conn of this.idle.splice(0)) conn.destroy();
      if (this.open === 0) this.closeNow();
    });
    return this.closing;
  }
}

/** Identity of a pool: backend name, URL and every setting the pool uses. */
export function upstreamPoolKey(backend: BackendConfig, lb: LbConfig): string {
  const t = lb.timeouts;
  return [backend.name, backend.url, lb.pool.maxConnections, lb.pool.maxQueue, lb.pool.idleTimeoutMs, t.connectMs, t.headersMs, t.bodyMs].join('|');
}
