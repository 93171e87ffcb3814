/**
 * BASE against HEAD: per scenario (and target) and metric, the change of
 * the median in %, its confidence interval from the repeats, and a verdict
 * (faster / slower, better / worse, no change, inconclusive). Pure: a
 * function of two stored RunResults.
 *
 * Method: the Hodges-Lehmann shift of log(value) with its exact Moses
 * interval (harness/compare/rank-test.ts says why rank-based and not a
 * bootstrap), turned back into a % change. A metric with a zero or negative
 * sample is compared on its raw scale, relative to BASE's median.
 */
import { ExitCode, type ExitCodeValue } from '../../common/exit-codes.js';
import type { RunResult, ScenarioResult } from '../result/scenario-api.js';
import { median } from '../../common/stats.js';
import { metricDirection, type Direction } from './direction.js';
import { shiftInterval } from './rank-test.js';

/** What to compare and how sure to be. */
export interface CompareOptions {
  /** Two-sided confidence of the intervals, 0..1. Default 0.95. */
  confidence?: number;
  /** A significant regression beyond this (in %, e.g. 10) fails (exit 1). */
  failOnRegressionPct?: number;
  /** Metric names to compare, `*` matching any run of characters. Default:
   * every metric with a direction (see direction.ts). */
  metrics?: readonly string[];
}

export type CompareVerdict = 'faster' | 'slower' | 'better' | 'worse' | 'no change' | 'inconclusive';

/** One metric of one scenario, BASE against HEAD. */
export interface MetricComparison {
  scenario: string;
  target: string;
  metric: string;
  better: Direction;
  baseSamples: number[];
  headSamples: number[];
  baseMedian: number;
  headMedian: number;
  /** (HEAD median / BASE median - 1) x 100; undefined when BASE's median is 0. */
  changePct?: number;
  /** Confidence interval of the change, %; absent when the repeats cannot
   * reach the confidence (then the verdict is `inconclusive`). */
  ciLowPct?: number;
  ciHighPct?: number;
  /** The interval's exact coverage (>= the confidence asked for). */
  coverage?: number;
  verdict: CompareVerdict;
  /** Why the verdict is inconclusive. */
  reason?: string;
  /** HEAD is significantly worse. */
  regression: boolean;
  /** A regression whose change goes beyond `failOnRegressionPct`. */
  pastLimit: boolean;
}

/** Identification of one side. */
export interface RunRef {
  runId: string;
  command: string;
  gitCommit?: string;
  repeat: number;
}

/** The whole comparison; plain data for the renderers. */
export interface Comparison {
  base: RunRef;
  head: RunRef;
  confidence: number;
  method: string;
  failOnRegressionPct?: number;
  metrics: MetricComparison[];
  /** Scenarios in only one run, INVALID scenarios, too few repeats. */
  warnings: string[];
  /** 3 when a compared scenario was not `ok` in either run (its figures
   * cannot be trusted; 3 beats 1 as in `run`), else 1 when a regression is
   * past the limit, else 0. */
  exitCode: ExitCodeValue;
}

export const COMPARE_METHOD = 'Mann-Whitney U: Hodges-Lehmann shift of log(value) over the repeats, exact distribution-free interval';

function ref(run: RunResult): RunRef {
  return {
    runId: run.runId,
    command: run.command,
    ...(run.environment.gitCommit ? { gitCommit: run.environment.gitCommit } : {}),
    repeat: run.repeat ?? 1,
  };
}

function key(s: Pick<ScenarioResult, 'name' | 'target'>): string {
  return `${s.name}\u0000${s.target ?? 'lbbench'}`;
}

/** A metric's samples: every repeat, or the one value of a run without repeats. */
export function metricSamples(s: ScenarioResult, metric: string): number[] {
  const repeated = s.samples?.[metric];
  if (repeated && repeated.length > 0) return repeated.filter(Number.isFinite);
  const v = s.metrics[metric];
  return typeof v === 'number' && Number.isFinite(v) ? [v] : [];
}

function matcher(patterns: readonly string[] | undefined): (metric: string) => boolean {
  if (!patterns || patterns.length === 0) return () => true;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ),
  );
  return (metric) => res.some((r) => r.test(metric));
}

/** The change interval in %: on log scale when every sample is positive. */
function changeInterval(base: readonly number[], head: readonly number[], confidence: number, baseMedian: number) {
  if ([...base, ...head].every((v) => v > 0)) {
    const iv = shiftInterval(base.map(Math.log), head.map(Math.log), confidence);
    return iv && { low: (Math.exp(iv.low) - 1) * 100, high: (Math.exp(iv.high) - 1) * 100, coverage: iv.coverage };
  }
  if (baseMedian === 0) return undefined;
  const iv = shiftInterval(base, head, confidence);
  const scale = 100 / Math.abs(baseMedian);
  return iv && { low: iv.low * scale, high: iv.high * scale, coverage: iv.coverage };
}

/** The smallest number of repeats a side that reaches `confidence`, for messages. */
function repeatsNeeded(confidence: number): number {
  for (let n = 2; n <= 30; n++) if (shiftInterval(range(n), range(n), confidence)) return n;
  return 30;
}
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** One metric's comparison. */
export function compareMetric(
  scenario: { name: string; target: string },
  metric: string,
  better: Direction,
  speed: boolean,
  base: readonly number[],
  head: readonly number[],
  opts: Pick<CompareOptions, 'confidence' | 'failOnRegressionPct'> = {},
): MetricComparison {
  const confidence = opts.confidence ?? 0.95;
  const baseMedian = median(base);
  const headMedian = median(head);
  const out: MetricComparison = {
    scenario: scenario.name,
    target: scenario.target,
    metric,
    better,
    baseSamples: [...base],
    headSamples: [...head],
    baseMedian,
    headMedian,
    verdict: 'inconclusive',
    regression: false,
    pastLimit: false,
  };
  if (baseMedian !== 0) out.changePct = (headMedian / baseMedian - 1) * 100;
  const iv = changeInterval(base, head, confidence, baseMedian);
  if (!iv) {
    out.reason =
      baseMedian === 0 && ![...base, ...head].every((v) => v > 0)
        ? 'BASE median is 0: no relative change'
        : `${base.length} vs ${head.length} repeats cannot reach ${formatPct(confidence * 100)} confidence (needs ${repeatsNeeded(confidence)} a side)`;
    return out;
  }
  out.ciLowPct = iv.low;
  out.ciHighPct = iv.high;
  out.coverage = iv.coverage;
  const up = iv.low > 0;
  const down = iv.high < 0;
  if (!up && !down) {
    out.verdict = 'no change';
    return out;
  }
  if (better === 'none') {
    out.verdict = 'no change';
    out.reason = 'changed, but the metric has no better direction';
    return out;
  }
  const worse = (up && better === 'lower') || (down && better === 'higher');
  out.verdict = worse ? (speed ? 'slower' : 'worse') : speed ? 'faster' : 'better';
  out.regression = worse;
  if (worse && opts.failOnRegressionPct !== undefined && out.changePct !== undefined) {
    out.pastLimit = Math.abs(out.changePct) > opts.failOnRegressionPct;
  }
  return out;
}

/**
 * Compares every scenario (by name and target) found in both runs, on
 * every metric both have (filtered by `opts.metrics`, default those with a
 * direction).
 */
export function compareRuns(base: RunResult, head: RunResult, opts: CompareOptions = {}): Comparison {
  const confidence = opts.confidence ?? 0.95;
  const wanted = matcher(opts.metrics);
  const warnings: string[] = [];
  const metrics: MetricComparison[] = [];
  const heads = new Map(head.scenarios.map((s) => [key(s), s]));
  let invalid = false;
  for (const b of base.scenarios) {
    const h = heads.get(key(b));
    const label = `${b.name}${b.target && b.target !== 'lbbench' ? ` (${b.target})` : ''}`;
    if (!h) {
      warnings.push(`${label}: only in BASE`);
      continue;
    }
    heads.delete(key(b));
    for (const [side, s] of [
      ['BASE', b],
      ['HEAD', h],
    ] as const) {
      if (s.status !== 'ok') {
        invalid = true;
        warnings.push(`${label}: ${s.status.toUpperCase()} in ${side}${s.invalidReasons[0] ? ` (${s.invalidReasons[0]})` : s.error ? ` (${s.error})` : ''}`);
      }
    }
    const thresholds = [...b.thresholds, ...h.thresholds];
    const names = Object.keys(b.metrics).filter((m) => Object.hasOwn(h.metrics, m) && wanted(m));
    for (const metric of names) {
      const dir = metricDirection(metric, thresholds);
      if (dir.better === 'none' && !opts.metrics) continue;
      const bs = metricSamples(b, metric);
      const hs = metricSamples(h, metric);
      if (bs.length === 0 || hs.length === 0) continue;
      metrics.push(compareMetric({ name: b.name, target: b.target ?? 'lbbench' }, metric, dir.better, dir.speed, bs, hs, opts));
    }
  }
  for (const h of heads.values()) warnings.push(`${h.name}${h.target && h.target !== 'lbbench' ? ` (${h.target})` : ''}: only in HEAD`);
  if (metrics.length > 0 && metrics.every((m) => m.verdict === 'inconclusive')) {
    warnings.push(`no metric could be judged: run both sides with --repeat ${repeatsNeeded(confidence)} or more`);
  }
  const exitCode = invalid ? ExitCode.INVALID_RUN : metrics.some((m) => m.pastLimit) ? ExitCode.THRESHOLD_FAILED : ExitCode.OK;
  return {
    base: ref(base),
    head: ref(head),
    confidence,
    method: COMPARE_METHOD,
    ...(opts.failOnRegressionPct !== undefined ? { failOnRegressionPct: opts.failOnRegressionPct } : {}),
    metrics,
    warnings,
    exitCode,
  };
}

/** A percentage with at most one decimal, e.g. `95%`, `96.8%`. */
export function formatPct(p: number): string {
  return `${Number(p.toFixed(1))}%`;
}
