import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toBmf } from '../../harness/report/export/bmf.js';
import { toGithubActionBenchmark } from '../../harness/report/export/github-action-benchmark.js';
import { unitOf } from '../../harness/report/export/units.js';
import { metricStats } from '../../harness/judge/repeat-stats.js';
import { fixtureRun, fixtureScenario } from './report-fixture.js';

function repeatedRun() {
  const p99 = [2, 3, 4];
  const rps = [900, 1000, 1100];
  const s = fixtureScenario({
    name: 'latency_percentiles',
    metrics: { p99_ms: 3, requests_per_second: 1000, requests_total: 5000 },
    samples: { p99_ms: p99, requests_per_second: rps, requests_total: [5000, 5000, 5000] },
    stats: { p99_ms: metricStats(p99)!, requests_per_second: metricStats(rps)!, requests_total: metricStats([5000, 5000, 5000])! },
    thresholds: [{ name: 'p99', target: 'p99_ms < 20' }],
  });
  const invalid = fixtureScenario({ name: 'lat_conn', status: 'invalid', metrics: { p99_ms_c1000: 12.5 } });
  const other = fixtureScenario({ name: 'throughput', target: 'nginx', metrics: { gigabytes_per_second: 1.5 } });
  return fixtureRun({ schemaVersion: 2, repeat: 3, scenarios: [s, invalid, other] });
}

test('bmf: one benchmark per scenario (and target), medians with min/max bounds; INVALID scenarios left out', () => {
  assert.deepEqual(toBmf(repeatedRun()), {
    latency_percentiles: {
      p99_ms: { value: 3, lower_value: 2, upper_value: 4 },
      requests_per_second: { value: 1000, lower_value: 900, upper_value: 1100 },
      requests_total: { value: 5000, lower_value: 5000, upper_value: 5000 },
    },
    'throughput/nginx': { gigabytes_per_second: { value: 1.5 } },
  });
});

test('github-action-benchmark: bigger- and smaller-is-better files by direction, with units and ranges', () => {
  const files = toGithubActionBenchmark(repeatedRun());
  assert.deepEqual(files.smallerIsBetter, [
    {
      name: 'latency_percentiles - p99_ms',
      unit: 'ms',
      value: 3,
      range: '±1',
      extra: 'median of 3 repeats; min 2, max 4, CV 33.3%',
    },
  ]);
  assert.deepEqual(
    files.biggerIsBetter.map((e) => [e.name, e.unit, e.value, e.range]),
    [
      ['latency_percentiles - requests_per_second', 'req/s', 1000, '±100'],
      ['throughput/nginx - gigabytes_per_second', 'GB/s', 1.5, undefined],
    ],
  );
});

test('units from metric names', () => {
  const cases: [string, string][] = [
    ['p99_ms', 'ms'],
    ['p99_ms_c1000', 'ms'],
    ['bytes_per_second', 'bytes/s'],
    ['capacity_rps_c1000', 'req/s'],
    ['deviation_pct', '%'],
    ['rss_slope_mb_per_min', 'MB/min'],
    ['rss_mb_c100', 'MB'],
    ['reuse_ratio', 'ratio'],
    ['active_connections_peak', ''],
  ];
  for (const [m, want] of cases) assert.equal(unitOf(m), want, m);
});
