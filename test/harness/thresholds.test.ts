import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, type ThresholdConfig } from '../../common/config.js';
import { UsageError } from '../../common/errors.js';
import { judge, resolveThresholds } from '../../harness/thresholds.js';

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

test('judge: SKIP when the metric is absent, NaN or infinite', () => {
  const t: ThresholdConfig[] = [{ name: 'n', target: 'm < 1', excellent: 'm < 0.5' }];
  for (const metrics of [{}, { m: NaN }, { m: Infinity }, { m: -Infinity }, { other: 0 }] as Record<string, number>[]) {
    const [v] = judge('s', metrics, t);
    assert.equal(v!.verdict, 'SKIP', JSON.stringify(metrics));
    assert.equal(v!.measured, undefined);
    assert.equal(v!.metric, 'm');
    assert.equal(v!.excellent, 'm < 0.5');
  }
});

test('judge: excellent on another metric; absent excellent metric gives PASS', () => {
  const t: ThresholdConfig[] = [{ name: 'n', target: 'ratio < 10', excellent: 'p99_ms < 10' }];
  assert.equal(judge('s', { ratio: 2, p99_ms: 5 }, t)[0]!.verdict, 'EXCELLENT');
  assert.equal(judge('s', { ratio: 2, p99_ms: 50 }, t)[0]!.verdict, 'PASS');
  assert.equal(judge('s', { ratio: 2 }, t)[0]!.verdict, 'PASS');
  assert.equal(judge('s', { ratio: 2, p99_ms: NaN }, t)[0]!.verdict, 'PASS');
  assert.equal(judge('s', { ratio: 20, p99_ms: 5 }, t)[0]!.verdict, 'FAIL');
  assert.equal(judge('s', { ratio: 2 }, t)[0]!.metric, 'ratio');
});

test('judge: keeps the order of thresholds, inherited keys are not metrics', () => {
  const v = judge('s', { a: 1 }, [
    { name: 'x', target: 'toString > 0' },
    { name: 'y', target: 'a > 0' },
  ]);
  assert.deepEqual(
    v.map((x) => [x.name, x.verdict]),
    [
      ['x', 'SKIP'],
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
  got[0]!.name = 'changed';
  assert.equal(CONFIG.thresholds['lat']![0]!.name, 'p99');
});
