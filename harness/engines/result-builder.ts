/**
 * Helpers that assemble a normalized LoadResult (engine.ts) from what an
 * engine measured: counters, one µs histogram, a series. Every engine uses
 * `buildLoadResult`, so derived fields (rates, latency summary, encoded
 * histogram, the `spec` echo) are computed one way for all of them.
 */
import type { EngineName, LoadResult, LoadSpec, MeasurementRecord, SeriesBucket } from './engine.js';
import { encodeHistogram, summarizeHistogram, type LatencyHistogram } from '../result/histogram.js';

/** What an engine measured (the histogram decoded; not modified) and how;
 * `buildLoadResult` derives the rest. */
export interface LoadMeasurements extends MeasurementRecord<LatencyHistogram> {
  engine: EngineName;
  engineVersion: string;
  loadModel: 'open' | 'closed';
  /** Smallest latency step the engine resolves, µs. */
  latencyResolutionUs: number;
  spec: LoadSpec;
  /** Generator processes used. */
  processes: number;
  seriesIntervalMs: number;
  series: SeriesBucket[];
  schedule?: LoadResult['schedule'];
  generator: LoadResult['generator'];
}

/** The normalized LoadResult for `m`. Zero counts stay zero (no NaN). */
export function buildLoadResult(m: LoadMeasurements): LoadResult {
  const seconds = m.durationMs / 1000;
  const spec: LoadResult['spec'] = {
    url: m.spec.url,
    method: (m.spec.method ?? 'GET').toUpperCase(),
    connections: m.spec.connections,
    durationMs: m.spec.durationMs,
    processes: m.processes,
  };
  if (m.spec.rate !== undefined) spec.rate = m.spec.rate;
  const result: LoadResult = {
    engine: m.engine,
    engineVersion: m.engineVersion,
    loadModel: m.loadModel,
    latencyResolutionUs: m.latencyResolutionUs,
    spec,
    startedAtMs: m.startedAtMs,
    durationMs: m.durationMs,
    requests: m.requests,
    bytes: m.bytes,
    bytesPerSecond: seconds > 0 ? m.bytes / seconds : 0,
    achievedRate: seconds > 0 ? m.requests / seconds : 0,
    errors: dropZeroCounts(m.errors),
    statusCounts: dropZeroCounts(m.statusCounts),
    latency: summarizeHistogram(m.histogram),
    histogram: encodeHistogram(m.histogram),
    seriesIntervalMs: m.seriesIntervalMs,
    series: m.series,
    connectionsEstablished: m.connectionsEstablished,
    connectRampMs: m.connectRampMs,
    generator: m.generator,
  };
  if (m.schedule) result.schedule = m.schedule;
  return result;
}

/** Adds the counts of `from` into `into` (by key) and returns `into`. */
export function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** Sum of all counts. */
export function totalCount(counts: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}

/** Number of buckets of a window: ceil(durationMs / intervalMs), at least 1. */
export function bucketCount(durationMs: number, intervalMs: number): number {
  return Math.max(1, Math.ceil(durationMs / intervalMs));
}

/** A series of `count` empty buckets, `intervalMs` apart. */
export function emptySeries(count: number, intervalMs: number): SeriesBucket[] {
  return Array.from({ length: count }, (_, i) => ({ tMs: i * intervalMs, requests: 0, errors: 0, bytes: 0, p99Us: 0 }));
}

function dropZeroCounts(counts: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) if (v !== 0) out[k] = v;
  return out;
}
