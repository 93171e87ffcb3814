/**
 * One client request and its upstream attempts: picks a backend, takes a
 * pooled connection, writes the request head once (and streams the body
 * with backpressure), forwards the response head and body to the client
 * with backpressure, retries on another backend where that is safe, and
 * maps failures to statuses (error-status.ts).
 *
 * Time: a request has a deadline (`timeouts.requestMs`) until its response
 * head, and each try a timeout (`timeouts.headersMs`) from the request being
 * sent; one timer per exchange holds whichever is nearer. Retries that add
 * load (after a timeout, reset or bad response) are bounded by the worker's
 * retry budget (retry-budget.ts). The response head is held until its first
 * body byte or its end, so a backend that fails in between still gets the
 * client a 502/504 instead of a cut connection.
 *
 * The hot path allocates little: the request head is one string built once
 * per request, and the client connection (client-connection.ts) calls the
 * exchange's methods directly (ClientExchange): no listener per request.
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../common/error-codes.js';
import type { BackendSet } from './backend-set.js';
import type { ClientExchange, ClientRequest, ClientResponse } from './client-connection.js';
import { classifyUpstreamError, errorBody, statusText, type FailureInfo } from './error-status.js';
import { buildClientHeaders, type RequestHeaderInfo } from './headers.js';
import { ErrorIndex, errorIndexOf, type WorkerCounters } from './metrics/worker-counters.js';
import type { UpstreamConnection, UpstreamHandler } from './upstream-connection.js';
import { UpstreamError } from './upstream-connection.js';
import { itemAt } from '../common/checked.js';
import type { PoolWaiter } from './upstream-pool.js';
import type { RetryBudget } from './retry-budget.js';

/** Label used in `lb_requests_total` for responses no backend produced (503). */
export const NO_BACKEND_LABEL = 'none';

/** What an exchange needs from the proxy of its process. */
export interface ExchangeHost {
  readonly counters: WorkerCounters;
  /** Set during drain: responses close their connection. */
  readonly draining: boolean;
  /** Marks backend `index` of `set` down locally and reports it. */
  markDown(set: BackendSet, index: number, reason: string): void;
  /** The retry budget of this process (every exchange counts itself active in it). */
  readonly retryBudget: RetryBudget;
}

function onExchangeTimer(exchange: Exchange): void {
  exchange.timedOut();
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
  /** performance.now() by which a response head must have arrived (timeouts.requestMs). */
  private deadlineAt: number;
  /** The deadline or the current try's timeout, whichever is nearer; null when neither runs. */
  private timer: NodeJS.Timeout | null = null;
  /** This exchange holds a place in the retry budget. */
  private budgetHeld = false;
  /** The response head received and not yet forwarded (see forwardHead). */
  private headFields: string[] | null = null;
  private headText = '';

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
    this.deadlineAt = this.startMs + set.requestMs;
    host.retryBudget.active++;
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
      this.countError(ErrorIndex.noBackend);
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
    this.status = 0;
    this.headFields = null;
    set.inFlight[index] = (set.inFlight[index] ?? 0) + 1;
    itemAt(set.counters, index, 'backend counters').activeRequests++;
    itemAt(set.pools, index, 'backend pool').acquire(this);
    // Still waiting for a socket: the deadline bounds the wait.
    if (this.state === State.Waiting && this.timer === null) this.armTimer(this.deadlineAt);
  }

  /** Ends the current attempt's bookkeeping (exactly once per attempt). */
  private endAttempt(): void {
    const set = this.set;
    set.inFlight[this.backend] = (set.inFlight[this.backend] ?? 0) - 1;
    itemAt(set.counters, this.backend, 'backend counters').activeRequests--;
    this.conn = null;
    this.clearTimer();
  }

  /** (Re)arms the exchange's one timer to fire at performance.now() `atMs`. */
  private armTimer(atMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(onExchangeTimer, Math.max(1, Math.ceil(atMs - performance.now())), this);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** The request is sent whole: the try's timeout starts, min(headersMs, time left). */
  private startTry(): void {
    this.armTimer(Math.min(performance.now() + this.set.tryMs, this.deadlineAt));
  }

  /** @internal The timer fired: the deadline passed, or the current try timed out. */
  timedOut(): void {
    this.timer = null;
    const state = this.state;
    if ((state !== State.Waiting && state !== State.Active) || this.status !== 0) return;
    // Timers may fire a millisecond early.
    if (performance.now() >= this.deadlineAt - 1) {
      this.deadlinePassed();
      return;
    }
    // Ends in onUpstreamError, which retries while the deadline leaves time.
    this.conn?.abort(new UpstreamError(ErrorCode.HEADERS_TIMEOUT, `no response head within ${this.set.tryMs}ms (per-try timeout)`));
  }

  /** `timeouts.requestMs` passed before a response head: 504, whatever the attempt was doing. */
  private deadlinePassed(): void {
    const index = this.backend;
    if (this.state === State.Waiting) itemAt(this.set.pools, index, 'backend pool').cancel(this);
    // Mid-exchange the connection's state is unknown: it cannot be reused.
    else this.conn?.destroy();
    this.endAttempt();
    const failure = classifyUpstreamError(new UpstreamError(ErrorCode.REQUEST_DEADLINE, 'request deadline passed'));
    this.countError(errorIndexOf(failure.kind));
    this.respondError(failure.status, index);
  }

  /** Counts one `lb_errors_total{kind}` by ErrorIndex. */
  private countError(index: number): void {
    const errors = this.host.counters.errorsByKind;
    errors[index] = (errors[index] ?? 0) + 1;
  }

  /** The exchange is over: its timer, its place among active requests and in the retry budget go. */
  private settle(): void {
    this.state = State.Done;
    this.clearTimer();
    const budget = this.host.retryBudget;
    budget.active--;
    if (this.budgetHeld) {
      this.budgetHeld = false;
      budget.release();
    }
  }

  /** @internal PoolWaiter: a connection for the current attempt. */
  onUpstreamReady(conn: UpstreamConnection): boolean {
    if (this.state !== State.Waiting) return false;
    this.state = State.Active;
    this.conn = conn;
    const head = this.hasHost ? `${this.head}\r\n` : `${this.head}host: ${itemAt(this.set.pools, this.backend, 'backend pool').authority}\r\n\r\n`;
    const skipBody = this.req.method === 'HEAD';
    if (!this.hasBody) {
      conn.begin(this, head, skipBody, !this.set.closeAfterEachRequest);
      this.requestSent = true;
      this.startTry();
      return true;
    }
    // The upload is bounded by socket idle timeouts, not the deadline, which
    // starts again once the body is sent (finishBody).
    this.clearTimer();
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
    // A head may already have come (an early answer to the upload).
    if (this.status === 0) {
      this.deadlineAt = performance.now() + this.set.requestMs;
      this.startTry();
    }
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
    this.settle();
    if (clientAbort) this.countError(ErrorIndex.clientAbort);
    if (state === State.Idle) return;
    if (state === State.Waiting) itemAt(this.set.pools, this.backend, 'backend pool').cancel(this);
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

  /** @internal UpstreamHandler: held until the first body byte or the end (forwardHead). */
  onUpstreamHeaders(status: number, text: string, headers: string[]): void {
    if (this.state !== State.Active) return;
    this.status = status;
    this.headText = text;
    this.headFields = headers;
    // The head came in time; gaps in the body are bounded by timeouts.bodyMs.
    this.clearTimer();
  }

  /**
   * Hands the held response head to the client connection (which sends it
   * with the first body bytes). The head was checked on arrival
   * (upstream-connection.ts refuses one HTTP does not allow), so this cannot fail.
   */
  private forwardHead(): void {
    const headers = this.headFields;
    if (headers === null) return;
    this.headFields = null;
    const res = this.res;
    // An unread request body would be parsed as the next request: close instead.
    if (this.host.draining || (this.hasBody && !this.bodyEnded)) res.shouldKeepAlive = false;
    res.writeHead(this.status, this.headText || undefined, buildClientHeaders(headers));
  }

  /** @internal UpstreamHandler */
  onUpstreamData(chunk: Buffer): boolean {
    if (this.state !== State.Active) return true;
    if (this.headFields !== null) this.forwardHead();
    this.host.counters.bytesOut += chunk.length;
    if (this.res.write(chunk)) return true;
    this.waitingDrain = true;
    return false;
  }

  /** @internal UpstreamHandler */
  onUpstreamEnd(): void {
    if (this.state !== State.Active) return;
    this.endAttempt();
    this.forwardHead();
    this.settle();
    if (this.bodyListening && !this.bodyEnded) this.detachBody();
    this.res.end();
    itemAt(this.set.counters, this.backend, 'backend counters').observe(this.status, (performance.now() - this.startMs) / 1000);
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
    const set = this.set;
    const index = this.backend;
    const failure = classifyUpstreamError(err);
    if (failure.passive && set.passive) this.host.markDown(set, index, passiveReason(failure, err));
    const backendCounters = itemAt(set.counters, index, 'backend counters');
    if (this.res.headersSent) {
      // Mid-response: the status is gone; the only honest signal is a cut connection.
      this.settle();
      this.countError(errorIndexOf(failure.kind));
      backendCounters.observe(this.status, (performance.now() - this.startMs) / 1000);
      this.res.destroy();
      return;
    }
    if (this.mayRetry(failure)) {
      const tried = (this.tried ??= new Uint8Array(set.size));
      tried[index] = 1;
      const next = set.pick(this.clientIp, this.hashKey, tried);
      if (next >= 0) {
        if (!this.takeRetryBudget(failure, index)) {
          this.countError(ErrorIndex.retryBudget);
          this.respondError(failure.status, index);
          return;
        }
        const reasons = backendCounters.retriesByReason;
        reasons[failure.retryReason] = (reasons[failure.retryReason] ?? 0) + 1;
        if (this.bodyListening) this.req.pause();
        this.dispatchTo(next);
        return;
      }
    }
    this.countError(errorIndexOf(failure.kind));
    this.respondError(failure.status, index);
  }

  private mayRetry(failure: FailureInfo): boolean {
    if (failure.retryReason < 0 || this.attempts > this.set.maxRetries) return false;
    if (this.bodyConsumed) return false;
    // No time left for another try (the deadline's own 504 is on its way).
    if (performance.now() >= this.deadlineAt - 1) return false;
    return failure.neverReached || !this.requestSent || isIdempotent(this.req.method);
  }

  /**
   * Whether the retry budget lets this failure on backend `index` be
   * retried; takes a place when it must. Exempt: a connection that never
   * came up (it added no load), and a backend this worker now holds down (a
   * passive failure just marked it, e.g. a killed backend resetting its
   * in-flight requests): moving its requests elsewhere is failover, and
   * they no longer go to it.
   */
  private takeRetryBudget(failure: FailureInfo, index: number): boolean {
    const set = this.set;
    if (failure.budgetExempt || this.budgetHeld || set.up[index] === 0) return true;
    if (!this.host.retryBudget.tryAcquire(set.budgetPercent, set.minConcurrency)) return false;
    this.budgetHeld = true;
    return true;
  }

  /** Sends the balancer's own error response and counts it. */
  private respondError(status: number, index: number): void {
    this.settle();
    if (this.bodyListening) this.detachBody();
    const res = this.res;
    const body = errorBody(status);
    if (this.hasBody || this.host.draining) res.shouldKeepAlive = false;
    // Our own reason phrase, never the backend's (it may hold bytes that cannot be sent).
    res.writeHead(status, statusText(status), ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length)]);
    res.end(body);
    const c = index < 0 ? this.host.counters.backend(NO_BACKEND_LABEL) : itemAt(this.set.counters, index, 'backend counters');
    c.observe(status, (performance.now() - this.startMs) / 1000);
  }
}

function passiveReason(failure: FailureInfo, err: Error): string {
  const code = (err as { code?: string }).code ?? err.name;
  return `${failure.kind === 'connect' ? 'connect' : 'reset'} ${code}`;
}
