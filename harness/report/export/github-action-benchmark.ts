/**
 * github-action-benchmark's custom tools
 * (https://github.com/benchmark-action/github-action-benchmark#examples):
 * `customBiggerIsBetter` and `customSmallerIsBetter` each read an array of
 * `{ name, unit, value, range?, extra? }`, so a run gives two files, one per
 * direction. Metrics without a better direction (counts that follow the
 * settings) are left out.
 */
import { metricDirection } from '../../compare/direction.js';
import { formatNumber } from '../format.js';
import type { RunResult } from '../../result/scenario-api.js';
import { exportedMetrics, unitOf } from './units.js';
import { itemAt } from '../../../common/checked.js';

export interface GithubBenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  /** `±x`: half the min..max spread of the repeats. */
  range?: string;
  extra?: string;
}

export interface GithubBenchmarkFiles {
  biggerIsBetter: GithubBenchmarkEntry[];
  smallerIsBetter: GithubBenchmarkEntry[];
}

export function toGithubActionBenchmark(run: RunResult): GithubBenchmarkFiles {
  const out: GithubBenchmarkFiles = { biggerIsBetter: [], smallerIsBetter: [] };
  const thresholds = new Map(run.scenarios.map((s) => [s.name, s.thresholds]));
  for (const m of exportedMetrics(run)) {
    const dir = metricDirection(m.metric, thresholds.get(itemAt(m.benchmark.split('/'), 0, 'm.benchmark.split("/")[0]')) ?? []);
    if (dir.better === 'none') continue;
    const entry: GithubBenchmarkEntry = { name: `${m.benchmark} - ${m.metric}`, unit: unitOf(m.metric), value: m.value };
    if (m.stats) {
      entry.range = `±${formatNumber((m.stats.max - m.stats.min) / 2)}`;
      entry.extra = `median of ${m.stats.n} repeats; min ${formatNumber(m.stats.min)}, max ${formatNumber(m.stats.max)}, CV ${(m.stats.cv * 100).toFixed(1)}%`;
    }
    (dir.better === 'higher' ? out.biggerIsBetter : out.smallerIsBetter).push(entry);
  }
  return out;
}
