/**
 * What the exports share: the metrics of a run worth exporting (finite, one
 * benchmark per scenario and target) and each metric's unit from its name.
 */
import type { MetricStats, RunResult } from '../../result/scenario-api.js';

/** One exported value. */
export interface ExportedMetric {
  /** `scenario` or `scenario/target` for a target other than lbbench. */
  benchmark: string;
  metric: string;
  /** The median with repeats, else the one value. */
  value: number;
  /** Spread over the repeats, when there were several. */
  stats?: MetricStats;
}

/** Every finite metric of every `ok` scenario (INVALID figures are not exported). */
export function exportedMetrics(run: RunResult): ExportedMetric[] {
  const out: ExportedMetric[] = [];
  for (const s of run.scenarios) {
    if (s.status !== 'ok') continue;
    const benchmark = s.target && s.target !== 'lbbench' ? `${s.name}/${s.target}` : s.name;
    for (const [metric, value] of Object.entries(s.metrics)) {
      if (!Number.isFinite(value)) continue;
      const stats = s.stats?.[metric];
      out.push({ benchmark, metric, value, ...(stats && stats.n > 1 ? { stats } : {}) });
    }
  }
  return out;
}

/** The unit a metric's name carries (`p99_ms` -> `ms`), or `` when none. */
export function unitOf(metric: string): string {
  const rules: [RegExp, string][] = [
    [/gigabytes_per_second/, 'GB/s'],
    [/bytes_per_second/, 'bytes/s'],
    [/(requests_per_second|_rps)(_c\d+)?$|capacity_rps/, 'req/s'],
    [/_ms(_c\d+)?$|_ms_/, 'ms'],
    [/_pct(_|$)/, '%'],
    [/_mb_per_min/, 'MB/min'],
    [/_mb(_c\d+)?$/, 'MB'],
    [/_kb(_c\d+)?$/, 'KB'],
    [/ratio|_rate$/, 'ratio'],
    [/bytes/, 'bytes'],
  ];
  return rules.find(([re]) => re.test(metric))?.[1] ?? '';
}
