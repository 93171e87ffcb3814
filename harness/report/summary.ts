/**
 * The run's summary: every verdict of every scenario with the benchmark
 * guide's five headline targets first, and the overall status. Pure.
 */
import type { RunResult, ScenarioResult, Verdict } from '../result/scenario-api.js';

/** Names of the guide's headline targets, in the order the summary shows them. */
export const GUIDE_SUMMARY_NAMES: readonly string[] = [
  'p99 at 1K connections',
  'throughput',
  'failover detection',
  'distribution deviation',
  'active connections',
];

/**
 * Every verdict of every scenario: first those named in GUIDE_SUMMARY_NAMES
 * in that order (several with one name keep scenario order), then the rest
 * in scenario order.
 */
export function buildSummary(scenarios: readonly ScenarioResult[]): Verdict[] {
  const all = scenarios.flatMap((s) => s.verdicts);
  const guide = GUIDE_SUMMARY_NAMES.flatMap((name) => all.filter((v) => v.name === name));
  const rest = all.filter((v) => !GUIDE_SUMMARY_NAMES.includes(v.name));
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
