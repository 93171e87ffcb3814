/** A hand-built RunResult for the report tests: two scenarios out of guide
 * order, one invalid, a `|` in a table cell and in a description. */
import type { LoadResult } from '../../harness/engines/engine.js';
import { buildSummary } from '../../harness/report/summary.js';
import type { RunResult, ScenarioResult, Verdict } from '../../harness/result/scenario-api.js';
import { itemAt } from '../../common/checked.js';

export function fixtureLoad(overrides: Partial<LoadResult> = {}): LoadResult {
  return {
    engine: 'open-loop',
    engineVersion: '0.1.0',
    loadModel: 'open',
    latencyResolutionUs: 1,
    spec: { url: 'http://127.0.0.1:8080/', method: 'GET', connections: 1000, durationMs: 10_000, rate: 5000, processes: 2 },
    startedAtMs: 1_700_000_000_000,
    durationMs: 10_000,
    requests: 50_000,
    bytes: 5_000_000,
    bytesPerSecond: 500_000,
    achievedRate: 5000,
    errors: { timeout: 3 },
    statusCounts: { '200': 49_997 },
    latency: {
      count: 50_000,
      minUs: 90,
      meanUs: 800,
      stdevUs: 300,
      p50Us: 700,
      p75Us: 900,
      p90Us: 1200,
      p99Us: 12_500,
      p999Us: 30_000,
      p9999Us: 40_000,
      maxUs: 45_000,
    },
    histogram: '',
    seriesIntervalMs: 1000,
    series: [],
    connectionsEstablished: 987,
    connectRampMs: 1234,
    generator: { processes: 2, cpuPercent: 61.5, maxProcessCpuPercent: 33.1, saturated: false },
    ...overrides,
  };
}

function verdict(scenario: string, name: string, target: string, measured: number | undefined, level: Verdict['verdict'], excellent?: string): Verdict {
  const metric = itemAt(target.split(/\s/), 0, 'the metric of a threshold');
  const v: Verdict = { scenario, name, target, metric, verdict: level };
  if (excellent) v.excellent = excellent;
  if (measured !== undefined) v.measured = measured;
  return v;
}

export function fixtureScenario(overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    name: 'example',
    description: 'an example',
    status: 'ok',
    settings: {},
    thresholds: [],
    verdicts: [],
    startedAt: '2025-01-31T10:00:00.000Z',
    durationMs: 12_000,
    lines: [],
    loads: [],
    metrics: {},
    tables: [],
    invalidReasons: [],
    details: {},
    ...overrides,
  };
}

export function fixtureRun(overrides: Partial<RunResult> = {}): RunResult {
  const distribution = fixtureScenario({
    name: 'distribution',
    description: 'weights 5|3|2 over three backends',
    settings: { requests: 10_000, weights: [5, 3, 2] },
    metrics: { deviation_pct: 1.5 },
    verdicts: [
      verdict('distribution', 'extra check', 'other_metric < 1', 0.5, 'PASS'),
      verdict('distribution', 'distribution deviation', 'deviation_pct < 5', 1.5, 'EXCELLENT', 'deviation_pct < 2'),
    ],
    tables: [
      {
        title: 'Shares',
        columns: ['backend', 'share'],
        rows: [
          ['backend-8001 | primary', 0.5],
          ['backend-8002', 0.3],
        ],
      },
    ],
    lines: ['distribution: deviation 1.5% ```'],
    sampling: {
      processes: [
        { atMs: 1, name: 'lb', pid: 100, cpuPercent: 40, rssBytes: 50 * 1024 * 1024 },
        { atMs: 2, name: 'lb', pid: 100, cpuPercent: 60, rssBytes: 60 * 1024 * 1024 },
      ],
      gauges: {
        'lb_backend_health{backend="backend-8002"}': [
          { atMs: 1, value: 1 },
          { atMs: 2, value: 0 },
        ],
      },
    },
  });
  const latConn = fixtureScenario({
    name: 'lat_conn',
    description: 'p99 at 1000 connections',
    status: 'invalid',
    invalidReasons: ['only 987 of 1000 connections were established'],
    metrics: { p99_ms_c1000: 12.5 },
    loads: [{ label: 'c1000', result: fixtureLoad() }],
    verdicts: [verdict('lat_conn', 'p99 at 1K connections', 'p99_ms_c1000 < 20', 12.5, 'PASS', 'p99_ms_c1000 < 10')],
  });
  const throughput = fixtureScenario({
    name: 'throughput',
    status: 'interrupted',
    verdicts: [verdict('throughput', 'throughput', 'gigabytes_per_second > 1', undefined, 'SKIP', 'gigabytes_per_second > 5')],
  });
  const scenarios = [distribution, latConn, throughput];
  return {
    schemaVersion: 1,
    runId: '2025-01-31T10-00-00Z',
    startedAt: '2025-01-31T10:00:00.000Z',
    finishedAt: '2025-01-31T10:01:00.000Z',
    command: 'lbbench run all --quick',
    profile: 'quick',
    thresholdProfile: 'ci',
    interrupted: true,
    environment: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryBytes: 8 * 1024 ** 3,
      kernel: '6.1.0',
      platform: 'linux-x64',
      node: 'v20.20.0',
      lbbench: '0.1.0',
      engines: { 'open-loop': '0.1.0', autocannon: '8.0.0' },
      gitCommit: 'a'.repeat(40),
      hostname: 'host',
    },
    scenarios,
    summary: buildSummary(scenarios),
    exitCode: 3,
    ...overrides,
  };
}
