/**
 * Two-sample comparison for a handful of repeats: the Mann-Whitney U
 * statistic's exact null distribution, and the distribution-free confidence
 * interval of the shift that goes with it (Hodges-Lehmann estimate, Moses
 * interval: order statistics of the pairwise differences). Pure and
 * deterministic: no resampling, so no random source.
 *
 * Why this and not a bootstrap of the median ratio: the runs give 3-10
 * repeats a side. At such n a percentile bootstrap interval is too narrow
 * (its coverage falls short of the nominal level, so noise gets called a
 * regression), while the rank interval's coverage is exact for any n and any
 * continuous distribution, and a single outlier repeat (which this machine
 * produces) moves it by one order statistic at most. It also says honestly
 * when the repeats cannot support the confidence asked for (3 against 3
 * reaches 90%, never 95%).
 */
import { itemAt } from '../../common/checked.js';

/**
 * `counts[u]` = the number of the C(n+m, n) equally likely rank
 * arrangements under the null hypothesis whose U statistic equals `u`
 * (u = 0..n*m). Computed by the recurrence f(n, m, u) = f(n-1, m, u-m) +
 * f(n, m-1, u). Exact (as doubles) up to about n + m = 60.
 */
export function mannWhitneyCounts(n: number, m: number): number[] {
  // table[j][u] for the current i, over j = 0..m.
  let prev: number[][] = Array.from({ length: m + 1 }, () => [1]);
  for (let i = 1; i <= n; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= m; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      // The largest observation comes from the first sample (adds j to U) or the second.
      const fromFirst = itemAt(prev, j, 'a row of the previous table');
      const fromSecond = itemAt(cur, j - 1, 'the row before');
      // Outside a row's range the count is 0 (negative indexes included).
      for (let u = 0; u < size; u++) row[u] = (fromFirst[u - j] ?? 0) + (fromSecond[u] ?? 0);
      cur.push(row);
    }
    prev = cur;
  }
  return itemAt(prev, m, 'the row for m');
}

/** P(U <= u) under the null, for samples of n and m. */
export function mannWhitneyCdf(n: number, m: number, u: number, counts: readonly number[] = mannWhitneyCounts(n, m)): number {
  const total = counts.reduce((s, c) => s + c, 0);
  let below = 0;
  for (const [k, c] of counts.entries()) if (k <= u) below += c;
  return u < 0 ? 0 : below / total;
}

/** The shift of `y` against `x` with its confidence interval. */
export interface ShiftInterval {
  /** Hodges-Lehmann estimate: the median of all pairwise differences y - x. */
  estimate: number;
  /** Interval bounds (order statistics of the pairwise differences). */
  low: number;
  high: number;
  /** The interval's exact coverage, >= the confidence asked for, e.g. 0.968. */
  coverage: number;
}

/**
 * The Hodges-Lehmann shift of `y` relative to `x` with its exact
 * two-sided interval of at least `confidence` (0..1): [D(k), D(nm+1-k)] of
 * the sorted pairwise differences, for the largest k with
 * 2 P(U <= k-1) <= 1 - confidence. Undefined when the samples are too small
 * to reach that confidence (e.g. 3 against 3 at 0.95) or empty.
 * Samples above about 30 a side use the normal approximation of U.
 */
export function shiftInterval(x: readonly number[], y: readonly number[], confidence: number): ShiftInterval | undefined {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return undefined;
  const diffs: number[] = [];
  for (const yi of y) for (const xj of x) diffs.push(yi - xj);
  diffs.sort((a, b) => a - b);
  const nm = diffs.length;
  const diff = (i: number) => itemAt(diffs, i, 'a pairwise difference');
  const estimate = nm % 2 === 1 ? diff((nm - 1) / 2) : (diff(nm / 2 - 1) + diff(nm / 2)) / 2;
  const alpha = 1 - confidence;
  let k = 0;
  let tail = 0;
  if (n + m <= 60) {
    const counts = mannWhitneyCounts(n, m);
    const total = counts.reduce((s, c) => s + c, 0);
    let cum = 0;
    // Largest k with 2 * P(U <= k-1) <= alpha.
    for (const [c, count] of counts.entries()) {
      // The tolerance keeps 1 - 0.9 (0.0999...) from refusing an exact 0.1 tail.
      if ((2 * (cum + count)) / total > alpha + 1e-12) break;
      cum += count;
      k = c + 1;
      tail = cum / total;
    }
  } else {
    const mean = (n * m) / 2;
    const sd = Math.sqrt((n * m * (n + m + 1)) / 12);
    const z = normalQuantile(1 - alpha / 2);
    k = Math.max(0, Math.floor(mean - z * sd));
    tail = alpha / 2;
  }
  if (k < 1 || k > nm) return undefined;
  return { estimate, low: diff(k - 1), high: diff(nm - k), coverage: 1 - 2 * tail };
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239] as const;
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572] as const;
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] as const;
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] as const;
  const low = 0.02425;
  if (p <= 0 || p >= 1) return p <= 0 ? -Infinity : Infinity;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
