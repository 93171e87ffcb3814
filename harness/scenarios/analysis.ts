/**
 * Pure calculations shared by the scenario runners: shares and deviation,
 * regression slopes, gauge peaks, error rates, timelines and number
 * formatting. No I/O here, so each piece has a table-driven test
 * (test/scenarios/analysis.test.ts).
 */
import type { AlgorithmName } from '../../common/config.js';
import type { LoadResult, SeriesBucket } from '../engines/engine.js';
import type { SamplingData } from '../result/scenario-api.js';
import { itemAt } from '../../common/checked.js';
import { finiteMedian } from '../../common/stats.js';

/** Bytes in one MB as memory is reported here (MiB, 1,048,576). */
export const BYTES_PER_MB = 1_048_576;
/** Bytes in one GB as throughput is reported here (decimal, 10^9), as the guide's GB/s. */
export const BYTES_PER_GB = 1_000_000_000;

/** µs -> ms, rounded to 3 decimals (the histograms resolve 1 µs). */
export function usToMs(us: number): number {
  return Math.round(us) / 1000;
}

/** A latency in µs as ms with sub-ms digits, e.g. `3.45`. */
export function formatUsAsMs(us: number): string {
  return (us / 1000).toFixed(2);
}

/** Rounds to `digits` decimals (for metrics that read well in reports). */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * The share of traffic an algorithm is meant to give each backend, or
 * undefined when it defines none.
 *
 * - weighted_round_robin: weight / sum of weights, exactly at every prefix.
 * - random: weighted random, so the same shares in expectation.
 * - round_robin: equal shares; it ignores weights.
 * - least_connections and power_of_two_choices: adaptive; they follow the
 *   backends' speed, so no share is promised (with equal backends they come
 *   close to the weights, but a deviation there is the algorithm working).
 * - consistent_hash: the share depends on the key distribution; from one
 *   client IP everything lands on one backend.
 */
export function expectedShares(algorithm: AlgorithmName, weights: readonly number[]): number[] | undefined {
  if (weights.length === 0) return undefined;
  switch (algorithm) {
    case 'weighted_round_robin':
    case 'random': {
      const total = weights.reduce((a, b) => a + b, 0);
      return weights.map((w) => w / total);
    }
    case 'round_robin':
      return weights.map(() => 1 / weights.length);
    case 'least_connections':
    case 'power_of_two_choices':
    case 'consistent_hash':
      return undefined;
  }
}

/** Observed shares and their deviation from the expected ones. */
export interface DistributionDeviation {
  /** Observed share per backend, 0..1 (all 0 when nothing was counted). */
  shares: number[];
  /** |observed − expected| / expected per backend, %. */
  deviationsPct: number[];
  /** The largest of `deviationsPct`, %. */
  maxDeviationPct: number;
}

/**
 * Deviation = max over backends of |observed share − expected share| /
 * expected share, in %. With no requests counted every observed share is 0,
 * so the deviation is 100%.
 */
export function distributionDeviation(counts: readonly number[], expected: readonly number[]): DistributionDeviation {
  if (counts.length !== expected.length) throw new RangeError(`${counts.length} counts for ${expected.length} expected shares`);
  const total = counts.reduce((a, b) => a + b, 0);
  const shares = counts.map((c) => (total > 0 ? c / total : 0));
  const deviationsPct = shares.map((s, i) =>
    itemAt(expected, i, 'expected[i]') > 0
      ? (Math.abs(s - itemAt(expected, i, 'expected[i]')) / itemAt(expected, i, 'expected[i]')) * 100
      : s > 0
        ? Infinity
        : 0,
  );
  return { shares, deviationsPct, maxDeviationPct: deviationsPct.reduce((a, b) => Math.max(a, b), 0) };
}

/** |a − b| as a % of the larger of the two; 0 when both are 0. */
export function percentDifference(a: number, b: number): number {
  const larger = Math.max(Math.abs(a), Math.abs(b));
  return larger === 0 ? 0 : (Math.abs(a - b) / larger) * 100;
}

/**
 * Theil–Sen slope of y over x: the median of the slopes of all pairs (at
 * most `maxPoints` points, evenly thinned). Robust to bumps that a least-
 * squares line follows, such as a pool growing during a fault and idling
 * out later; a steady leak still shows. 0 with fewer than two distinct x.
 */
export function theilSenSlope(points: readonly { x: number; y: number }[], maxPoints = 800): number {
  const step = Math.max(1, Math.ceil(points.length / maxPoints));
  const pts = points.filter((_, i) => i % step === 0);
  const slopes: number[] = [];
  for (let i = 0; i < pts.length; i++) {
    const a = pts[i];
    if (a === undefined) continue;
    for (let j = i + 1; j < pts.length; j++) {
      const b = pts[j];
      if (b !== undefined && b.x !== a.x) slopes.push((b.y - a.y) / (b.x - a.x));
    }
  }
  return finiteMedian(slopes) ?? 0;
}

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
export function linearSlope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** One RSS reading of the balancer (all its processes summed). */
export interface RssSample {
  /** ms since epoch. */
  atMs: number;
  rssBytes: number;
}

/**
 * RSS growth in MB/min by linear regression over the samples taken at or
 * after `fromMs` (the end of warm-up, ms since epoch). Undefined with fewer
 * than 3 such samples: two points make a slope out of noise.
 */
export function rssSlopeMbPerMin(samples: readonly RssSample[], fromMs: number): number | undefined {
  const kept = samples.filter((s) => s.atMs >= fromMs);
  if (kept.length < 3) return undefined;
  const slopeBytesPerMs = linearSlope(kept.map((s) => ({ x: s.atMs, y: s.rssBytes })));
  return (slopeBytesPerMs * 60_000) / BYTES_PER_MB;
}

/**
 * The peak of a sampled gauge: series of `name` (bare, or with any labels)
 * are summed per sampling instant, and the largest sum is returned; 0 when
 * nothing was sampled. This is MAX_CONN for `lb_active_connections`.
 */
export function peakGauge(data: Pick<SamplingData, 'gauges'>, name: string): number {
  const byInstant = new Map<number, number>();
  for (const [key, points] of Object.entries(data.gauges)) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    for (const p of points) byInstant.set(p.atMs, (byInstant.get(p.atMs) ?? 0) + p.value);
  }
  let peak = 0;
  for (const v of byInstant.values()) if (v > peak) peak = v;
  return peak;
}

/** Every error of a load run, all kinds summed. */
export function errorCount(result: Pick<LoadResult, 'errors'>): number {
  let n = 0;
  for (const v of Object.values(result.errors)) n += v;
  return n;
}

/**
 * Failed requests / attempted requests. A non-2xx answer is both a response
 * (`requests`) and an error (`errors.non2xx`); other errors (connect,
 * timeout, reset) never became responses, so they are added to the attempts.
 * 0 when nothing was attempted.
 */
export function errorRate(result: Pick<LoadResult, 'errors' | 'requests'>): number {
  const errors = errorCount(result);
  const attempts = result.requests + errors - (result.errors['non2xx'] ?? 0);
  return attempts > 0 ? errors / attempts : 0;
}

/**
 * Like errorRate, with open-loop sends that were dropped (no connection
 * free within the timeout) counted as failed attempts too: a request the
 * generator could not even send was not served.
 */
export function errorRateWithDropped(result: Pick<LoadResult, 'errors' | 'requests' | 'schedule'>): number {
  const dropped = result.schedule?.dropped ?? 0;
  if (dropped === 0) return errorRate(result);
  const errors = errorCount(result);
  const attempts = result.requests + errors - (result.errors['non2xx'] ?? 0) + dropped;
  return attempts > 0 ? (errors + dropped) / attempts : 0;
}

/**
 * p99 drift over a run: the median per-interval p99 of the last third of
 * the intervals divided by that of the first third. Intervals without
 * requests are skipped. Undefined with fewer than 3 intervals.
 */
export function p99DriftRatio(series: readonly SeriesBucket[]): number | undefined {
  const p99s = series.filter((b) => b.requests > 0).map((b) => b.p99Us);
  if (p99s.length < 3) return undefined;
  const third = Math.max(1, Math.floor(p99s.length / 3));
  const first = finiteMedian(p99s.slice(0, third));
  const last = finiteMedian(p99s.slice(-third));
  return first && last !== undefined ? last / first : undefined;
}

/** Something that happened during a run, placed on the timeline. */
export interface TimelineEvent {
  /** ms since epoch. */
  atMs: number;
  label: string;
}

/** One bucket of a timeline. */
export interface TimelineRow {
  /** Bucket start relative to the measured window's start, ms. */
  tMs: number;
  requests: number;
  errors: number;
  p99Us: number;
  /** Labels of the events inside this bucket, in time order. */
  events: string[];
}

/**
 * Lays `events` on the buckets of a series. An event before the window goes
 * to the first bucket, one after it to the last.
 */
export function buildTimeline(series: readonly SeriesBucket[], startedAtMs: number, intervalMs: number, events: readonly TimelineEvent[]): TimelineRow[] {
  const rows: TimelineRow[] = series.map((b) => ({ tMs: b.tMs, requests: b.requests, errors: b.errors, p99Us: b.p99Us, events: [] }));
  if (rows.length === 0) return rows;
  for (const e of [...events].sort((a, b) => a.atMs - b.atMs)) {
    const rel = e.atMs - startedAtMs;
    let i = rows.findIndex((r) => rel >= r.tMs && rel < r.tMs + intervalMs);
    if (i < 0) i = rel < itemAt(rows, 0, 'rows[0]').tMs ? 0 : rows.length - 1;
    itemAt(rows, i, 'rows[i]').events.push(e.label);
  }
  return rows;
}

/**
 * The interesting rows of a timeline: every row within `context` rows of an
 * event or of a row with errors, plus the first and last rows. Runs of
 * omitted rows become one `'gap'` marker.
 */
export function compactTimeline(rows: readonly TimelineRow[], context = 3): (TimelineRow | 'gap')[] {
  const keep = new Array<boolean>(rows.length).fill(false);
  if (rows.length > 0) {
    keep[0] = true;
    keep[rows.length - 1] = true;
  }
  rows.forEach((r, i) => {
    if (r.events.length === 0 && r.errors === 0) return;
    for (let j = Math.max(0, i - context); j <= Math.min(rows.length - 1, i + context); j++) keep[j] = true;
  });
  const out: (TimelineRow | 'gap')[] = [];
  rows.forEach((r, i) => {
    if (keep[i]) out.push(r);
    else if (out[out.length - 1] !== 'gap') out.push('gap');
  });
  return out;
}

/** Errors in the buckets that overlap [fromMs, toMs] (ms since epoch). */
export function errorsBetween(series: readonly SeriesBucket[], startedAtMs: number, intervalMs: number, fromMs: number, toMs: number): number {
  let n = 0;
  for (const b of series) {
    const start = startedAtMs + b.tMs;
    if (start + intervalMs > fromMs && start <= toMs) n += b.errors;
  }
  return n;
}

/** Source addresses 127.0.0.2, 127.0.0.3, ... for `count` generators (max 250). */
export function loopbackSourceAddresses(count: number): string[] {
  const n = Math.max(0, Math.min(250, Math.floor(count)));
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);
}
