import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, type ThresholdConfig } from '../../common/config.js';
import { UsageError } from '../../common/errors.js';
import { judge, judgeScenario, resolveThresholds } from '../../harness/judge/thresholds.js';
import { itemAt, valueAt } from '../../common/checked.js';

const CONFIG = parseConfigText(
  'test-config.yaml',
  `
lb:
  backends: [{ name: b1, url: "http://127.0.0.1:1" }]
thresholds:
  lat:
    - { name: p99, target: "p99_ms < 20", excellent: "p99_ms < 10" }
    - { name: errors, target: "errors == 0" }
profiles:
  ci:
    lat:
      - { name: p99, target: "p99_ratio < 10", excellent: "p99_ms < 10" }
      - { name: ci only, target: "x > 1" }
  empty: {}
`,
);

test('judge: each operator, EXCELLENT/PASS/FAIL', () => {
  const cases: { target: string; excellent?: string; value: number; want: string }[] = [
    { target: 'm < 20', excellent: 'm < 10', value: 5, want: 'EXCELLENT' },
    { target: 'm < 20', excellent: 'm < 10', value: 10, want: 'PASS' },
    { target: 'm < 20', excellent: 'm < 10', value: 20, want: 'FAIL' },
    { target: 'm <= 20', value: 20, want: 'PASS' },
    { target: 'm <= 20', value: 20.001, want: 'FAIL' },
    { target: 'm > 1', excellent: 'm > 5', value: 6, want: 'EXCELLENT' },
    { target: 'm > 1', value: 1, want: 'FAIL' },
    { target: 'm >= 1', value: 1, want: 'PASS' },
    { target: 'm >= 1e4', excellent: 'm >= 5e4', value: 50_000, want: 'EXCELLENT' },
    { target: 'm == 0', value: 0, want: 'PASS' },
    { target: 'm == 0', value: 1, want: 'FAIL' },
    { target: 'm != 0', value: 1, want: 'PASS' },
    { target: 'm != 0', value: 0, want: 'FAIL' },
    { target: 'm > -1.5', value: -1, want: 'PASS' },
  ];
  for (const c of cases) {
    const t: ThresholdConfig = { name: 'n', target: c.target, ...(c.excellent ? { excellent: c.excellent } : {}) };
    const [v] = judge('s', { m: c.value }, [t]);
    assert.equal(v!.verdict, c.want, `${c.target} / ${c.excellent ?? '-'} with ${c.value}`);
    assert.equal(v!.measured, c.value);
    assert.equal(v!.metric, 'm');
    assert.equal(v!.scenario, 's');
    assert.equal(v!.name, 'n');
    assert.equal(v!.target, c.target);
  }
});

test('judge: N/A "not measured" when the metric is absent, NaN or infinite; gated ones make the scenario INVALID', () => {
  const t: ThresholdConfig[] = [{ name: 'n', target: 'm < 1', excellent: 'm < 0.5' }];
  for (const metrics of [{}, { m: NaN }, { m: Infinity }, { m: -Infinity }, { other: 0 }] as Record<string, number>[]) {
    const { verdicts, invalidReasons } = judgeScenario('s', { metrics }, t);
    const v = itemAt(verdicts, 0, 'verdicts[0]');
    assert.equal(v.verdict, 'N/A', JSON.stringify(metrics));
    assert.equal(v.reason, 'not measured');
    assert.equal(v.measured, undefined);
    assert.equal(v.metric, 'm');
    assert.equal(v.excellent, 'm < 0.5');
    assert.equal(invalidReasons.length, 1);
    assert.match(itemAt(invalidReasons, 0, 'invalidReasons[0]'), /threshold "n": metric m was not measured/);
  }
});

test('judge: an optional threshold whose metric is absent is N/A and does not invalidate', () => {
  const { verdicts, invalidReasons } = judgeScenario('s', { metrics: {} }, [{ name: 'n', target: 'm < 1', optional: true }]);
  assert.equal(verdicts[0]?.verdict, 'N/A');
  assert.equal(verdicts[0]?.reason, 'not measured');
  assert.deepEqual(invalidReasons, []);
});

test('judge: a metric the target cannot provide is N/A with its reason, gated or not', () => {
  const { verdicts, invalidReasons } = judgeScenario(
    's',
    { metrics: { detection_ms: 5 }, unavailable: { detection_ms: 'nginx open source has no health gauge' } },
    [{ name: 'n', target: 'detection_ms < 10' }],
  );
  assert.equal(verdicts[0]?.verdict, 'N/A');
  assert.equal(verdicts[0]?.reason, 'nginx open source has no health gauge');
  assert.deepEqual(invalidReasons, []);
});

test('judge: with repeats, NOISY when the IQR straddles the target, else judged on the median', () => {
  const stats = (q1: number, median: number, q3: number) => ({ m: { n: 5, median, min: q1 - 1, max: q3 + 1, q1, q3, iqr: q3 - q1, cv: 0.1 } });
  const t: ThresholdConfig[] = [{ name: 'n', target: 'm < 10', excellent: 'm < 5' }];
  const cases: { q1: number; median: number; q3: number; want: string }[] = [
    { q1: 8, median: 9, q3: 11, want: 'NOISY' },
    { q1: 9, median: 11, q3: 12, want: 'NOISY' },
    { q1: 6, median: 7, q3: 9.9, want: 'PASS' },
    { q1: 1, median: 2, q3: 3, want: 'EXCELLENT' },
    { q1: 10, median: 12, q3: 14, want: 'FAIL' },
  ];
  for (const c of cases) {
    const [v] = judgeScenario('s', { metrics: { m: c.median }, stats: stats(c.q1, c.median, c.q3) }, t).verdicts;
    assert.equal(v!.verdict, c.want, JSON.stringify(c));
    assert.equal(v!.measured, c.median);
    if (c.want === 'NOISY') assert.match(v!.reason!, new RegExp(`middle half of 5 repeats \\(${c.q1}\\.\\.${c.q3}\\)`));
  }
  // One sample is no spread; == straddles when the value lies inside.
  assert.equal(
    judgeScenario('s', { metrics: { m: 9 }, stats: { m: { n: 1, median: 9, min: 9, max: 9, q1: 9, q3: 9, iqr: 0, cv: 0 } } }, t).verdicts[0]?.verdict,
    'PASS',
  );
  const eq = judgeScenario('s', { metrics: { m: 0 }, stats: { m: { n: 3, median: 0, min: 0, max: 2, q1: 0, q3: 1, iqr: 1, cv: 1 } } }, [
    { name: 'e', target: 'm == 0' },
  ]);
  assert.equal(eq.verdicts[0]?.verdict, 'NOISY');
});

test('judge: excellent on another metric; absent excellent metric gives PASS', () => {
  const t: ThresholdConfig[] = [{ name: 'n', target: 'ratio < 10', excellent: 'p99_ms < 10' }];
  assert.equal(judge('s', { ratio: 2, p99_ms: 5 }, t)[0]?.verdict, 'EXCELLENT');
  assert.equal(judge('s', { ratio: 2, p99_ms: 50 }, t)[0]?.verdict, 'PASS');
  assert.equal(judge('s', { ratio: 2 }, t)[0]?.verdict, 'PASS');
  assert.equal(judge('s', { ratio: 2, p99_ms: NaN }, t)[0]?.verdict, 'PASS');
  assert.equal(judge('s', { ratio: 20, p99_ms: 5 }, t)[0]?.verdict, 'FAIL');
  assert.equal(judge('s', { ratio: 2 }, t)[0]?.metric, 'ratio');
});

test('judge: keeps the order of thresholds, inherited keys are not metrics', () => {
  const v = judge('s', { a: 1 }, [
    { name: 'x', target: 'toString > 0' },
    { name: 'y', target: 'a > 0' },
  ]);
  assert.deepEqual(
    v.map((x) => [x.name, x.verdict]),
    [
      ['x', 'N/A'],
      ['y', 'PASS'],
    ],
  );
});

test('judge: a malformed expression is a UsageError', () => {
  assert.throws(() => judge('s', { m: 1 }, [{ name: 'n', target: 'm <' }]), UsageError);
});

test('resolveThresholds: config defaults only', () => {
  assert.deepEqual(
    resolveThresholds(CONFIG, 'lat', []).map((t) => t.name),
    ['p99', 'errors'],
  );
  assert.deepEqual(resolveThresholds(CONFIG, 'unknown', []), []);
});

test('resolveThresholds: scenario replaces by name in place and appends new names', () => {
  const got = resolveThresholds(CONFIG, 'lat', [
    { name: 'errors', target: 'errors < 5' },
    { name: 'new', target: 'n > 0' },
  ]);
  assert.deepEqual(got, [
    { name: 'p99', target: 'p99_ms < 20', excellent: 'p99_ms < 10' },
    { name: 'errors', target: 'errors < 5' },
    { name: 'new', target: 'n > 0' },
  ]);
});

test('resolveThresholds: profile replaces the scenario file and defaults by name', () => {
  const got = resolveThresholds(CONFIG, 'lat', [{ name: 'p99', target: 'p99_ms < 30' }], 'ci');
  assert.deepEqual(got, [
    { name: 'p99', target: 'p99_ratio < 10', excellent: 'p99_ms < 10' },
    { name: 'errors', target: 'errors == 0' },
    { name: 'ci only', target: 'x > 1' },
  ]);
  assert.equal(resolveThresholds(CONFIG, 'lat', [], 'empty').length, 2);
});

test('resolveThresholds: an unknown profile is a UsageError listing the known ones', () => {
  assert.throws(
    () => resolveThresholds(CONFIG, 'lat', [], 'nightly'),
    (err: unknown) => err instanceof UsageError && err.exitCode === 2 && /nightly/.test(err.message) && /ci, empty/.test(err.message),
  );
});

test('resolveThresholds: does not mutate the frozen config', () => {
  const got = resolveThresholds(CONFIG, 'lat', [], 'ci');
  itemAt(got, 0, 'the first threshold').name = 'changed';
  assert.equal(valueAt(CONFIG.thresholds, 'lat', 'CONFIG.thresholds.lat')[0]?.name, 'p99');
});
