/**
 * One client request and its upstream attempts: picks a backend, takes a
 * pooled connection, writes the request head once (and streams the body
 * with backpressure), forwards the response head and body to the client
 * with backpressure, retries on another backend where that is safe, and
 * maps failures to statuses (error-status.ts).
 *
 * The hot path allocates little: the request head is one string built once
 * per request, and the client connection (client-connection.ts) calls the
 * exchange's methods directly (ClientExchange): no listener per request.
 */
import { performance } from 'node:perf_hooks';
import type { BackendSet } from './backend-set.js';
import type { ClientExchange, ClientRequest, ClientResponse } from './client-connection.js';
import { classifyUpstreamError, errorBody, type FailureInfo } from './error-status.js';
import { buildClientHeaders, type RequestHeaderInfo } from './headers.js';
import { ErrorIndex, errorIndexOf, type WorkerCounters } from './metrics/worker-counters.js';
import type { UpstreamConnection, UpstreamHandler } from './upstream-connection.js';
import { UpstreamError } from './upstream-connection.js';
import type { PoolWaiter } from './upstream-pool.js';

/** Label used in `lb_requests_total` for responses no backend produced (503). */
export const NO_BACKEND_LABEL = 'none';

/** What an exchange needs from the proxy of its process. */
export interface ExchangeHost {
  readonly counters: WorkerCounters;
  /** Set during drain: responses close their connection. */
  readonly draining: boolean;
  /** Marks backend `index` of `set` down locally and reports it. */
  markDown(set: BackendSet, index: number, reason: string): void;
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

const enum State {
  /** Created, no backend asked yet. */
  Idle,
  /** Waiting for a pooled connection to `backend`. */
  Waiting,
  /** Request on a connection to `backend`; response not complete. */
  Active,
  /** Answered, failed or abandoned: no further callback changes anything. */
  Done,
}

const CHUNK_END = '0\r\n\r\n';

/** One client request and its upstream attempts. */
export class Exchange implements PoolWaiter, UpstreamHandler, ClientExchange {
  private state = State.Idle;
  private attempts = 0;
  private backend = -1;
  private tried: Uint8Array | null = null;
  private conn: UpstreamConnection | null = null;
  private status = 0;
  /** The whole request (head and body) was handed to the socket. */
  private requestSent = false;
  /** At least one body byte was taken from the client: no retry after that. */
  private bodyConsumed = false;
  /** The client's body ended. */
  private bodyEnded = false;
  private bodyListening = false;
  private waitingDrain = false;
  /** Request line and header block, without Host when the client sent none. */
  private readonly head: string;
  private readonly hasHost: boolean;
  private readonly hasBody: boolean;
  /** The client's body arrives chunked (no Content-Length): re-chunk it upstream. */
  private readonly chunked: boolean;
  private readonly hashKey: string | undefined;
  private readonly clientIp: string;
  private readonly startMs: number;

  constructor(
    private readonly host: ExchangeHost,
    private readonly set: BackendSet,
    private readonly req: ClientRequest,
    private readonly res: ClientResponse,
    headerBlock: string,
    info: RequestHeaderInfo,
    clientIp: string,
  ) {
    this.startMs = performance.now();
    this.clientIp = clientIp;
    this.hasBody = info.hasBody;
    this.chunked = info.chunked;
    this.hasHost = info.hasHost;
    this.hashKey = info.hashKey;
    let head = `${req.method} ${req.url} HTTP/1.1\r\n${headerBlock}`;
    if (info.chunked) head += 'transfer-encoding: chunked\r\n';
    if (set.closeAfterEachRequest) head += 'connection: close\r\n';
    this.head = head;
    res.exchange = this;
  }

  start(): void {
    const index = this.set.pick(this.clientIp, this.hashKey, null);
    if (index < 0) {
      this.host.counters.errorsByKind[ErrorIndex.noBackend]! += 1;
      this.respondError(503, -1);
      return;
    }
    this.dispatchTo(index);
  }

  private dispatchTo(index: number): void {
    const set = this.set;
    this.backend = index;
    this.attempts++;
    this.state = State.Waiting;
    this.requestSent = false;
    set.inFlight[index]! += 1;
    set.counters[index]!.activeRequests++;
    set.pools[index]!.acquire(this);
  }

  /** Ends the current attempt's bookkeeping (exactly once per attempt). */
  private endAttempt(): void {
    const set = this.set;
    set.inFlight[this.backend]! -= 1;
    set.counters[this.backend]!.activeRequests--;
    this.conn = null;
  }

  /** @internal PoolWaiter: a connection for the current attempt. */
  onUpstreamReady(conn: UpstreamConnection): boolean {
    if (this.state !== State.Waiting) return false;
    this.state = State.Active;
    this.conn = conn;
    const head = this.hasHost ? `${this.head}\r\n` : `${this.head}host: ${this.set.pools[this.backend]!.authority}\r\n\r\n`;
    const skipBody = this.req.method === 'HEAD';
    if (!this.hasBody) {
      conn.begin(this, head, skipBody, !this.set.closeAfterEachRequest);
      this.requestSent = true;
      return true;
    }
    conn.begin(this, head, skipBody, false);
    if (this.bodyEnded) {
      // Ended before any byte (an empty chunked body).
      this.finishBody(conn);
      return true;
    }
    this.bodyListening = true;
    this.req.resume();
    return true;
  }

  /** @internal ClientExchange */
  onBodyData(chunk: Buffer): void {
    const conn = this.conn;
    if (this.state !== State.Active || conn === null) {
      this.req.pause();
      return;
    }
    this.bodyConsumed = true;
    this.host.counters.bytesIn += chunk.length;
    let ok: boolean;
    if (this.chunked) {
      conn.write(`${chunk.length.toString(16)}\r\n`);
      conn.write(chunk);
      ok = conn.write('\r\n');
    } else ok = conn.write(chunk);
    if (!ok) this.req.pause();
  }

  /** @internal ClientExchange */
  onBodyEnd(): void {
    this.bodyEnded = true;
    const conn = this.conn;
    if (this.state === State.Active && conn !== null) this.finishBody(conn);
  }

  private finishBody(conn: UpstreamConnection): void {
    if (this.chunked) conn.write(CHUNK_END);
    this.requestSent = true;
    conn.requestComplete(!this.set.closeAfterEachRequest);
  }

  /** @internal ClientExchange */
  onBodyAbort(): void {
    this.clientGone();
  }

  /** @internal UpstreamHandler: the request body may flow again. */
  onUpstreamDrain(): void {
    if (this.bodyListening && !this.bodyEnded && this.state === State.Active) this.req.resume();
  }

  /** The client closed its connection before the response was complete. */
  clientGone(): void {
    this.stop(true);
  }

  /** The client side refused the request mid-body (413); it counted that itself. */
  requestRefused(): void {
    this.stop(false);
  }

  private stop(clientAbort: boolean): void {
    const state = this.state;
    if (state === State.Done) return;
    this.state = State.Done;
    if (clientAbort) this.host.counters.errorsByKind[ErrorIndex.clientAbort]! += 1;
    if (state === State.Idle) return;
    if (state === State.Waiting) this.set.pools[this.backend]!.cancel(this);
    // Mid-exchange the connection's state is unknown: it cannot be reused.
    else this.conn?.destroy();
    this.endAttempt();
  }

  /** The client's socket drained: read the response again. */
  drained(): void {
    if (!this.waitingDrain) return;
    this.waitingDrain = false;
    this.conn?.resume();
  }

  /** @internal UpstreamHandler */
  onUpstreamHeaders(status: number, statusText: string, headers: string[]): void {
    if (this.state !== State.Active) return;
    this.status = status;
    const res = this.res;
    // An unread request body would be parsed as the next request: close instead.
    if (this.host.draining || (this.hasBody && !this.bodyEnded)) res.shouldKeepAlive = false;
    try {
      res.writeHead(status, statusText || undefined, buildClientHeaders(headers));
    } catch (err) {
      // A field Node refuses to send (ERR_INVALID_CHAR): the answer is unusable.
      this.conn?.abort(new UpstreamError((err as { code?: string }).code ?? 'ERR_INVALID_HEADER', (err as Error).message, { cause: err }));
    }
  }

  /** @internal UpstreamHandler */
  onUpstreamData(chunk: Buffer): boolean {
    if (this.state !== State.Active) return true;
    this.host.counters.bytesOut += chunk.length;
    if (this.res.write(chunk)) return true;
    this.waitingDrain = true;
    return false;
  }

  /** @internal UpstreamHandler */
  onUpstreamEnd(): void {
    if (this.state !== State.Active) return;
    this.state = State.Done;
    this.endAttempt();
    if (this.bodyListening && !this.bodyEnded) this.detachBody();
    this.res.end();
    this.set.counters[this.backend]!.observe(this.status, (performance.now() - this.startMs) / 1000);
  }

  private detachBody(): void {
    this.bodyListening = false;
    this.req.pause();
  }

  /** @internal UpstreamHandler and PoolWaiter: the attempt failed. */
  onUpstreamError(err: Error): void {
    const state = this.state;
    if (state !== State.Waiting && state !== State.Active) return;
    this.endAttempt();
    const counters = this.host.counters;
    const set = this.set;
    const index = this.backend;
    const failure = classifyUpstreamError(err);
    if (failure.passive && set.passive) this.host.markDown(set, index, passiveReason(failure, err));
    if (this.res.headersSent) {
      // Mid-response: the status is gone; the only honest signal is a cut connection.
      this.state = State.Done;
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
        if (this.bodyListening) this.req.pause();
        this.dispatchTo(next);
        return;
      }
    }
    counters.errorsByKind[errorIndexOf(failure.kind)]! += 1;
    this.respondError(failure.status, index);
  }

  private mayRetry(failure: FailureInfo): boolean {
    if (failure.retryReason < 0 || this.attempts > this.set.maxRetries) return false;
    if (this.bodyConsumed) return false;
    return failure.neverReached || !this.requestSent || isIdempotent(this.req.method);
  }

  /** Sends the balancer's own error response and counts it. */
  private respondError(status: number, index: number): void {
    this.state = State.Done;
    if (this.bodyListening) this.detachBody();
    const res = this.res;
    const body = errorBody(status);
    if (this.hasBody || this.host.draining) res.shouldKeepAlive = false;
    res.writeHead(status, undefined, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length)]);
    res.end(body);
    const c = index < 0 ? this.host.counters.backend(NO_BACKEND_LABEL) : this.set.counters[index]!;
    c.observe(status, (performance.now() - this.startMs) / 1000);
  }
}

function passiveReason(failure: FailureInfo, err: Error): string {
  const code = (err as { code?: string }).code ?? err.name;
  return `${failure.kind === 'connect' ? 'connect' : 'reset'} ${code}`;
}
