/**
 * Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format/):
 * `{ "<benchmark>": { "<measure>": { "value", "lower_value"?, "upper_value"? } } }`.
 * One benchmark per scenario (and target), one measure per metric; with
 * repeats the value is the median and the bounds are the min and max.
 */
import type { RunResult } from '../../result/scenario-api.js';
import { exportedMetrics } from './units.js';

export interface BmfMetric {
  value: number;
  lower_value?: number;
  upper_value?: number;
}

export function toBmf(run: RunResult): Record<string, Record<string, BmfMetric>> {
  const out: Record<string, Record<string, BmfMetric>> = {};
  for (const m of exportedMetrics(run)) {
    const entry: BmfMetric = { value: m.value };
    if (m.stats) {
      entry.lower_value = m.stats.min;
      entry.upper_value = m.stats.max;
    }
    (out[m.benchmark] ??= {})[m.metric] = entry;
  }
  return out;
}
