/**
 * Several runs of the same scenarios (one per round, e.g. the interleaved
 * runs of `lbbench ab`) pooled into one RunResult whose scenarios carry
 * every run's values as `samples`, the spread as `stats` and the medians as
 * `metrics`, the shape `compare` reads. Pure.
 */
import { collectSamples } from '../judge/repeats.js';
import { metricStats } from '../judge/repeat-stats.js';
import type { MetricStats, RunResult, ScenarioResult } from '../result/scenario-api.js';
import { itemAt } from '../../common/checked.js';

const WORST: readonly ScenarioResult['status'][] = ['interrupted', 'error', 'invalid'];

/** Pools `runs` (at least one); scenarios are matched by name and target. */
export function poolRuns(runs: readonly RunResult[]): RunResult {
  const first = itemAt(runs, 0, 'runs[0]');
  const byKey = new Map<string, ScenarioResult[]>();
  for (const run of runs) {
    for (const s of run.scenarios) {
      const k = `${s.name}\u0000${s.target ?? 'lbbench'}`;
      byKey.set(k, [...(byKey.get(k) ?? []), s]);
    }
  }
  const scenarios = [...byKey.values()].map((all): ScenarioResult => {
    // Each run's own repeats when it had several, else its one value per metric.
    const samples = collectSamples(all.flatMap((s) => (s.repeats && s.repeats.length > 0 ? s.repeats.map((r) => r.metrics) : [s.metrics])));
    const stats: Record<string, MetricStats> = {};
    const metrics: Record<string, number> = {};
    for (const [name, values] of Object.entries(samples)) {
      const st = metricStats(values);
      if (!st) continue;
      stats[name] = st;
      metrics[name] = st.median;
    }
    const status = WORST.find((w) => all.some((s) => s.status === w)) ?? 'ok';
    const last = itemAt(all, all.length - 1, 'all[all.length - 1]');
    return {
      ...last,
      status,
      invalidReasons: all.flatMap((s, i) => s.invalidReasons.map((r) => `run ${i + 1}: ${r}`)),
      metrics,
      samples,
      stats,
      verdicts: [],
      loads: [],
      lines: [],
      repeats: [],
    };
  });
  return { ...first, repeat: runs.length, scenarios, summary: [], exitCode: Math.max(...runs.map((r) => r.exitCode)) };
}
