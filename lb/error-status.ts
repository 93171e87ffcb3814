/**
 * The one place that maps a failure to what the client gets: upstream, no
 * eligible backend or a full wait queue -> 503, refused/reset/bad response
 * (framing, a byte HTTP does not allow in the head) -> 502, per-try timeout
 * or the request deadline -> 504; client side (ClientRefusal), a malformed
 * request -> 400, headers not sent in time -> 408, body too large -> 413, an
 * unmet Expect -> 417, headers too large -> 431, an unsupported transfer
 * coding -> 501, too many connections -> 503, an unsupported HTTP version ->
 * 505. It also says whether the failure may be retried and whether it is
 * evidence that the backend is dead (passive health).
 */
import { ErrorKind, type ErrorKindValue } from '../common/metric-names.js';
import { ErrorCode } from '../common/error-codes.js';

/** Values of the `reason` label of `lb_retries_total`; index = position. */
export const RETRY_REASONS = ['connect', 'timeout', 'upstream_reset', 'bad_response', 'closed'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

/** How one upstream failure is treated. */
export interface FailureInfo {
  /** Status sent to the client when it is not retried. */
  readonly status: 400 | 502 | 503 | 504;
  /** `lb_errors_total{kind}`. */
  readonly kind: ErrorKindValue;
  /** Index into RETRY_REASONS, or -1 when never retried (a bad client request). */
  readonly retryReason: number;
  /** Nothing can have reached the backend (refused, connect timeout):
   * any method may be retried, provided no body byte was consumed. */
  readonly neverReached: boolean;
  /** Evidence the backend is dead: a refused or reset connection. */
  readonly passive: boolean;
  /** The connection was never established, so a retry adds no load to the
   * service: exempt from the retry budget (failover relies on it). */
  readonly budgetExempt: boolean;
}

function info(
  status: FailureInfo['status'],
  kind: ErrorKindValue,
  reason: RetryReason | null,
  neverReached: boolean,
  passive: boolean,
  budgetExempt = neverReached,
): FailureInfo {
  return Object.freeze({ status, kind, retryReason: reason === null ? -1 : RETRY_REASONS.indexOf(reason), neverReached, passive, budgetExempt });
}

const REFUSED = info(502, ErrorKind.connect, 'connect', true, true);
const UNREACHABLE = info(502, ErrorKind.connect, 'connect', true, false);
const CONNECT_TIMEOUT = info(504, ErrorKind.timeout, 'timeout', true, false);
const TIMEOUT = info(504, ErrorKind.timeout, 'timeout', false, false);
const RESET = info(502, ErrorKind.upstreamReset, 'upstream_reset', false, true);
const BAD_RESPONSE = info(502, ErrorKind.badResponse, 'bad_response', false, false);
// The pool was closed by a reload while the request waited: nothing was sent.
const CLOSED = info(502, ErrorKind.connect, 'closed', true, false);
// Every socket to the backend is busy and `pool.maxQueue` requests already
// wait: shed at once rather than queue without bound (Envoy's pending overflow).
const QUEUE_FULL = info(503, ErrorKind.overload, null, true, false);
// `timeouts.requestMs` passed: nothing is left to retry with.
const DEADLINE = info(504, ErrorKind.deadline, null, false, false);

/** Classifies an upstream error by its `code` (socket errors, the
 * UpstreamError codes of upstream-connection.ts and upstream-pool.ts,
 * llhttp's HPE_*). Never throws. */
export function classifyUpstreamError(err: unknown): FailureInfo {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return REFUSED;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return UNREACHABLE;
    case ErrorCode.CONNECT_TIMEOUT:
      return CONNECT_TIMEOUT;
    case ErrorCode.HEADERS_TIMEOUT:
    case ErrorCode.BODY_TIMEOUT:
    case 'ETIMEDOUT':
      return TIMEOUT;
    case 'ECONNRESET':
    case 'EPIPE':
    case ErrorCode.UPSTREAM_CLOSED:
      return RESET;
    case ErrorCode.POOL_CLOSED:
      return CLOSED;
    case ErrorCode.POOL_QUEUE_FULL:
      return QUEUE_FULL;
    case ErrorCode.REQUEST_DEADLINE:
      return DEADLINE;
    default:
      // HPE_* parser errors, an unsolicited response, INVALID_RESPONSE_HEAD
      // (or ERR_INVALID_CHAR from writeHead on a header Node refuses): the
      // backend's answer is unusable.
      return BAD_RESPONSE;
  }
}

/** Reason phrase of the balancer's own `status`, e.g. `Bad Gateway`. Never
 * the backend's: a reason phrase it sent may hold bytes that cannot be sent. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error';
}

/** How a client request the balancer refuses itself is answered. */
export interface ClientFailure {
  readonly status: ClientStatus;
  /** `lb_errors_total{kind}`. */
  readonly kind: ErrorKindValue;
}

/** Statuses the balancer answers a client with on its own, before any backend. */
export type ClientStatus = 400 | 408 | 413 | 417 | 431 | 501 | 503 | 505;

function client(status: ClientStatus, kind: ErrorKindValue): ClientFailure {
  return Object.freeze({ status, kind });
}

/**
 * Every client-side refusal (lb/client-connection.ts), by cause. The
 * connection is closed after each of them.
 */
export const ClientRefusal = Object.freeze({
  /** Unparseable request: bad bytes, NUL, obs-fold, CL+TE, duplicate or
   * conflicting Content-Length, an empty Transfer-Encoding, two Host fields,
   * Transfer-Encoding in an HTTP/1.0 request. */
  malformed: client(400, ErrorKind.badRequest),
  /** The request head was not complete within `timeouts.clientHeadersMs`. */
  headersTimeout: client(408, ErrorKind.timeout),
  /** No byte of the request body for `timeouts.clientBodyMs` while it was being read. */
  bodyTimeout: client(408, ErrorKind.timeout),
  /** The client took no byte of a response for `timeouts.clientSendMs` (the
   * connection is cut: a client that does not read gets no 408 either). */
  sendTimeout: client(408, ErrorKind.timeout),
  /** The body is larger than `limits.maxBodyBytes` (by Content-Length at once, chunked when the sum passes it). */
  bodyTooLarge: client(413, ErrorKind.bodyTooLarge),
  /** An `Expect` other than 100-continue. */
  expectationFailed: client(417, ErrorKind.badRequest),
  /** The request head is larger than `limits.maxHeaderBytes`. */
  headersTooLarge: client(431, ErrorKind.headersTooLarge),
  /** A transfer coding other than exactly `chunked` (nginx's rule: `gzip, chunked` too;
   * `chunked, gzip` is malformed, 400), or CONNECT. */
  notImplemented: client(501, ErrorKind.badRequest),
  /** More than `limits.maxConnections` client connections in this worker. */
  overloaded: client(503, ErrorKind.overload),
  /** An HTTP version other than 1.0 and 1.1. */
  versionNotSupported: client(505, ErrorKind.badRequest),
});

/** Classifies a parse error of a client request by llhttp's code
 * (`HPE_*`): header overflow 431, invalid version 505, anything else 400.
 * (HPE_INVALID_TRANSFER_ENCODING is 400 too: llhttp raises it for CL+TE and
 * for `chunked` not last; an unknown coding it lets through to the head,
 * where the client connection answers 501.) Never throws. */
export function classifyClientError(code: string | undefined): ClientFailure {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return ClientRefusal.headersTooLarge;
    case 'HPE_INVALID_VERSION':
      return ClientRefusal.versionNotSupported;
    default:
      return ClientRefusal.malformed;
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** Plain-text bodies of the balancer's own error responses, built once. */
const BODIES = new Map<number, Buffer>();

/** The body the balancer sends with its own `status` (e.g. 503). */
export function errorBody(status: number): Buffer {
  let body = BODIES.get(status);
  if (body === undefined) {
    const detail =
      status === 503
        ? 'no healthy backend is available, or all are busy'
        : status === 502
          ? 'the backend failed to answer (connection refused, reset or malformed response)'
          : status === 504
            ? 'the backend did not answer in time'
            : 'the request could not be forwarded';
    body = Buffer.from(`${status} ${statusText(status)}: ${detail}\n`, 'latin1');
    BODIES.set(status, body);
  }
  return body;
}

const RAW_RESPONSES = new Map<number, Buffer>();

/** A complete raw HTTP/1.1 response with `Connection: close`, for a client
 * request the balancer refuses itself (ClientRefusal); built once per status. */
export function rawErrorResponse(status: ClientStatus): Buffer {
  let raw = RAW_RESPONSES.get(status);
  if (raw === undefined) {
    const text = statusText(status);
    const body = `${status} ${text}\n`;
    raw = Buffer.from(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 'latin1');
    RAW_RESPONSES.set(status, raw);
  }
  return raw;
}
