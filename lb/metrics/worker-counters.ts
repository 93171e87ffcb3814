/**
 * Per-process counters of the proxy's hot path: plain numbers and typed
 * arrays indexed by status code, retry reason or error kind, so counting a
 * request is an array increment, never a label lookup. A snapshot turns them
 * into plain JSON for the primary, which sums snapshots over workers.
 */
import { ErrorKind, type ErrorKindValue } from '../../common/metric-names.js';
import { RETRY_REASONS } from '../error-status.js';

/** Upper bounds of `lb_request_duration_seconds` buckets, seconds (+Inf implied). */
export const DURATION_BUCKETS_S: readonly number[] = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** Every `kind` of `lb_errors_total`, in index order. */
export const ERROR_KINDS: readonly ErrorKindValue[] = Object.freeze(Object.values(ErrorKind));

/** Index of each error kind in WorkerCounters.errorsByKind. */
export const ErrorIndex = Object.freeze({
  noBackend: ERROR_KINDS.indexOf(ErrorKind.noBackend),
  connect: ERROR_KINDS.indexOf(ErrorKind.connect),
  timeout: ERROR_KINDS.indexOf(ErrorKind.timeout),
  upstreamReset: ERROR_KINDS.indexOf(ErrorKind.upstreamReset),
  clientAbort: ERROR_KINDS.indexOf(ErrorKind.clientAbort),
  badRequest: ERROR_KINDS.indexOf(ErrorKind.badRequest),
  headersTooLarge: ERROR_KINDS.indexOf(ErrorKind.headersTooLarge),
  badResponse: ERROR_KINDS.indexOf(ErrorKind.badResponse),
  deadline: ERROR_KINDS.indexOf(ErrorKind.deadline),
  retryBudget: ERROR_KINDS.indexOf(ErrorKind.retryBudget),
  overload: ERROR_KINDS.indexOf(ErrorKind.overload),
  bodyTooLarge: ERROR_KINDS.indexOf(ErrorKind.bodyTooLarge),
});

/** Index of an error kind, for kinds known only at run time. */
export function errorIndexOf(kind: ErrorKindValue): number {
  return ERROR_KINDS.indexOf(kind);
}

const MAX_STATUS = 600;

/** Adds one to `counts[i]`; an index past the end is dropped, as typed arrays drop such writes. */
export function addOne(counts: Float64Array, i: number): void {
  counts[i] = (counts[i] ?? 0) + 1;
}

/** Counters of one backend (by name) in one process. */
export class BackendCounters {
  /** Responses by status code (index = code). */
  readonly requestsByCode = new Float64Array(MAX_STATUS);
  /** Non-cumulative counts per DURATION_BUCKETS_S bound, last = +Inf. */
  readonly durationBuckets = new Float64Array(DURATION_BUCKETS_S.length + 1);
  /** Sum of observed durations, seconds. */
  durationSumS = 0;
  /** Retries away from this backend, by index into RETRY_REASONS. */
  readonly retriesByReason = new Float64Array(RETRY_REASONS.length);
  /** Requests in flight to this backend (gauge). */
  activeRequests = 0;
  /** Requests waiting for an upstream connection (gauge). */
  queuedRequests = 0;
  /** Open upstream sockets (gauge). */
  upstreamConnections = 0;
  /** Upstream sockets ever opened (counter). */
  upstreamConnects = 0;

  constructor(readonly name: string) {}

  /** Counts one response with `status` that took `seconds`. */
  observe(status: number, seconds: number): void {
    addOne(this.requestsByCode, status > 0 && status < MAX_STATUS ? status : 0);
    let i = 0;
    const n = DURATION_BUCKETS_S.length;
    while (i < n && seconds > (DURATION_BUCKETS_S[i] ?? Infinity)) i++;
    addOne(this.durationBuckets, i);
    this.durationSumS += seconds;
  }
}

/** One backend's numbers in a snapshot (plain JSON). */
export interface BackendSnapshot {
  name: string;
  /** Responses by status code (as a string key); zero codes omitted. */
  requests: Record<string, number>;
  /** Non-cumulative bucket counts, DURATION_BUCKETS_S order then +Inf. */
  durationBuckets: number[];
  durationSumS: number;
  /** Retries by reason name; zero reasons omitted. */
  retries: Record<string, number>;
  activeRequests: number;
  queuedRequests: number;
  upstreamConnections: number;
  upstreamConnects: number;
}

/** Everything one process counted, as plain JSON (sent over IPC). */
export interface WorkerSnapshot {
  /** Open client connections (gauge). */
  activeConnections: number;
  /** Body bytes from clients / to clients (counters). */
  bytesIn: number;
  bytesOut: number;
  /** Errors by kind name (counters). */
  errors: Record<string, number>;
  /** Every backend this process ever served, including ones removed by a reload. */
  backends: BackendSnapshot[];
  /** Resident set size of the process, bytes. */
  rssBytes: number;
}

/** All counters of one proxy process. */
export class WorkerCounters {
  /** Open client connections (gauge). */
  activeConnections = 0;
  /** Body bytes from clients (counter). */
  bytesIn = 0;
  /** Body bytes to clients (counter). */
  bytesOut = 0;
  /** By ErrorIndex. */
  readonly errorsByKind = new Float64Array(ERROR_KINDS.length);

  /** Counts one error of the kind at `index` (an ErrorIndex value). */
  countError(index: number): void {
    addOne(this.errorsByKind, index);
  }
  // Kept forever, so counters stay monotonic when a reload removes a backend.
  private readonly byName = new Map<string, BackendCounters>();

  /** The counters of backend `name`, created on first use. */
  backend(name: string): BackendCounters {
    let c = this.byName.get(name);
    if (c === undefined) {
      c = new BackendCounters(name);
      this.byName.set(name, c);
    }
    return c;
  }

  /** A plain-JSON copy of every counter. */
  snapshot(): WorkerSnapshot {
    const errors: Record<string, number> = {};
    ERROR_KINDS.forEach((k, i) => {
      const n = this.errorsByKind[i] ?? 0;
      if (n > 0) errors[k] = n;
    });
    const backends: BackendSnapshot[] = [];
    for (const c of this.byName.values()) {
      const requests: Record<string, number> = {};
      c.requestsByCode.forEach((n, code) => {
        if (n > 0) requests[code] = n;
      });
      const retries: Record<string, number> = {};
      RETRY_REASONS.forEach((r, i) => {
        const n = c.retriesByReason[i] ?? 0;
        if (n > 0) retries[r] = n;
      });
      backends.push({
        name: c.name,
        requests,
        durationBuckets: Array.from(c.durationBuckets),
        durationSumS: c.durationSumS,
        retries,
        activeRequests: c.activeRequests,
        queuedRequests: c.queuedRequests,
        upstreamConnections: c.upstreamConnections,
        upstreamConnects: c.upstreamConnects,
      });
    }
    return {
      activeConnections: this.activeConnections,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      errors,
      backends,
      rssBytes: process.memoryUsage.rss(),
    };
  }
}
