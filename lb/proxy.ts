/**
 * The proxy of one process: raw client connections (client-server.ts,
 * client-connection.ts) whose requests are forwarded by an `Exchange` each
 * (exchange.ts) over pooled raw upstream connections (upstream-pool.ts), so
 * response bytes go straight to the client with backpressure and the hot
 * path allocates little: no closures, no label lookups, no logging per
 * request.
 *
 * Health is owned elsewhere (the primary): this module keeps a local copy
 * (`setHealth`), and on a refused or reset connection marks the backend down
 * locally at once and reports it through `HealthReporter`.
 */
import type net from 'node:net';
import type { LbConfig } from '../common/config.js';
import { BackendSet } from './backend-set.js';
import { createBalancer } from './balancers/index.js';
import type { ClientConnection } from './client-connection.js';
import { ClientConnections } from './client-server.js';
import { errorBody } from './error-status.js';
import { Exchange, type ExchangeHost } from './exchange.js';
import { buildUpstreamHeaderBlock, type RequestHeaderInfo } from './headers.js';
import { logLine } from './log.js';
import { WorkerCounters } from './metrics/worker-counters.js';
import { UpstreamPool, upstreamPoolKey } from './upstream-pool.js';
import { RetryBudget } from './retry-budget.js';

export { NO_BACKEND_LABEL } from './exchange.js';

/** Receives passive failures seen by this process. */
export interface HealthReporter {
  /** Backend `index` of config `generation` refused or reset a connection. */
  reportPassiveFailure(generation: number, index: number, reason: string): void;
}

/** Everything one proxy process needs: backends, pools, balancer, counters. */
export class ProxyCore implements ExchangeHost {
  /** Counters of this process (read by snapshots). */
  readonly counters: WorkerCounters;
  /** Set during drain: responses close their connection. */
  draining = false;
  /** Concurrent retries and active requests of this process. */
  readonly retryBudget = new RetryBudget();
  private set: BackendSet | null = null;
  private pools = new Map<string, UpstreamPool>();
  private readonly info: RequestHeaderInfo = { hasBody: false, hashKey: undefined, chunked: false, hasHost: false };
  /** Every client connection of this process (all its servers). */
  readonly clients: ClientConnections;

  constructor(
    private readonly reporter: HealthReporter,
    counters: WorkerCounters = new WorkerCounters(),
  ) {
    this.counters = counters;
    this.clients = new ClientConnections(this);
  }

  /** The current config generation, or -1 before the first applyConfig. */
  get generation(): number {
    return this.set?.generation ?? -1;
  }

  /**
   * Installs a config: new balancer and backend set; pools whose backend and
   * settings are unchanged are kept (their connections too), the others
   * close gracefully. `states` is the health per backend (default: all up).
   */
  applyConfig(lb: LbConfig, generation: number, states?: readonly boolean[]): void {
    const next = new Map<string, UpstreamPool>();
    const pools = lb.backends.map((b) => {
      const pool = this.pools.get(upstreamPoolKey(b, lb)) ?? new UpstreamPool(b, lb, this.counters.backend(b.name));
      next.set(pool.key, pool);
      return pool;
    });
    for (const [key, pool] of this.pools) if (!next.has(key)) void pool.close();
    this.pools = next;
    const balancer = createBalancer(
      lb.algorithm,
      lb.backends.map((b, index) => ({ index, name: b.name, weight: b.weight })),
      { virtualNodes: lb.hash.virtualNodes },
    );
    const set = new BackendSet(
      generation,
      lb,
      pools,
      lb.backends.map((b) => this.counters.backend(b.name)),
      balancer,
    );
    if (states) states.forEach((up, i) => (set.up[i] = up ? 1 : 0));
    this.set = set;
    this.clients.configure(lb);
  }

  /** Sets the local health copy of backend `index` (ignored for an old generation). */
  setHealth(generation: number, index: number, up: boolean): void {
    const set = this.set;
    if (set === null || set.generation !== generation || index < 0 || index >= set.size) return;
    set.up[index] = up ? 1 : 0;
  }

  /** Marks a backend down locally at once and reports it (once per transition). */
  markDown(set: BackendSet, index: number, reason: string): void {
    if (set.up[index] === 0) return;
    set.up[index] = 0;
    if (set === this.set) this.reporter.reportPassiveFailure(set.generation, index, reason);
  }

  /** Handles one client request (a complete head; the body follows). */
  handleRequest(client: ClientConnection): void {
    const set = this.set;
    if (set === null) {
      const body = errorBody(503);
      client.writeHead(503, undefined, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length)]);
      client.end(body);
      return;
    }
    if (this.draining) client.shouldKeepAlive = false;
    const clientIp = client.remoteAddress;
    const info = this.info;
    const block = buildUpstreamHeaderBlock(client.rawHeaders, clientIp, set.hashHeader, info);
    new Exchange(this, set, client, client, block, info, clientIp).start();
  }

  /** Creates a client-facing server (not yet listening). */
  createServer(): net.Server {
    return this.clients.createServer();
  }

  /**
   * Graceful stop of `server`: stop accepting, close idle connections, let
   * in-flight requests finish (their connections close after the response)
   * for up to `drainMs`, then cut what is left and close the pools.
   */
  async drain(server: net.Server, drainMs: number): Promise<void> {
    this.draining = true;
    server.close();
    const clients = this.clients;
    clients.closeIdle();
    const deadline = Date.now() + drainMs;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        clients.closeIdle();
        if (clients.size <= 0 || Date.now() >= deadline) {
          clearInterval(tick);
          resolve();
        }
      }, 50);
    });
    if (clients.size > 0) {
      logLine(`drain deadline (${drainMs}ms) passed: closing ${clients.size} connection(s)`);
      clients.closeAll();
    }
    clients.stop();
    await this.closePools(1_000);
  }

  /** Closes every upstream pool (in-flight requests get `graceMs`). */
  async closePools(graceMs: number): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close(graceMs)));
  }
}
