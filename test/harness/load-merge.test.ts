import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadResult } from '../../harness/engines/engine.js';
import { createLatencyHistogram, decodeHistogram, encodeHistogram, recordUs, summarizeHistogram } from '../../harness/result/histogram.js';
import { mergeLoadResults } from '../../harness/result/load-merge.js';

/** Seeded LCG, so the samples are the same every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function part(values: number[], startedAtMs: number, over: Partial<LoadResult> = {}): LoadResult {
  const h = createLatencyHistogram();
  for (const v of values) recordUs(h, v);
  return {
    engine: 'open-loop',
    engineVersion: '0.1.0',
    loadModel: 'open',
    latencyResolutionUs: 1,
    spec: { url: 'http://127.0.0.1:1/echo', method: 'GET', connections: 10, durationMs: 2000, rate: 100, processes: 1 },
    startedAtMs,
    durationMs: 2000,
    requests: values.length,
    bytes: values.length * 10,
    bytesPerSecond: values.length * 5,
    achievedRate: values.length / 2,
    errors: { timeout: 1 },
    statusCounts: { '200': values.length - 1, '503': 1 },
    latency: summarizeHistogram(h),
    histogram: encodeHistogram(h),
    seriesIntervalMs: 1000,
    series: [
      { tMs: 0, requests: values.length / 2, errors: 1, bytes: values.length * 5, p99Us: 900 },
      { tMs: 1000, requests: values.length / 2, errors: 0, bytes: values.length * 5, p99Us: 1100 },
    ],
    connectionsEstablished: 10,
    connectRampMs: 5,
    schedule: { late: 2, dropped: 1, latenessP99Us: 50 },
    generator: { processes: 1, cpuPercent: 20, maxProcessCpuPercent: 20, saturated: false },
    ...over,
  };
}

test('merge: counters are the sum of the parts, percentiles those of one histogram of all the requests', () => {
  const rand = lcg(42);
  const a = Array.from({ length: 2000 }, () => 200 + rand() * 800);
  const b = Array.from({ length: 3000 }, () => 300 + rand() ** 4 * 50_000);
  const merged = mergeLoadResults([
    part(a, 1_000_000),
    part(b, 1_000_000 + 1000, { spec: { url: 'http://127.0.0.1:1/echo', method: 'GET', connections: 5, durationMs: 2000, rate: 150, processes: 2 } }),
  ]);
  const all = createLatencyHistogram();
  for (const v of [...a, ...b]) recordUs(all, v);
  const single = summarizeHistogram(all);
  // Every percentile equals that of one histogram of all the requests; the
  // max comes back as its HDR bucket's top (the encoding keeps buckets).
  const { maxUs, ...percentiles } = merged.latency;
  const { maxUs: singleMax, ...singlePercentiles } = single;
  assert.deepEqual(percentiles, singlePercentiles);
  // hdr-histogram-js has these at runtime; its typings leave them out.
  const bucket = all as unknown as { lowestEquivalentValue(v: number): number; highestEquivalentValue(v: number): number };
  assert.ok(maxUs >= bucket.lowestEquivalentValue(singleMax) && maxUs <= bucket.highestEquivalentValue(singleMax), `max ${maxUs} vs ${singleMax}: one bucket`);
  assert.equal(decodeHistogram(merged.histogram).totalCount, 5000);
  assert.equal(merged.requests, 5000);
  assert.equal(merged.bytes, 50_000);
  assert.equal(merged.achievedRate, 2500);
  assert.equal(merged.bytesPerSecond, 25_000);
  assert.deepEqual(merged.errors, { timeout: 2 });
  assert.deepEqual(merged.statusCounts, { '200': 4998, '503': 2 });
  assert.deepEqual([merged.spec.connections, merged.spec.rate, merged.spec.processes], [15, 250, 3]);
  assert.equal(merged.connectionsEstablished, 20);
  assert.deepEqual(merged.schedule, { late: 4, dropped: 2, latenessP99Us: 50 });
  assert.deepEqual([merged.generator.cpuPercent, merged.generator.processes, merged.generator.saturated], [40, 2, false]);
  // B started 1 s later: its buckets land one slot later on the common grid.
  assert.deepEqual(
    merged.series.map((s) => [s.tMs, s.requests, s.errors, s.p99Us]),
    [
      [0, 1000, 1, 900],
      [1000, 2500, 1, 1100],
      [2000, 1500, 0, 1100],
    ],
  );
  assert.deepEqual(merged.merged, { parts: 2, startSkewMs: 1000, urls: ['http://127.0.0.1:1/echo'] });
  assert.equal(merged.durationMs, 3000);
});

test('merge: mixed load models or series intervals do not add up', () => {
  assert.throws(() => mergeLoadResults([part([1], 0), part([1], 0, { loadModel: 'closed' })]), /mix load models/);
  assert.throws(() => mergeLoadResults([part([1], 0), part([1], 0, { seriesIntervalMs: 500 })]), /different series intervals/);
  assert.throws(() => mergeLoadResults([]), /at least one/);
  const sat = mergeLoadResults([
    part([1], 0),
    part([1], 0, { generator: { processes: 1, cpuPercent: 99, maxProcessCpuPercent: 99, saturated: true, saturatedReason: 'cpu' } }),
  ]);
  assert.equal(sat.generator.saturated, true);
  assert.equal(sat.generator.saturatedReason, 'part 1: cpu');
});
