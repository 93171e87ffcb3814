/**
 * The latency-throughput curve as data: points of an open-loop sweep at
 * fractions of a measured capacity, the knee, and when a sweep has run
 * away. Pure, so the rules have exact tests; latency-curve.ts runs the
 * loads. The shape is the result JSON's `details.curves` (CONTRACT.md),
 * charted by the reports.
 */
import type { LoadResult } from '../engines/engine.js';
import { errorCount, usToMs } from './analysis.js';

/** One open-loop point of a curve. Latencies in ms, rates requests/s. */
export interface CurvePoint {
  /** Offered rate / capacity, e.g. 0.8. */
  fraction: number;
  offeredRps: number;
  achievedRps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Failed requests, dropped sends included. */
  errors: number;
}

/** One curve: a target (or `direct`) swept from light load to past saturation. */
export interface Curve {
  /** `direct` or the target's name. */
  label: string;
  /** Closed-loop capacity measured in the same run, requests/s. */
  capacityRps: number;
  /** Highest achieved rate with p99 under the target; null when none was. */
  kneeRps: number | null;
  points: CurvePoint[];
}

/** A point from the load result of one open-loop run at `fraction` of capacity. */
export function curvePoint(fraction: number, offeredRps: number, r: Pick<LoadResult, 'achievedRate' | 'latency' | 'errors' | 'schedule'>): CurvePoint {
  return {
    fraction,
    offeredRps: Math.round(offeredRps),
    achievedRps: Math.round(r.achievedRate),
    p50Ms: usToMs(r.latency.p50Us),
    p99Ms: usToMs(r.latency.p99Us),
    p999Ms: usToMs(r.latency.p999Us),
    errors: errorCount(r) + (r.schedule?.dropped ?? 0),
  };
}

/**
 * The knee: the highest achieved rate among points with p99 at most
 * `p99TargetMs` and an error rate at most `maxErrorRate` (`errorRates[i]`
 * belongs to `points[i]`). Null when no point qualifies.
 */
export function findKnee(points: readonly CurvePoint[], errorRates: readonly number[], p99TargetMs: number, maxErrorRate: number): number | null {
  let knee: number | null = null;
  points.forEach((p, i) => {
    const answered = p.achievedRps > 0;
    if (answered && p.p99Ms <= p99TargetMs && (errorRates[i] ?? 0) <= maxErrorRate && (knee === null || p.achievedRps > knee)) knee = p.achievedRps;
  });
  return knee;
}

/** Why a sweep stops after this point (latency or errors ran away), or undefined to go on. */
export function runawayReason(p: CurvePoint, rate: number, stopP99Ms: number, stopErrorRate: number): string | undefined {
  if (p.p99Ms > stopP99Ms) return `p99 ${p.p99Ms} ms > ${stopP99Ms} ms`;
  if (rate > stopErrorRate) return `error rate ${(rate * 100).toFixed(2)}% > ${(stopErrorRate * 100).toFixed(2)}%`;
  return undefined;
}

/**
 * Whether a point shows saturation: the server fell behind the offered
 * rate (achieved under 95% of it) or p99 passed the knee's target. A sweep
 * whose last listed fraction shows neither has not yet gone past
 * saturation (the closed-loop capacity underestimated it) and goes on.
 */
export function showsSaturation(p: CurvePoint, p99TargetMs: number): boolean {
  return p.achievedRps < 0.95 * p.offeredRps || p.p99Ms > p99TargetMs;
}
