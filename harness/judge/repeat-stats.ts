/**
 * Statistics over a handful of repeats of one metric: median, quartiles,
 * coefficient of variation (the quantiles themselves: common/stats.ts).
 * Pure; inputs are never mutated.
 */
import type { MetricStats } from '../result/scenario-api.js';
import { itemAt } from '../../common/checked.js';
import { quantileSorted } from '../../common/stats.js';

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
