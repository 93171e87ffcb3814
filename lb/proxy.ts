/**
 * The proxy of one process: a node:http server whose requests are forwarded
 * through undici pools with a reusable handler object per request
 * (`Exchange`), so response bytes go straight to the client with
 * backpressure and the hot path allocates little: no closures, no label
 * lookups, no logging per request.
 *
 * Health is owned elsewhere (the primary): this module keeps a local copy
 * (`setHealth`), and on a refused or reset connection marks the backend down
 * locally at once and reports it through `HealthReporter`.
 */
import http, { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { LbConfig } from '../common/config.js';
import { createBalancer } from './balancers/index.js';
import type { Balancer, PickContext } from './balancers/balancer.js';
import { classifyUpstreamError, errorBody, rawErrorResponse, type FailureInfo } from './error-status.js';
import { buildClientHeaders, buildUpstreamHeaders, type RequestHeaderInfo } from './headers.js';
import { logLine } from './log.js';
import { BackendCounters, ErrorIndex, WorkerCounters, errorIndexOf } from './metrics/worker-counters.js';
import { UpstreamPool, upstreamPoolKey } from './upstream-pool.js';

/** Receives passive failures seen by this process. */
export interface HealthReporter {
  /** Backend `index` of config `generation` refused or reset a connection. */
  reportPassiveFailure(generation: number, index: number, reason: string): void;
}

/** Label used in `lb_requests_total` for responses no backend produced (503). */
export const NO_BACKEND_LABEL = 'none';

/** Error given to undici's abort when the client went away. */
class ClientAbortError extends Error {
  readonly code = 'LB_ERR_CLIENT_ABORT';
  constructor() {
    super('client closed the connection');
  }
}
const CLIENT_ABORT = new ClientAbortError();

/** One generation of backends (replaced as a whole on reload). */
class BackendSet {
  readonly size: number;
  readonly names: readonly string[];
  readonly up: Uint8Array;
  readonly inFlight: Int32Array;
  /** Scratch eligibility mask for retries; pick() is synchronous, so one suffices. */
  readonly eligible: Uint8Array;
  readonly pickCtx: PickContext;
  readonly hashHeader: string | undefined;
  readonly reset: boolean;
  readonly maxRetries: number;
  readonly passive: boolean;

  constructor(
    readonly generation: number,
    readonly lb: LbConfig,
    readonly pools: readonly UpstreamPool[],
    readonly counters: readonly BackendCounters[],
    readonly balancer: Balancer,
  ) {
    this.size = lb.backends.length;
    this.names = lb.backends.map((b) => b.name);
    this.up = new Uint8Array(this.size).fill(1);
    this.inFlight = new Int32Array(this.size);
    this.eligible = new Uint8Array(this.size);
    this.pickCtx = { clientIp: '', hashKey: undefined, inFlight: this.inFlight };
    this.hashHeader = lb.algorithm === 'consistent_hash' && lb.hash.key === 'header' ? lb.hash.header?.toLowerCase() : undefined;
    this.reset = !lb.pool.keepAlive;
    this.maxRetries = lb.retries.max;
    this.passive = lb.health.passive.enabled;
  }

  /** Picks among healthy backends not in `tried` (null: none tried yet). */
  pick(clientIp: string, hashKey: string | undefined, tried: Uint8Array | null): number {
    const ctx = this.pickCtx;
    ctx.clientIp = clientIp;
    ctx.hashKey = hashKey;
    if (tried === null) return this.balancer.pick(ctx, this.up);
    const mask = this.eligible;
    for (let i = 0; i < this.size; i++) mask[i] = this.up[i]! & (tried[i]! ^ 1);
    return this.balancer.pick(ctx, mask);
  }
}

/** The ServerResponse class of the proxy server: carries its exchange so
 * shared listener functions can find it without a closure per request. */
class ProxyResponse extends ServerResponse {
  exchange: Exchange | null = null;
}

function onResponseClose(this: ProxyResponse): void {
  const ex = this.exchange;
  if (ex !== null && !ex.done) ex.clientGone();
}

function onResponseDrain(this: ProxyResponse): void {
  const ex = this.exchange;
  if (ex !== null) ex.drained();
}

function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true;
    default:
      return false;
  }
}

/**
 * The client's request body as a stream undici can consume, without
 * letting undici destroy the client's socket on an upstream error (it
 * destroys a failed request's body stream). Knows whether any byte was
 * consumed, which decides whether a retry is safe.
 */
class BodySource extends Readable {
  /** At least one body byte was taken from the client. */
  consumed = false;
  private attached = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly owner: Exchange,
  ) {
    super({ highWaterMark: 65_536 });
  }

  override _read(): void {
    const req = this.req;
    if (!this.attached) {
      this.attached = true;
      req.on('data', this.onData);
      req.on('end', this.onEnd);
      req.on('error', this.onAbort);
      req.on('aborted', this.onAbort);
      if (req.readableEnded) {
        this.push(null);
        return;
      }
    }
    req.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.detach();
    cb(err);
  }

  private detach(): void {
    if (!this.attached) return;
    this.attached = false;
    const req = this.req;
    req.off('data', this.onData);
    req.off('end', this.onEnd);
    req.off('error', this.onAbort);
    req.off('aborted', this.onAbort);
    if (!req.readableEnded) req.pause();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.consumed = true;
    this.owner.core.counters.bytesIn += chunk.length;
    if (!this.push(chunk)) this.req.pause();
  };

  private readonly onEnd = (): void => {
    this.push(null);
  };

  private readonly onAbort = (): void => {
    // The client is gone: say so before undici reports the body error, so
    // it is not mistaken for a backend failure.
    this.owner.clientGone();
    this.destroy(CLIENT_ABORT);
  };
}

/**
 * One client request and its upstream attempts. It is undici's dispatch
 * handler (legacy API: raw header Buffers, `resume` for backpressure).
 */
class Exchange implements Dispatcher.DispatchHandler {
  done = false;
  private attempts = 0;
  private backend = -1;
  private tried: Uint8Array | null = null;
  private abortFn: ((err: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private inFlight = false;
  private requestSent = false;
  private gone = false;
  private waitingDrain = false;
  private status = 0;
  private body: BodySource | null = null;
  private readonly headers: string[];
  private readonly hasBody: boolean;
  private readonly hashKey: string | undefined;
  private readonly clientIp: string;
  private readonly startMs: number;

  constructor(
    readonly core: ProxyCore,
    private readonly set: BackendSet,
    private readonly req: IncomingMessage,
    private readonly res: ProxyResponse,
    info: RequestHeaderInfo,
  ) {
    this.startMs = performance.now();
    this.clientIp = req.socket.remoteAddress ?? '';
    this.headers = buildUpstreamHeaders(req.rawHeaders, this.clientIp, set.hashHeader, info);
    this.hasBody = info.hasBody;
    this.hashKey = info.hashKey;
    res.exchange = this;
    res.on('close', onResponseClose);
  }

  start(): void {
    const index = this.set.pick(this.clientIp, this.hashKey, null);
    if (index < 0) {
      this.core.counters.errorsByKind[ErrorIndex.noBackend]! += 1;
      this.respondError(503, -1);
      return;
    }
    this.dispatchTo(index);
  }

  private dispatchTo(index: number): void {
    const set = this.set;
    this.backend = index;
    this.attempts++;
    this.inFlight = true;
    this.requestSent = false;
    this.abortFn = null;
    set.inFlight[index]! += 1;
    set.counters[index]!.activeRequests++;
    if (this.hasBody) {
      this.body?.destroy();
      this.body = new BodySource(this.req, this);
    }
    const req = this.req;
    set.pools[index]!.pool.dispatch(
      {
        path: req.url ?? '/',
        method: req.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body: this.body,
        reset: set.reset,
      },
      this,
    );
  }

  /** Ends the current upstream attempt's bookkeeping (exactly once per attempt). */
  private endAttempt(): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.abortFn = null;
    this.set.inFlight[this.backend]! -= 1;
    this.set.counters[this.backend]!.activeRequests--;
  }

  /** The client closed its connection before the response was complete. */
  clientGone(): void {
    if (this.gone || this.done) return;
    this.gone = true;
    // onError (now, or when a queued request gets its socket) counts the abort.
    if (this.abortFn !== null) {
      this.abortFn(CLIENT_ABORT);
      return;
    }
    if (!this.inFlight) {
      this.done = true;
      this.core.counters.errorsByKind[ErrorIndex.clientAbort]! += 1;
    }
    // With no abortFn yet, the request waits in the pool's queue: onConnect aborts it.
  }

  drained(): void {
    this.waitingDrain = false;
    if (this.resumeFn !== null) this.resumeFn();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.gone) {
      abort(CLIENT_ABORT);
      return;
    }
    this.abortFn = abort;
  }

  onRequestSent(): void {
    this.requestSent = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.gone) return false;
    this.resumeFn = resume;
    this.status = statusCode;
    const res = this.res;
    // The backend's Date (if any) is forwarded; do not add a second one.
    res.sendDate = false;
    if (this.core.draining) res.shouldKeepAlive = false;
    res.writeHead(statusCode, statusText || http.STATUS_CODES[statusCode] || 'Unknown', buildClientHeaders(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.core.counters.bytesOut += chunk.length;
    if (this.res.write(chunk)) return true;
    if (!this.waitingDrain) {
      this.waitingDrain = true;
      this.res.once('drain', onResponseDrain);
    }
    return false;
  }

  onComplete(): void {
    this.endAttempt();
    this.done = true;
    this.res.end();
    this.set.counters[this.backend]!.observe(this.status, (performance.now() - this.startMs) / 1000);
  }

  onError(err: Error): void {
    this.endAttempt();
    if (this.done) return;
    const counters = this.core.counters;
    if (this.gone) {
      this.done = true;
      counters.errorsByKind[ErrorIndex.clientAbort]! += 1;
      return;
    }
    const set = this.set;
    const index = this.backend;
    const failure = classifyUpstreamError(err);
    if (failure.passive && set.passive) this.core.markDown(set, index, passiveReason(failure, err));
    if (this.res.headersSent) {
      // Mid-response: the status is gone; the only honest signal is a cut connection.
      this.done = true;
      counters.errorsByKind[errorIndexOf(failure.kind)]! += 1;
      set.counters[index]!.observe(this.status, (performance.now() - this.startMs) / 1000);
      this.res.destroy();
      return;
    }
    if (this.mayRetry(failure)) {
      const tried = (this.tried ??= new Uint8Array(set.size));
      tried[index] = 1;
      const next = set.pick(this.clientIp, this.hashKey, tried);
      if (next >= 0) {
        set.counters[index]!.retriesByReason[failure.retryReason]! += 1;
        this.dispatchTo(next);
        return;
      }
    }
    counters.errorsByKind[errorIndexOf(failure.kind)]! += 1;
    this.respondError(failure.status, index);
  }

  private mayRetry(failure: FailureInfo): boolean {
    if (failure.retryReason < 0 || this.attempts > this.set.maxRetries) return false;
    if (this.body !== null && this.body.consumed) return false;
    return failure.neverReached || !this.requestSent || isIdempotent(this.req.method ?? '');
  }

  /** Sends the balancer's own error response and counts it. */
  private respondError(status: number, index: number): void {
    this.done = true;
    const res = this.res;
    const body = errorBody(status);
    // An unread request body would be parsed as the next request: close instead.
    if (this.hasBody || this.core.draining) res.shouldKeepAlive = false;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
    res.end(body);
    const c = index < 0 ? this.core.counters.backend(NO_BACKEND_LABEL) : this.set.counters[index]!;
    c.observe(status, (performance.now() - this.startMs) / 1000);
  }
}

function passiveReason(failure: FailureInfo, err: Error): string {
  const code = (err as { code?: string }).code ?? err.name;
  return `${failure.kind === 'connect' ? 'connect' : 'reset'} ${code}`;
}

/** Everything one proxy process needs: backends, pools, balancer, counters. */
export class ProxyCore {
  /** Counters of this process (read by snapshots). */
  readonly counters: WorkerCounters;
  /** Set during drain: responses close their connection. */
  draining = false;
  private set: BackendSet | null = null;
  private pools = new Map<string, UpstreamPool>();
  private readonly info: RequestHeaderInfo = { hasBody: false, hashKey: undefined };
  private readonly servers = new Set<http.Server>();

  constructor(
    private readonly reporter: HealthReporter,
    counters: WorkerCounters = new WorkerCounters(),
  ) {
    this.counters = counters;
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
    for (const server of this.servers) applyServerTimeouts(server, lb);
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

  /** Handles one client request. */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const set = this.set;
    const pres = res as ProxyResponse;
    if (set === null) {
      const body = errorBody(503);
      pres.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length }).end(body);
      return;
    }
    if (this.draining) pres.shouldKeepAlive = false;
    new Exchange(this, set, req, pres, this.info).start();
  };

  private readonly onSocketClose = (): void => {
    this.counters.activeConnections--;
  };

  private readonly onConnection = (socket: Socket): void => {
    this.counters.activeConnections++;
    socket.once('close', this.onSocketClose);
  };

  private readonly onClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    const code = err.code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    let status: 400 | 408 | 431 = 400;
    if (code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      this.counters.errorsByKind[ErrorIndex.headersTooLarge]! += 1;
    } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      this.counters.errorsByKind[ErrorIndex.timeout]! += 1;
    } else {
      this.counters.errorsByKind[ErrorIndex.badRequest]! += 1;
    }
    // A response already in progress on this socket cannot be followed by ours.
    if ((socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    socket.end(rawErrorResponse(status), () => socket.destroy());
  };

  /** Creates the client-facing server (not yet listening). */
  createServer(): http.Server {
    const lb = this.set?.lb;
    const server = http.createServer(
      {
        ServerResponse: ProxyResponse as typeof ServerResponse,
        maxHeaderSize: lb?.limits.maxHeaderBytes ?? 16_384,
        noDelay: true,
        // Whole-request time limit off: a large upload may take long; slow
        // senders are bounded by headersTimeout and the body timeouts.
        requestTimeout: 0,
      },
      this.handleRequest,
    );
    if (lb) applyServerTimeouts(server, lb);
    server.on('connection', this.onConnection);
    server.on('clientError', this.onClientError);
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /**
   * Graceful stop of `server`: stop accepting, let in-flight requests finish
   * (their connections close after the response) for up to `drainMs`, then
   * cut what is left and close the pools.
   */
  async drain(server: http.Server, drainMs: number): Promise<void> {
    this.draining = true;
    server.close();
    server.closeIdleConnections();
    const deadline = Date.now() + drainMs;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        server.closeIdleConnections();
        if (this.counters.activeConnections <= 0 || Date.now() >= deadline) {
          clearInterval(tick);
          resolve();
        }
      }, 50);
    });
    if (this.counters.activeConnections > 0) {
      logLine(`drain deadline (${drainMs}ms) passed: closing ${this.counters.activeConnections} connection(s)`);
      server.closeAllConnections();
    }
    await this.closePools(1_000);
  }

  /** Closes every upstream pool (in-flight requests get `graceMs`). */
  async closePools(graceMs: number): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close(graceMs)));
  }
}

function applyServerTimeouts(server: http.Server, lb: LbConfig): void {
  server.keepAliveTimeout = lb.timeouts.clientIdleMs;
  server.headersTimeout = lb.timeouts.clientHeadersMs;
}
