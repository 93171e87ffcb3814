/**
 * One undici keep-alive Pool per backend (per worker), sized and timed from
 * config, with its socket opens/closes counted into the backend's counters
 * (`lb_upstream_connects_total`, `lb_upstream_connections`).
 */
import { Pool } from 'undici';
import type { BackendConfig, LbConfig } from '../common/config.js';
import type { BackendCounters } from './metrics/worker-counters.js';

/** Largest upstream response head accepted, bytes; larger is a bad response (502). */
export const UPSTREAM_MAX_HEADER_BYTES = 65_536;

/** How long a closing pool may finish in-flight requests before it is destroyed, ms. */
export const POOL_CLOSE_GRACE_MS = 30_000;

/** Margin kept below a backend's advertised keep-alive timeout, ms. */
export const KEEP_ALIVE_TIMEOUT_THRESHOLD_MS = 1_000;

function noop(): void {}

/** A backend's connection pool. */
export class UpstreamPool {
  readonly pool: Pool;
  /** Pools with the same key are interchangeable (reused across reloads). */
  readonly key: string;
  private closing: Promise<void> | null = null;

  constructor(backend: BackendConfig, lb: LbConfig, counters: BackendCounters) {
    this.key = upstreamPoolKey(backend, lb);
    this.pool = new Pool(backend.url, {
      connections: lb.pool.maxConnections,
      pipelining: 1,
      keepAliveTimeout: lb.pool.idleTimeoutMs,
      keepAliveMaxTimeout: lb.pool.idleTimeoutMs,
      // undici subtracts this from the server's `Keep-Alive: timeout=N`
      // hint and uses the smaller of that and idleTimeoutMs. Its default
      // (2 s) needlessly shortened pooled sockets' lives; idled-out sockets
      // are reopened on the next burst, a connect inside the request path.
      // 1 s still closes well before the server does.
      keepAliveTimeoutThreshold: KEEP_ALIVE_TIMEOUT_THRESHOLD_MS,
      connectTimeout: lb.timeouts.connectMs,
      headersTimeout: lb.timeouts.headersMs,
      bodyTimeout: lb.timeouts.bodyMs,
      maxHeaderSize: UPSTREAM_MAX_HEADER_BYTES,
    });
    this.pool.on('connect', () => {
      counters.upstreamConnects++;
      counters.upstreamConnections++;
    });
    this.pool.on('disconnect', () => {
      counters.upstreamConnections--;
    });
    // Connect failures reach the request's handler; the events need no action.
    this.pool.on('connectionError', noop);
  }

  /** Lets in-flight requests finish (up to `graceMs`), then destroys the pool. */
  close(graceMs = POOL_CLOSE_GRACE_MS): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.pool.destroy().then(resolve, resolve);
      }, graceMs);
      timer.unref();
      this.pool.close().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        () => {
          clearTimeout(timer);
          resolve();
        },
      );
    });
    return this.closing;
  }
}

/** Identity of a pool: backend name, URL and every setting the pool uses. */
export function upstreamPoolKey(backend: BackendConfig, lb: LbConfig): string {
  const t = lb.timeouts;
  return [backend.name, backend.url, lb.pool.maxConnections, lb.pool.idleTimeoutMs, t.connectMs, t.headersMs, t.bodyMs].join('|');
}
