/**
 * "Held means served": whether a level of concurrent connections was really
 * served, not merely reached. A level counts only when the generator had
 * its connections established at the start of the measured window, and the
 * requests sent over them were answered within a latency bound with errors
 * within the allowance. Pure; the connections runner feeds it load results.
 */
import type { LoadResult } from '../engines/engine.js';
import { errorCount, errorRateWithDropped, formatUsAsMs } from './analysis.js';

/** The bounds a held level must meet to count as served. */
export interface ServedBounds {
  /** p99 over the held window must be at most this, ms. */
  maxP99Ms: number;
  /** Failed / attempted requests (dropped sends count as failed) at most this, 0..1. */
  maxErrorRate: number;
  /** Established connections may fall short of the level by this fraction. */
  connectionsTolerance: number;
}

/** The verdict on one level. */
export interface ServedLevel {
  level: number;
  established: number;
  served: boolean;
  /** Why it was not served; empty when it was. */
  reasons: string[];
  /** Failed / attempted, dropped sends included, 0..1. */
  errorRate: number;
  errors: number;
}

/** Judges one held level from its load result. */
export function judgeServedLevel(
  level: number,
  r: Pick<LoadResult, 'connectionsEstablished' | 'latency' | 'errors' | 'requests' | 'schedule'>,
  b: ServedBounds,
): ServedLevel {
  const reasons: string[] = [];
  const needed = Math.ceil(level * (1 - b.connectionsTolerance));
  if (r.connectionsEstablished < needed) reasons.push(`only ${r.connectionsEstablished} of ${level} connections established at window start`);
  const dropped = r.schedule?.dropped ?? 0;
  const errors = errorCount(r) + dropped;
  const rate = errorRateWithDropped(r);
  if (r.latency.count === 0) reasons.push('no request was answered');
  else if (r.latency.p99Us / 1000 > b.maxP99Ms) reasons.push(`p99 ${formatUsAsMs(r.latency.p99Us)} ms > ${b.maxP99Ms} ms`);
  if (rate > b.maxErrorRate) {
    reasons.push(
      `${errors} errors${dropped ? ` (${dropped} sends dropped)` : ''} = ${(rate * 100).toFixed(2)}% > ${(b.maxErrorRate * 100).toFixed(2)}% allowed`,
    );
  }
  return { level, established: r.connectionsEstablished, served: reasons.length === 0, reasons, errorRate: rate, errors };
}

/** The highest served level of `levels` (tried in ascending order), or undefined. */
export function highestServed(levels: readonly ServedLevel[]): ServedLevel | undefined {
  let best: ServedLevel | undefined;
  for (const l of levels) if (l.served && (!best || l.level > best.level)) best = l;
  return best;
}
