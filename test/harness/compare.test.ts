import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareMetric } from '../../harness/compare/compare.js';
import { metricDirection } from '../../harness/compare/direction.js';
import { mannWhitneyCdf, mannWhitneyCounts, shiftInterval } from '../../harness/compare/rank-test.js';

test('Mann-Whitney U null distribution: exact counts and tails', () => {
  assert.deepEqual(mannWhitneyCounts(2, 2), [1, 1, 2, 1, 1]);
  const c33 = mannWhitneyCounts(3, 3);
  assert.equal(
    c33.reduce((s, x) => s + x, 0),
    20,
  );
  assert.deepEqual(c33, [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
  assert.equal(
    mannWhitneyCounts(5, 5).reduce((s, x) => s + x, 0),
    252,
  );
  // Tables: P(U <= 2) for n = m = 5 is 4/252; n = 4, m = 6: P(U <= 1) = 2/210.
  assert.ok(Math.abs(mannWhitneyCdf(5, 5, 2) - 4 / 252) < 1e-12);
  assert.ok(Math.abs(mannWhitneyCdf(4, 6, 1) - 2 / 210) < 1e-12);
  assert.equal(mannWhitneyCdf(3, 4, -1), 0);
  assert.equal(mannWhitneyCdf(3, 4, 12), 1);
});

test('shiftInterval: Hodges-Lehmann estimate, exact coverage, too few repeats', () => {
  const x = [1, 2, 3, 4, 5];
  const y = x.map((v) => v + 10);
  const iv = shiftInterval(x, y, 0.95)!;
  assert.equal(iv.estimate, 10);
  // k = 3 for n = m = 5 at 95%: the 3rd smallest and largest of 25 differences.
  assert.deepEqual([iv.low, iv.high], [7, 13]);
  assert.ok(Math.abs(iv.coverage - (1 - 8 / 252)) < 1e-12);
  assert.equal(shiftInterval([1, 2, 3], [4, 5, 6], 0.95), undefined, '3 vs 3 cannot reach 95%');
  assert.ok(shiftInterval([1, 2, 3], [4, 5, 6], 0.9));
  assert.equal(shiftInterval([], [1], 0.9), undefined);
  // Large samples use the normal approximation and still bracket the shift.
  const big = Array.from({ length: 40 }, (_, i) => i);
  const shifted = shiftInterval(
    big,
    big.map((v) => v + 5),
    0.95,
  )!;
  assert.ok(shifted.low < 5 && shifted.high > 5 && shifted.estimate === 5);
});

test('compareMetric: verdicts by direction, limit, and not enough repeats', () => {
  const base = [10, 10.5, 9.8, 10.2, 10.1];
  const up = base.map((v) => v * 1.3);
  const s = { name: 's', target: 'lbbench' };
  const latency = compareMetric(s, 'p99_ms', 'lower', true, base, up, { failOnRegressionPct: 10 });
  assert.equal(latency.verdict, 'slower');
  assert.ok(latency.regression && latency.pastLimit);
  assert.ok(Math.abs(latency.changePct! - 30) < 1e-9);
  assert.ok(latency.ciLowPct! > 0 && latency.ciHighPct! > latency.ciLowPct!);
  assert.equal(compareMetric(s, 'p99_ms', 'lower', true, base, up, { failOnRegressionPct: 40 }).pastLimit, false);
  const rps = compareMetric(s, 'requests_per_second', 'higher', true, base, up);
  assert.equal(rps.verdict, 'faster');
  assert.equal(rps.regression, false);
  assert.equal(compareMetric(s, 'rss_mb', 'lower', false, base, up).verdict, 'worse');
  assert.equal(compareMetric(s, 'p99_ms', 'lower', true, base, [10.1, 9.9, 10.3, 10, 10.4]).verdict, 'no change');
  const few = compareMetric(s, 'p99_ms', 'lower', true, [1, 2, 3], [4, 5, 6]);
  assert.equal(few.verdict, 'inconclusive');
  assert.match(few.reason!, /3 vs 3 repeats cannot reach 95% confidence \(needs 4 a side\)/);
  // Zero samples: raw scale relative to BASE's median; BASE median 0 gives no %.
  assert.equal(compareMetric(s, 'errors_total', 'lower', false, [0, 0, 0, 0, 0], [0, 0, 1, 0, 0]).verdict, 'inconclusive');
});

test('metricDirection: thresholds first, then the name rules', () => {
  const cases: [string, string][] = [
    ['p99_ms', 'lower'],
    ['p99_ms_c1000', 'lower'],
    ['p99_ratio_c1000', 'lower'],
    ['requests_per_second', 'higher'],
    ['gigabytes_per_second', 'higher'],
    ['throughput_ratio', 'higher'],
    ['capacity_rps_c1000', 'higher'],
    ['reuse_ratio', 'higher'],
    ['active_connections_peak', 'higher'],
    ['deviation_pct', 'lower'],
    ['error_rate', 'lower'],
    ['rss_slope_mb_per_min', 'lower'],
    ['detection_ms', 'lower'],
    ['requests_total', 'none'],
  ];
  for (const [metric, want] of cases) assert.equal(metricDirection(metric).better, want, metric);
  assert.equal(metricDirection('requests_total', [{ name: 't', target: 'requests_total > 5' }]).better, 'higher');
});
