/**
 * One scenario's repeats folded into one ScenarioResult: medians as the
 * metrics, every sample kept, the spread of each metric, each repeat's raw
 * data, and the verdicts judged on the medians (NOISY where the repeats
 * straddle a target). Pure: a function of what the repeats returned.
 */
import type { ThresholdConfig } from '../../common/config.js';
import { formatNumber } from '../report/format.js';
import { metricStats } from './repeat-stats.js';
import type { LoadedScenario } from '../plan/scenario-file.js';
import type { MetricStats, ReportTable, SamplingData, ScenarioOutcome, ScenarioResult } from '../result/scenario-api.js';
import { judgeScenario } from './thresholds.js';
import { itemAt } from '../../common/checked.js';

/** What one run of a scenario's runner left behind. */
export interface ScenarioAttempt {
  status: ScenarioResult['status'];
  error?: string;
  /** Absent when the runner threw. */
  outcome?: ScenarioOutcome;
  lines: string[];
  loads: ScenarioResult['loads'];
  invalidReasons: string[];
  sampling?: SamplingData;
  startedAtMs: number;
  durationMs: number;
}

/** The status of several attempts: interrupted beats error beats invalid beats ok. */
function combinedStatus(attempts: readonly ScenarioAttempt[]): ScenarioResult['status'] {
  for (const s of ['interrupted', 'error', 'invalid'] as const) if (attempts.some((a) => a.status === s)) return s;
  return 'ok';
}

/** Every repeat's value of every metric, in run order (a repeat that did
 * not produce a metric adds nothing to it). */
export function collectSamples(metricsByRepeat: readonly Readonly<Record<string, number>>[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const metrics of metricsByRepeat) {
    for (const [name, value] of Object.entries(metrics)) (out[name] ??= []).push(value);
  }
  return out;
}

/** The repeats table of the terminal and Markdown reports. */
export function repeatsTable(stats: Readonly<Record<string, MetricStats>>, repeats: number): ReportTable {
  return {
    title: `Repeats: ${repeats} runs; verdicts on the median, NOISY when the IQR straddles the target`,
    columns: ['metric', 'median', 'min', 'max', 'IQR', 'CV', 'n'],
    rows: Object.entries(stats).map(([name, s]) => [
      name,
      formatNumber(s.median),
      formatNumber(s.min),
      formatNumber(s.max),
      formatNumber(s.iqr),
      `${(s.cv * 100).toFixed(1)}%`,
      s.n,
    ]),
  };
}

function mergeSampling(all: readonly (SamplingData | undefined)[]): SamplingData | undefined {
  const present = all.filter((s): s is SamplingData => s !== undefined);
  if (present.length <= 1) return present[0];
  const gauges: SamplingData['gauges'] = {};
  for (const s of present) for (const [k, points] of Object.entries(s.gauges)) (gauges[k] ??= []).push(...points);
  return { processes: present.flatMap((s) => s.processes), gauges };
}

/**
 * Folds the attempts (one per repeat, in run order; at least one) into the
 * scenario's result. With one attempt the result is that attempt as before
 * (no `samples`, `stats` or `repeats`). With several:
 * - `metrics`: the median of each metric over the repeats that produced it;
 * - `samples`, `stats`, `repeats`: every value, the spread, the raw data;
 * - `tables`, `details`: the last repeat's, with the repeats table first;
 * - `loads`, `lines`: every repeat's, in order;
 * - `status`: the worst of the repeats; invalid reasons say which repeat.
 * Verdicts are judged on `metrics` with `stats` (NOISY) and the targets'
 * `unavailable` metrics (N/A); a gated threshold that was not measured
 * makes an otherwise `ok` scenario `invalid`. Interrupted scenarios are not
 * judged: their numbers are incomplete.
 */
export function foldAttempts(
  scenario: Pick<LoadedScenario, 'name' | 'description'>,
  settings: Record<string, unknown>,
  thresholds: ThresholdConfig[],
  attempts: readonly ScenarioAttempt[],
): ScenarioResult {
  const n = attempts.length;
  const last = itemAt(attempts, n - 1, 'attempts[n - 1]');
  const label = (i: number, text: string): string => (n > 1 ? `repeat ${i + 1}/${n}: ${text}` : text);
  const status = combinedStatus(attempts);
  const invalidReasons = attempts.flatMap((a, i) => a.invalidReasons.map((r) => label(i, r)));
  const error = attempts.map((a, i) => (a.error !== undefined ? label(i, a.error) : undefined)).find((e) => e !== undefined);
  const outcomes = attempts.map((a) => a.outcome).filter((o): o is ScenarioOutcome => o !== undefined);
  const lastOutcome = [...attempts].reverse().find((a) => a.outcome)?.outcome;
  const unavailable = Object.assign({}, ...outcomes.map((o) => o.unavailable ?? {})) as Record<string, string>;
  const findings = Object.assign({}, ...outcomes.map((o) => o.findings ?? {})) as Record<string, string>;

  let metrics: Record<string, number> = lastOutcome?.metrics ?? {};
  let stats: Record<string, MetricStats> | undefined;
  let samples: Record<string, number[]> | undefined;
  if (n > 1) {
    samples = collectSamples(outcomes.map((o) => o.metrics));
    stats = {};
    metrics = {};
    for (const [name, values] of Object.entries(samples)) {
      const st = metricStats(values);
      if (!st) continue;
      stats[name] = st;
      metrics[name] = st.median;
    }
  }

  const judged =
    status === 'interrupted'
      ? { verdicts: [], invalidReasons: [] }
      : judgeScenario(scenario.name, { metrics, unavailable, findings, ...(stats ? { stats } : {}) }, thresholds);
  // A runner that threw has measured nothing; its error says why already.
  if (status !== 'error') for (const r of judged.invalidReasons) if (!invalidReasons.includes(r)) invalidReasons.push(r);
  const finalStatus = status === 'ok' && invalidReasons.length > 0 ? 'invalid' : status;
  const sampling = mergeSampling(attempts.map((a) => a.sampling));
  const tables = [...(stats && Object.keys(stats).length > 0 ? [repeatsTable(stats, n)] : []), ...(lastOutcome?.tables ?? [])];

  return {
    name: scenario.name,
    description: scenario.description,
    status: finalStatus,
    ...(error !== undefined ? { error } : {}),
    settings,
    thresholds,
    verdicts: judged.verdicts,
    startedAt: new Date(itemAt(attempts, 0, 'attempts[0]').startedAtMs).toISOString(),
    durationMs: last.startedAtMs + last.durationMs - itemAt(attempts, 0, 'attempts[0]').startedAtMs,
    lines: attempts.flatMap((a) => a.lines),
    loads: attempts.flatMap((a, i) => a.loads.map((l) => (n > 1 ? { ...l, label: `${l.label} #${i + 1}` } : l))),
    metrics,
    tables,
    invalidReasons,
    details: lastOutcome?.details ?? {},
    ...(Object.keys(unavailable).length > 0 ? { unavailable } : {}),
    ...(sampling ? { sampling } : {}),
    ...(n > 1
      ? {
          samples: samples!,
          stats: stats!,
          repeats: attempts.map((a) => ({ loads: a.loads, lines: a.lines, metrics: a.outcome?.metrics ?? {}, details: a.outcome?.details ?? {} })),
        }
      : {}),
  };
}
