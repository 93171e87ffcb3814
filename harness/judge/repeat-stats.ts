/**
 * Statistics over a handful of repeats of one metric: median, quartiles,
 * coefficient of variation. Pure; inputs are never mutated.
 */
import type { MetricStats } from '../result/scenario-api.js';
import { itemAt } from '../../common/checked.js';

/** Quantile `q` (0..1) by linear interpolation between order statistics
 * (R type 7, numpy's default). NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return quantileSorted(sorted, q);
}

/** quantile() over values already sorted ascending. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return itemAt(sorted, lo, 'sorted[lo]') + (itemAt(sorted, hi, 'sorted[hi]') - itemAt(sorted, lo, 'sorted[lo]')) * (pos - lo);
}

/** The median. NaN for no values. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Spread of `values` (finite values only; NaN and ±Infinity are left out,
 * so `n` counts the usable repeats). Undefined when none is finite. */
export function metricStats(values: readonly number[]): MetricStats | undefined {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return undefined;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  return {
    n,
    median: quantileSorted(sorted, 0.5),
    min: itemAt(sorted, 0, 'sorted[0]'),
    max: itemAt(sorted, n - 1, 'sorted[n - 1]'),
    q1,
    q3,
    iqr: q3 - q1,
    cv: mean === 0 ? 0 : Math.sqrt(variance) / Math.abs(mean),
  };
}
