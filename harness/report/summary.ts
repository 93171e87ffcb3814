/**
 * The run's summary: every verdict of every scenario with the benchmark
 * guide's five headline targets first, and the overall status. Pure.
 */
import type { RunResult, ScenarioResult, Verdict } from '../result/scenario-api.js';

/** One of the guide's headline targets. */
export interface GuideHeadline {
  /** Its display name in config.yaml, shown where a run has no threshold on it. */
  label: string;
  /** The metrics that measure it: the absolute figure and the ratio to
   * direct that the `ci` profile judges instead (round-1 results judged
   * active connections on `active_connections_peak`). */
  metrics: readonly string[];
}

/**
 * The guide's five headline targets, in the order the summary shows them.
 * A verdict belongs to one by its metric, not its display name, so a
 * threshold renamed in a config stays in the headline.
 */
export const GUIDE_HEADLINES: readonly GuideHeadline[] = [
  { label: 'p99 at 1K connections', metrics: ['p99_ms_c1000', 'p99_ratio_c1000'] },
  { label: 'throughput', metrics: ['gigabytes_per_second', 'throughput_ratio'] },
  { label: 'failover detection', metrics: ['detection_ms'] },
  { label: 'distribution deviation', metrics: ['deviation_pct'] },
  { label: 'active connections', metrics: ['connections_served', 'active_connections_peak'] },
];

/** The headline a verdict's metric belongs to, or undefined. */
export function guideHeadlineOf(v: Pick<Verdict, 'metric'>): GuideHeadline | undefined {
  return GUIDE_HEADLINES.find((h) => h.metrics.includes(v.metric));
}

/**
 * Every verdict of every scenario: first those of GUIDE_HEADLINES in that
 * order (several of one headline keep scenario order), then the rest in
 * scenario order.
 */
export function buildSummary(scenarios: readonly ScenarioResult[]): Verdict[] {
  const all = scenarios.flatMap((s) => s.verdicts);
  const guide = GUIDE_HEADLINES.flatMap((h) => all.filter((v) => guideHeadlineOf(v) === h));
  const rest = all.filter((v) => guideHeadlineOf(v) === undefined);
  return [...guide, ...rest];
}

/** The run's stored summary, or one built from its scenarios when a result
 * was stored without it. */
export function runSummary(run: Pick<RunResult, 'summary' | 'scenarios'>): Verdict[] {
  return run.summary.length > 0 ? run.summary : buildSummary(run.scenarios);
}

/** Overall status of a run: INVALID beats FAIL beats PASS. */
export type RunStatus = 'PASS' | 'FAIL' | 'INVALID';

/**
 * INVALID when the run was interrupted, a scenario did not finish `ok`, or
 * the stored exit code is 3; FAIL when a verdict failed (or the exit code is
 * 1); PASS otherwise. Matches the exit code `lbbench run` gives.
 */
export function overallStatus(run: Pick<RunResult, 'scenarios' | 'exitCode' | 'interrupted'>): RunStatus {
  if (run.exitCode === 3 || run.interrupted || run.scenarios.some((s) => s.status !== 'ok')) return 'INVALID';
  if (run.exitCode === 1 || run.scenarios.some((s) => s.verdicts.some((v) => v.verdict === 'FAIL'))) return 'FAIL';
  return 'PASS';
}

/** One scenario's status word: INVALID, ERROR, INTERRUPTED, or FAIL/PASS from its verdicts. */
export function scenarioStatus(s: Pick<ScenarioResult, 'status' | 'verdicts'>): 'PASS' | 'FAIL' | 'INVALID' | 'ERROR' | 'INTERRUPTED' {
  switch (s.status) {
    case 'invalid':
      return 'INVALID';
    case 'error':
      return 'ERROR';
    case 'interrupted':
      return 'INTERRUPTED';
    case 'ok':
      return s.verdicts.some((v) => v.verdict === 'FAIL') ? 'FAIL' : 'PASS';
  }
}
