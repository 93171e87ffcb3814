/**
 * Thresholds: which targets apply to a scenario (config defaults, the
 * scenario file, a named profile), and the verdicts they give over a
 * scenario's flat metrics map. Both are pure functions of their inputs.
 */
import type { LbbenchConfig, ThresholdConfig } from '../../common/config.js';
import { UsageError } from '../../common/errors.js';
import { evaluateThreshold, parseThresholdExpr, type ThresholdExpr } from '../../common/threshold-expr.js';
import type { MetricStats, Verdict } from '../result/scenario-api.js';
import { valueAt } from '../../common/checked.js';

/**
 * The thresholds that apply to `scenarioName`: the config's defaults
 * (`config.thresholds[scenarioName]`), each replaced by name by the scenario
 * file's `scenarioThresholds`, each of those replaced by name by
 * `config.profiles[profile][scenarioName]`. A replacement keeps the position
 * of the threshold it replaces; a new name is appended.
 *
 * Throws UsageError (exit 2) when `profile` is given and not defined in
 * `config.profiles`; the message lists the known profiles.
 */
export function resolveThresholds(
  config: LbbenchConfig,
  scenarioName: string,
  scenarioThresholds: readonly ThresholdConfig[],
  profile?: string,
): ThresholdConfig[] {
  let merged = mergeByName(config.thresholds[scenarioName] ?? [], scenarioThresholds);
  if (profile !== undefined) {
    if (!Object.hasOwn(config.profiles, profile)) {
      const known = Object.keys(config.profiles);
      throw new UsageError(`unknown threshold profile "${profile}"; known profiles: ${known.length ? known.join(', ') : '(none defined in config)'}`);
    }
    merged = mergeByName(merged, valueAt(config.profiles, profile, `profile ${profile}`)[scenarioName] ?? []);
  }
  return merged;
}

function mergeByName(base: readonly ThresholdConfig[], overrides: readonly ThresholdConfig[]): ThresholdConfig[] {
  const out = base.map((t) => ({ ...t }));
  for (const o of overrides) {
    const i = out.findIndex((t) => t.name === o.name);
    if (i >= 0) out[i] = { ...o };
    else out.push({ ...o });
  }
  return out;
}

/** What a scenario's thresholds are judged against. */
export interface JudgeInput {
  /** Flat metrics (with repeats, the medians). */
  metrics: Readonly<Record<string, number>>;
  /** Metric -> why the target cannot provide it (ScenarioOutcome.unavailable). */
  unavailable?: Readonly<Record<string, string>>;
  /** Spread over repeats (ScenarioResult.stats); enables NOISY. */
  stats?: Readonly<Record<string, MetricStats>>;
  /** Metric -> the runner's finding (ScenarioOutcome.findings): the reason of a FAIL on it. */
  findings?: Readonly<Record<string, string>>;
}

/** Verdicts, and the reasons the scenario is INVALID because of them. */
export interface Judgement {
  verdicts: Verdict[];
  /** One per gated threshold whose metric was not measured. */
  invalidReasons: string[];
}

/**
 * Judges one scenario against its thresholds; pure.
 *
 * - N/A: the target's metric is in `unavailable` (the reason is given), or
 *   it is absent or not finite (NaN, ±Infinity): reason `not measured`. Such
 *   a threshold is gated unless it says `optional: true`: then the scenario
 *   is INVALID (an entry in `invalidReasons`), because a gate that cannot
 *   see its metric must not pass.
 * - FAIL: the target does not hold.
 * - NOISY: with repeats (`stats[metric].n > 1`), the target holds at one end
 *   of the interquartile range and not at the other. The IQR, not min..max:
 *   one outlier among the repeats (the 9.4 ms in 1.7, 1.8, 2.3, 9.4) would
 *   make min..max straddle nearly every target, which is the noise repeats
 *   are there to absorb; the middle half of the repeats disagreeing is real
 *   doubt about the median.
 * - EXCELLENT: the target holds, and the `excellent` expression holds too.
 * - PASS: the target holds (and there is no `excellent`, or it does not hold,
 *   or its metric is absent).
 *
 * `measured` and `metric` are the target's (the median with repeats). The
 * `excellent` expression may name another metric (e.g. a CI profile targets
 * a ratio to the baseline but keeps the absolute excellent bar).
 *
 * Throws UsageError (exit 2) when an expression does not parse; configs and
 * scenario files are validated before any load runs, so this means a caller
 * bypassed validation.
 */
export function judgeScenario(scenarioName: string, input: JudgeInput, thresholds: readonly ThresholdConfig[]): Judgement {
  const invalidReasons: string[] = [];
  const verdicts = thresholds.map((t): Verdict => {
    const target = parseOrThrow(scenarioName, t.name, t.target);
    const verdict: Verdict = { scenario: scenarioName, name: t.name, target: target.source, metric: target.metric, verdict: 'N/A' };
    if (t.excellent !== undefined) verdict.excellent = parseOrThrow(scenarioName, t.name, t.excellent).source;
    const unavailable = input.unavailable && Object.hasOwn(input.unavailable, target.metric) ? input.unavailable[target.metric] : undefined;
    if (unavailable !== undefined) {
      verdict.reason = unavailable;
      return verdict;
    }
    const measured = finiteMetric(input.metrics, target.metric);
    if (measured === undefined) {
      verdict.reason = 'not measured';
      if (t.optional !== true) {
        invalidReasons.push(`threshold "${t.name}": metric ${target.metric} was not measured (mark the threshold optional: true to allow that)`);
      }
      return verdict;
    }
    verdict.measured = measured;
    const stats = input.stats && Object.hasOwn(input.stats, target.metric) ? input.stats[target.metric] : undefined;
    if (stats !== undefined && stats.n > 1 && straddles(target, stats.q1, stats.q3)) {
      verdict.verdict = 'NOISY';
      verdict.reason = `the middle half of ${stats.n} repeats (${formatNumber(stats.q1)}..${formatNumber(stats.q3)}) straddles the target`;
      return verdict;
    }
    if (!evaluateThreshold(target, measured)) {
      verdict.verdict = 'FAIL';
      const finding = input.findings && Object.hasOwn(input.findings, target.metric) ? input.findings[target.metric] : undefined;
      if (finding !== undefined) verdict.reason = finding;
      return verdict;
    }
    verdict.verdict = 'PASS';
    if (t.excellent !== undefined) {
      const excellent = parseOrThrow(scenarioName, t.name, t.excellent);
      const value = finiteMetric(input.metrics, excellent.metric);
      if (value !== undefined && evaluateThreshold(excellent, value)) verdict.verdict = 'EXCELLENT';
    }
    return verdict;
  });
  return { verdicts, invalidReasons };
}

/** The verdicts of judgeScenario over plain metrics (no repeats, nothing unavailable). */
export function judge(scenarioName: string, metrics: Readonly<Record<string, number>>, thresholds: readonly ThresholdConfig[]): Verdict[] {
  return judgeScenario(scenarioName, { metrics }, thresholds).verdicts;
}

/** Whether the target holds at one end of [lo, hi] and not at the other;
 * for == and != also when the value lies strictly inside. */
function straddles(expr: ThresholdExpr, lo: number, hi: number): boolean {
  if (evaluateThreshold(expr, lo) !== evaluateThreshold(expr, hi)) return true;
  return (expr.op === '==' || expr.op === '!=') && lo < expr.value && expr.value < hi;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}

function finiteMetric(metrics: Readonly<Record<string, number>>, name: string): number | undefined {
  if (!Object.hasOwn(metrics, name)) return undefined;
  const v = metrics[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function parseOrThrow(scenario: string, name: string, text: string): ThresholdExpr {
  const parsed = parseThresholdExpr(text);
  if ('error' in parsed) throw new UsageError(`threshold "${name}" of scenario "${scenario}": "${text}": ${parsed.error}`);
  return parsed;
}
