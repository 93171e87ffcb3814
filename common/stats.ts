/**
 * Order statistics over small samples (repeats, rounds, per-interval
 * figures): the one definition of the median and of quantiles, for the
 * harness, the benches and the tests. Pure; inputs are never mutated.
 */
import { itemAt } from './checked.js';

/** Quantile `q` (0..1, clamped) by linear interpolation between order
 * statistics (R type 7, numpy's default). NaN for no values. */
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

/** The median (the mean of the middle two for an even count). NaN for no values. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The median of the finite values (NaN and ±Infinity left out); undefined
 * when none is finite. */
export function finiteMedian(values: readonly number[]): number | undefined {
  const m = median(values.filter(Number.isFinite));
  return Number.isNaN(m) ? undefined : m;
}
