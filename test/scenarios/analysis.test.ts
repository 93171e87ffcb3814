import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SeriesBucket } from '../../harness/engines/engine.js';
import {
  buildTimeline,
  compactTimeline,
  distributionDeviation,
  errorRate,
  errorsBetween,
  expectedShares,
  linearSlope,
  loopbackSourceAddresses,
  p99DriftRatio,
  peakGauge,
  percentDifference,
  rssSlopeMbPerMin,
} from '../../harness/scenarios/analysis.js';
import { guideRow } from '../../harness/scenarios/lat-conn.js';
import { backendFamilyCount, summarize } from '../../harness/scenarios/distribution.js';
import { reuseFigures } from '../../harness/scenarios/connection-pooling.js';
import { generatorBoundReason } from '../../harness/scenarios/throughput.js';
import { marginalRssPerConnectionKb } from '../../harness/scenarios/memory-profile.js';
import { checkLoad, checkPeakConnections } from '../../harness/scenarios/shared.js';
import type { LoadResult } from '../../harness/engines/engine.js';
import { itemAt } from '../../common/checked.js';

const near = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

describe('expectedShares', () => {
  const cases: [Parameters<typeof expectedShares>[0], number[], number[] | undefined][] = [
    ['weighted_round_robin', [5, 3, 2], [0.5, 0.3, 0.2]],
    ['random', [1, 1], [0.5, 0.5]],
    ['round_robin', [5, 3, 2], [1 / 3, 1 / 3, 1 / 3]],
    ['least_connections', [5, 3, 2], undefined],
    ['power_of_two_choices', [1, 1], undefined],
    ['consistent_hash', [1, 1], undefined],
    ['weighted_round_robin', [], undefined],
  ];
  for (const [algo, weights, want] of cases) {
    it(`${algo} ${JSON.stringify(weights)}`, () => assert.deepEqual(expectedShares(algo, weights), want));
  }
});

describe('distributionDeviation', () => {
  const cases: { counts: number[]; expected: number[]; maxPct: number }[] = [
    { counts: [5000, 3000, 2000], expected: [0.5, 0.3, 0.2], maxPct: 0 },
    // 2100 of 10000 = 0.21 against 0.2: 5% off; 0.49 against 0.5: 2%.
    { counts: [4900, 3000, 2100], expected: [0.5, 0.3, 0.2], maxPct: 5 },
    { counts: [1, 1, 1], expected: [1 / 3, 1 / 3, 1 / 3], maxPct: 0 },
    { counts: [0, 0], expected: [0.5, 0.5], maxPct: 100 },
    { counts: [10, 0], expected: [0.5, 0.5], maxPct: 100 },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.counts)} vs ${JSON.stringify(c.expected.map((x) => +x.toFixed(3)))} -> ${c.maxPct}%`, () => {
      near(distributionDeviation(c.counts, c.expected).maxDeviationPct, c.maxPct, 1e-6);
    });
  }
  it('rejects mismatched lengths', () => assert.throws(() => distributionDeviation([1], [0.5, 0.5]), RangeError));
});

describe('distribution summarize', () => {
  it('flags counts that disagree beyond the tolerance (min 2 requests)', () => {
    const names = ['a', 'b', 'c'];
    const ok = summarize('weighted_round_robin', names, [5, 3, 2], [5000, 3000, 2000], [5001, 2999, 2000], 0.5);
    assert.equal(ok.countsAgree, true);
    assert.equal(ok.maxDeviationPct, 0);
    const bad = summarize('weighted_round_robin', names, [5, 3, 2], [5000, 3000, 2000], [5000, 3000, 1900], 0.5);
    assert.equal(bad.countsAgree, false);
    const rr = summarize('round_robin', names, [5, 3, 2], [100, 100, 100], [100, 100, 100], 0.5);
    near(itemAt(rr.backends, 0, 'backend 0').expectedShare, 1 / 3);
  });

  it('backendFamilyCount reads the family of the path, else total minus health', () => {
    const stats = { requests: { total: 50, byFamily: { echo: 30, bytes: 5, delay: 0, status: 0, health: 15, notFound: 0, admin: 9 } } };
    assert.equal(backendFamilyCount(stats, '/echo'), 30);
    assert.equal(backendFamilyCount(stats, '/bytes/1048576'), 5);
    assert.equal(backendFamilyCount(stats, '/other'), 35);
  });
});

describe('linearSlope and rssSlopeMbPerMin', () => {
  const cases: { points: { x: number; y: number }[]; slope: number }[] = [
    { points: [], slope: 0 },
    { points: [{ x: 1, y: 1 }], slope: 0 },
    {
      points: [
        { x: 1, y: 1 },
        { x: 1, y: 5 },
      ],
      slope: 0,
    },
    {
      points: [
        { x: 0, y: 0 },
        { x: 1, y: 2 },
        { x: 2, y: 4 },
      ],
      slope: 2,
    },
    {
      points: [
        { x: 0, y: 10 },
        { x: 1, y: 9 },
        { x: 2, y: 8 },
      ],
      slope: -1,
    },
    // Noise around a flat line: slope 0.
    {
      points: [
        { x: 0, y: 1 },
        { x: 1, y: -1 },
        { x: 2, y: 1 },
        { x: 3, y: -1 },
        { x: 4, y: 1 },
        { x: 5, y: -1 },
        { x: 6, y: 1 },
      ],
      slope: 0,
    },
  ];
  for (const c of cases) it(`${JSON.stringify(c.points)} -> ${c.slope}`, () => near(linearSlope(c.points), c.slope, 1e-9));

  it('gives MB/min after the warm-up only', () => {
    const MB = 1_048_576;
    // Warm-up: +100 MB in 10 s; then +1 MB every 6 s = 10 MB/min.
    const samples = [
      { atMs: 0, rssBytes: 50 * MB },
      { atMs: 10_000, rssBytes: 150 * MB },
      ...Array.from({ length: 11 }, (_, i) => ({ atMs: 12_000 + i * 6000, rssBytes: (150 + i) * MB })),
    ];
    near(rssSlopeMbPerMin(samples, 12_000)!, 10, 1e-9);
    assert.equal(rssSlopeMbPerMin(samples.slice(0, 4), 12_000), undefined, 'fewer than 3 samples after warm-up');
  });
});

describe('peakGauge (MAX_CONN)', () => {
  const cases: { gauges: Record<string, { atMs: number; value: number }[]>; name: string; peak: number }[] = [
    { gauges: {}, name: 'lb_active_connections', peak: 0 },
    {
      gauges: {
        lb_active_connections: [
          { atMs: 1, value: 10 },
          { atMs: 2, value: 998 },
          { atMs: 3, value: 400 },
        ],
      },
      name: 'lb_active_connections',
      peak: 998,
    },
    // Series with labels are summed per instant.
    {
      gauges: {
        'lb_active_connections{worker="1"}': [
          { atMs: 1, value: 400 },
          { atMs: 2, value: 500 },
        ],
        'lb_active_connections{worker="2"}': [
          { atMs: 1, value: 450 },
          { atMs: 2, value: 480 },
        ],
      },
      name: 'lb_active_connections',
      peak: 980,
    },
    // A gauge whose name starts the same is not mixed in.
    {
      gauges: { lb_active_connections_total: [{ atMs: 1, value: 5000 }], lb_active_connections: [{ atMs: 1, value: 7 }] },
      name: 'lb_active_connections',
      peak: 7,
    },
  ];
  for (const [i, c] of cases.entries()) it(`case ${i}: ${c.peak}`, () => assert.equal(peakGauge({ gauges: c.gauges }, c.name), c.peak));

  it('checkPeakConnections accepts a peak within the tolerance only', () => {
    assert.equal(checkPeakConnections('c1000', 1000, 1000), undefined);
    assert.equal(checkPeakConnections('c1000', 1000, 980), undefined);
    assert.match(checkPeakConnections('c1000', 1000, 979)!, /requested 1000 connections.*at most 979/);
    assert.match(checkPeakConnections('c1000', 1000, 0, 0)!, /at most 0/);
  });
});

describe('errors', () => {
  const cases: { errors: Record<string, number>; requests: number; rate: number }[] = [
    { errors: {}, requests: 0, rate: 0 },
    { errors: {}, requests: 1000, rate: 0 },
    { errors: { non2xx: 10 }, requests: 1000, rate: 0.01 },
    { errors: { connect: 10 }, requests: 990, rate: 0.01 },
    { errors: { timeout: 5, non2xx: 5 }, requests: 995, rate: 0.01 },
  ];
  for (const c of cases) it(`${JSON.stringify(c.errors)} of ${c.requests} -> ${c.rate}`, () => near(errorRate(c), c.rate, 1e-12));

  it('percentDifference', () => {
    near(percentDifference(100, 98), 2);
    near(percentDifference(98, 100), 2);
    assert.equal(percentDifference(0, 0), 0);
  });
});

const bucket = (tMs: number, requests: number, errors = 0, p99Us = 1000): SeriesBucket => ({ tMs, requests, errors, bytes: 0, p99Us });

describe('failover timeline', () => {
  const series = Array.from({ length: 20 }, (_, i) => bucket(i * 100, 100, i === 11 ? 2 : 0));
  const start = 1_000_000;
  const rows = buildTimeline(series, start, 100, [
    { atMs: start + 1050, label: 'kill' },
    { atMs: start + 1099, label: 'marked unhealthy' },
    { atMs: start - 50, label: 'before' },
    { atMs: start + 99_999, label: 'after' },
  ]);

  it('places events in their buckets, clamping outside ones', () => {
    assert.deepEqual(rows[10]?.events, ['kill', 'marked unhealthy']);
    assert.deepEqual(rows[0]?.events, ['before']);
    assert.deepEqual(rows[19]?.events, ['after']);
    assert.equal(rows.length, 20);
  });

  it('compacts to the rows near events and errors, with gap markers', () => {
    const compact = compactTimeline(rows, 1);
    const shown = compact.map((r) => (r === 'gap' ? 'gap' : r.tMs));
    assert.deepEqual(shown, [0, 100, 'gap', 900, 1000, 1100, 1200, 'gap', 1800, 1900]);
  });

  it('keeps everything when the context covers it, nothing but ends when quiet', () => {
    assert.equal(compactTimeline(rows, 100).length, 20);
    const quiet = buildTimeline(
      series.map((b) => ({ ...b, errors: 0 })),
      start,
      100,
      [],
    );
    assert.deepEqual(
      compactTimeline(quiet, 3).map((r) => (r === 'gap' ? 'gap' : r.tMs)),
      [0, 'gap', 1900],
    );
    assert.deepEqual(compactTimeline([], 3), []);
  });

  it('counts the errors inside a time range', () => {
    assert.equal(errorsBetween(series, start, 100, start + 1050, start + 1500), 2);
    assert.equal(errorsBetween(series, start, 100, start + 1200, start + 1500), 0);
    assert.equal(errorsBetween(series, start, 100, start + 1199, start + 1199), 2);
  });
});

describe('p99DriftRatio', () => {
  const cases: { p99s: number[]; ratio: number | undefined }[] = [
    { p99s: [1000, 1000], ratio: undefined },
    { p99s: [1000, 1000, 1000], ratio: 1 },
    { p99s: [1000, 1000, 2000, 2000, 3000, 3000], ratio: 3 },
    { p99s: [2000, 2000, 2000, 1000, 1000, 1000], ratio: 0.5 },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.p99s)} -> ${c.ratio}`, () => assert.equal(p99DriftRatio(c.p99s.map((p, i) => bucket(i * 1000, 10, 0, p))), c.ratio));
  }
  it('skips intervals without requests', () =>
    assert.equal(p99DriftRatio([bucket(0, 0, 0, 0), bucket(1, 1, 0, 10), bucket(2, 1, 0, 10), bucket(3, 1, 0, 20)]), 2));
});

describe('small helpers', () => {
  it('guideRow matches the guide layout', () => {
    assert.equal(guideRow('CONN', 'P99_LAT(ms)', 'MAX_CONN'), 'CONN  P99_LAT(ms)   MAX_CONN');
    assert.equal(guideRow('100', '3.45', '100'), ' 100         3.45        100');
  });

  it('reuseFigures', () => {
    assert.deepEqual(reuseFigures(1000, 10), { reuseRatio: 0.99, requestsPerConnection: 100 });
    assert.deepEqual(reuseFigures(1000, 0), { reuseRatio: 1, requestsPerConnection: 1000 });
    assert.deepEqual(reuseFigures(0, 0), { reuseRatio: 0, requestsPerConnection: 0 });
    assert.deepEqual(reuseFigures(100, 100), { reuseRatio: 0, requestsPerConnection: 1 });
  });

  it('loopbackSourceAddresses', () => {
    assert.deepEqual(loopbackSourceAddresses(3), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    assert.deepEqual(loopbackSourceAddresses(0), []);
    assert.equal(loopbackSourceAddresses(1000).length, 250);
  });
});

function fakeResult(over: Partial<LoadResult> & { saturated?: boolean } = {}): LoadResult {
  const { saturated = false, ...rest } = over;
  return {
    engine: 'open-loop',
    engineVersion: '0',
    loadModel: 'open',
    latencyResolutionUs: 1,
    spec: { url: 'http://127.0.0.1:1/', method: 'GET', connections: 10, durationMs: 1000, processes: 1 },
    startedAtMs: 0,
    durationMs: 1000,
    requests: 1000,
    bytes: 1_000_000,
    bytesPerSecond: 1_000_000,
    achievedRate: 1000,
    errors: {},
    statusCounts: { '200': 1000 },
    latency: { count: 1000, minUs: 1, meanUs: 1, stdevUs: 0, p50Us: 1, p75Us: 1, p90Us: 1, p99Us: 1, p999Us: 1, p9999Us: 1, maxUs: 1 },
    histogram: '',
    seriesIntervalMs: 1000,
    series: [],
    connectionsEstablished: 10,
    connectRampMs: 5,
    generator: { processes: 1, cpuPercent: 95, maxProcessCpuPercent: 95, saturated, ...(saturated ? { saturatedReason: 'cpu' } : {}) },
    ...rest,
  };
}

describe('load checks', () => {
  it('checkLoad reports saturation, errors over the allowance and missing connections', () => {
    assert.deepEqual(checkLoad('x', fakeResult(), { maxErrorRate: 0, connections: 10 }), []);
    assert.equal(checkLoad('x', fakeResult({ saturated: true }), {}).length, 1);
    assert.equal(checkLoad('x', fakeResult({ saturated: true }), { requireUnsaturatedGenerator: false }).length, 0);
    assert.match(itemAt(checkLoad('x', fakeResult({ errors: { timeout: 5 } }), { maxErrorRate: 0.001 }), 0, 'the finding'), /5 errors/);
    assert.equal(checkLoad('x', fakeResult({ errors: { timeout: 5 } }), {}).length, 0);
    assert.match(itemAt(checkLoad('x', fakeResult({ connectionsEstablished: 9 }), { connections: 100 }), 0, 'the finding'), /established 9 of 100/);
  });

  it('a saturated generator invalidates throughput unless it went faster direct', () => {
    assert.equal(generatorBoundReason(fakeResult(), undefined), undefined);
    assert.match(generatorBoundReason(fakeResult({ saturated: true }), undefined)!, /saturated/);
    assert.match(generatorBoundReason(fakeResult({ saturated: true }), fakeResult({ bytesPerSecond: 1_050_000 }))!, /saturated/);
    assert.equal(generatorBoundReason(fakeResult({ saturated: true }), fakeResult({ bytesPerSecond: 2_000_000 })), undefined);
  });
});

describe('marginalRssPerConnectionKb', () => {
  const KB = 1024;
  const cases: { levels: { connections: number; rssBytes: number }[]; kb: number | undefined }[] = [
    { levels: [], kb: undefined },
    { levels: [{ connections: 100, rssBytes: 1000 * KB }], kb: undefined },
    {
      levels: [
        { connections: 100, rssBytes: 1000 * KB },
        { connections: 100, rssBytes: 2000 * KB },
      ],
      kb: undefined,
    },
    // 900 more connections cost 18 MB: 20 KB each; the middle level is ignored.
    {
      levels: [
        { connections: 1000, rssBytes: 30_000 * KB },
        { connections: 100, rssBytes: 12_000 * KB },
        { connections: 500, rssBytes: 99_000 * KB },
      ],
      kb: 20,
    },
  ];
  for (const [i, c] of cases.entries()) it(`case ${i} -> ${c.kb}`, () => assert.equal(marginalRssPerConnectionKb(c.levels), c.kb));
});
