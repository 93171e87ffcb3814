/**
 * The messages between the autocannon engine (./autocannon.ts) and its child
 * process (./autocannon-child.ts), and the error classification the child
 * applies. No side effects, so both sides and tests can import it.
 */
import type { MeasurementRecord, SeriesBucket } from './engine.js';

/** What the parent sends: a LoadSpec without callbacks, defaults resolved. */
export interface AutocannonChildSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Connections autocannon opens (already capped at the rate). */
  connections: number;
  /** Measured window, ms. */
  durationMs: number;
  /** autocannon `overallRate`, requests/s (integer); unset = unlimited. */
  rate?: number;
  /** Load after connections are up and before the window, ms. */
  warmupMs: number;
  seriesIntervalMs: number;
  /** Per-request timeout, ms (autocannon resolves it in ms, counts `timeout`). */
  timeoutMs: number;
  /** Longest wait for all connections to get a first response, ms. */
  connectTimeoutMs: number;
}

/** What the child measured in the window (histogram encoded). */
export interface AutocannonChildResult extends MeasurementRecord<string> {
  series: SeriesBucket[];
  /** Event-loop delay p99 of the child over the window, ms. */
  eventLoopDelayP99Ms: number;
}

export type ChildMessage =
  | { type: 'window-start'; startedAtMs: number; connectRampMs: number; connectionsEstablished: number }
  | { type: 'bucket'; bucket: SeriesBucket }
  | { type: 'window-end' }
  | { type: 'result'; result: AutocannonChildResult }
  | { type: 'error'; message: string };

/** Classifies a transport error from autocannon's `reqError` event. */
export function classifyError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) {
      return 'connect';
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  }
  if (err instanceof Error && /timed out/.test(err.message)) return 'timeout';
  return 'other';
}
