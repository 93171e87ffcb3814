/**
 * Thresholds: which targets apply to a scenario (config defaults, the
 * scenario file, a named profile), and the verdicts they give over a
 * scenario's flat metrics map. Both are pure functions of their inputs.
 */
import type { LbbenchConfig, ThresholdConfig } from '../common/config.js';
import { UsageError } from '../common/errors.js';
import { evaluateThreshold, parseThresholdExpr, type ThresholdExpr } from '../common/threshold-expr.js';
import type { Verdict } from './scenario-api.js';

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
      throw new UsageError(
        `unknown threshold profile "${profile}"; known profiles: ${known.length ? known.join(', ') : '(none defined in config)'}`,
      );
    }
    merged = mergeByName(merged, config.profiles[profile]![scenarioName] ?? []);
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

/**
 * Judges one scenario's metrics against its thresholds; pure.
 *
 * - EXCELLENT: the target holds, and the `excellent` expression holds too.
 * - PASS: the target holds (and there is no `excellent`, or it does not hold,
 *   or its metric is absent).
 * - FAIL: the target does not hold.
 * - SKIP: the target's metric is absent or not finite (NaN, ±Infinity).
 *
 * `measured` and `metric` are the target's. The `excellent` expression may
 * name another metric (e.g. a CI profile targets a ratio to the baseline but
 * keeps the absolute excellent bar).
 *
 * Throws UsageError (exit 2) when an expression does not parse; configs and
 * scenario files are validated before any load runs, so this means a caller
 * bypassed validation.
 */
export function judge(scenarioName: string, metrics: Readonly<Record<string, number>>, thresholds: readonly ThresholdConfig[]): Verdict[] {
  return thresholds.map((t) => {
    const target = parseOrThrow(scenarioName, t.name, t.target);
    const verdict: Verdict = { scenario: scenarioName, name: t.name, target: target.source, metric: target.metric, verdict: 'SKIP' };
    if (t.excellent !== undefined) verdict.excellent = parseOrThrow(scenarioName, t.name, t.excellent).source;
    const measured = finiteMetric(metrics, target.metric);
    if (measured === undefined) return verdict;
    verdict.measured = measured;
    if (!evaluateThreshold(target, measured)) {
      verdict.verdict = 'FAIL';
      return verdict;
    }
    verdict.verdict = 'PASS';
    if (t.excellent !== undefined) {
      const excellent = parseOrThrow(scenarioName, t.name, t.excellent);
      const value = finiteMetric(metrics, excellent.metric);
      if (value !== undefined && evaluateThreshold(excellent, value)) verdict.verdict = 'EXCELLENT';
    }
    return verdict;
  });
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
