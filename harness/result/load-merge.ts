/**
 * Merging `lbbench load --json` results from several generator hosts into
 * one LoadResult: counters, error and status maps, CPU and connections are
 * summed; the latency histograms are merged exactly (HDR, same shape), so
 * every percentile is the one a single histogram of all the requests would
 * give; the per-second series is re-aligned on wall-clock time and summed.
 * Pure.
 */
import { UsageError } from '../../common/errors.js';
import type { LoadResult, SeriesBucket } from '../engines/engine.js';
import { encodeHistogram, mergeEncodedHistograms, summarizeHistogram } from './histogram.js';
import { itemAt } from '../../common/checked.js';

/** What a merged result adds to a LoadResult. */
export interface MergedLoadResult extends LoadResult {
  merged: {
    /** How many results went in. */
    parts: number;
    /** Latest measured-window start minus the earliest, ms: how far apart
     * the hosts really started (`--start-at` keeps it small). */
    startSkewMs: number;
    /** The distinct target URLs. */
    urls: string[];
  };
}

function sumMaps(maps: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * Series buckets of every part on one grid starting at the earliest
 * window start: requests, errors and bytes summed; `p99Us` is the highest
 * of the parts' (bucket histograms are not kept, so a bucket's p99 cannot
 * be merged exactly; the whole-run percentiles are).
 */
function mergeSeries(parts: readonly LoadResult[], startMs: number, intervalMs: number): SeriesBucket[] {
  const byIndex = new Map<number, SeriesBucket>();
  for (const p of parts) {
    for (const b of p.series) {
      const index = Math.round((p.startedAtMs + b.tMs - startMs) / intervalMs);
      const cur = byIndex.get(index) ?? { tMs: index * intervalMs, requests: 0, errors: 0, bytes: 0, p99Us: 0 };
      cur.requests += b.requests;
      cur.errors += b.errors;
      cur.bytes += b.bytes;
      cur.p99Us = Math.max(cur.p99Us, b.p99Us);
      byIndex.set(index, cur);
    }
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
}

/**
 * Merges load results of one test run from several hosts. Throws
 * UsageError (exit 2) for fewer than one part, mixed load models or series
 * intervals (their numbers do not add up).
 */
export function mergeLoadResults(parts: readonly LoadResult[]): MergedLoadResult {
  if (parts.length === 0) throw new UsageError('merge: give at least one load result');
  const first = itemAt(parts, 0, 'parts[0]');
  const models = new Set(parts.map((p) => p.loadModel));
  if (models.size > 1)
    throw new UsageError(`merge: the results mix load models (${[...models].join(', ')}); merge open-loop with open-loop, closed with closed`);
  const intervals = new Set(parts.map((p) => p.seriesIntervalMs));
  if (intervals.size > 1) throw new UsageError(`merge: the results have different series intervals (${[...intervals].join(', ')} ms)`);
  const histogram = mergeEncodedHistograms(parts.map((p) => p.histogram));
  const startMs = Math.min(...parts.map((p) => p.startedAtMs));
  const endMs = Math.max(...parts.map((p) => p.startedAtMs + p.durationMs));
  const rates = parts.map((p) => p.spec.rate);
  const sum = (f: (p: LoadResult) => number): number => parts.reduce((s, p) => s + f(p), 0);
  const saturated = parts.filter((p) => p.generator.saturated);
  const schedules = parts.map((p) => p.schedule).filter((s) => s !== undefined);
  const loopDelays = parts.map((p) => p.generator.eventLoopDelayP99Ms).filter((d) => d !== undefined);
  const urls = [...new Set(parts.map((p) => p.spec.url))];
  return {
    engine: first.engine,
    engineVersion:
      [...new Set(parts.map((p) => `${p.engine} ${p.engineVersion}`))].length === 1 ? first.engineVersion : parts.map((p) => p.engineVersion).join(', '),
    loadModel: first.loadModel,
    latencyResolutionUs: Math.max(...parts.map((p) => p.latencyResolutionUs)),
    spec: {
      url: first.spec.url,
      method: first.spec.method,
      connections: sum((p) => p.spec.connections),
      durationMs: Math.max(...parts.map((p) => p.spec.durationMs)),
      ...(rates.every((r) => r !== undefined) ? { rate: rates.reduce((s, r) => s + r, 0) } : {}),
      processes: sum((p) => p.spec.processes),
    },
    startedAtMs: startMs,
    // The window all parts together covered.
    durationMs: endMs - startMs,
    requests: sum((p) => p.requests),
    bytes: sum((p) => p.bytes),
    // Each host's rate over its own window, summed: the aggregate offered load.
    bytesPerSecond: sum((p) => p.bytesPerSecond),
    achievedRate: sum((p) => p.achievedRate),
    errors: sumMaps(parts.map((p) => p.errors)),
    statusCounts: sumMaps(parts.map((p) => p.statusCounts)),
    latency: summarizeHistogram(histogram),
    histogram: encodeHistogram(histogram),
    seriesIntervalMs: first.seriesIntervalMs,
    series: mergeSeries(parts, startMs, first.seriesIntervalMs),
    connectionsEstablished: sum((p) => p.connectionsEstablished),
    connectRampMs: Math.max(...parts.map((p) => p.connectRampMs)),
    ...(schedules.length > 0
      ? {
          schedule: {
            late: schedules.reduce((s, x) => s + x.late, 0),
            dropped: schedules.reduce((s, x) => s + x.dropped, 0),
            latenessP99Us: Math.max(...schedules.map((x) => x.latenessP99Us)),
          },
        }
      : {}),
    generator: {
      processes: sum((p) => p.generator.processes),
      cpuPercent: sum((p) => p.generator.cpuPercent),
      maxProcessCpuPercent: Math.max(...parts.map((p) => p.generator.maxProcessCpuPercent)),
      ...(loopDelays.length > 0 ? { eventLoopDelayP99Ms: Math.max(...loopDelays) } : {}),
      saturated: saturated.length > 0,
      ...(saturated.length > 0 ? { saturatedReason: saturated.map((p, i) => `part ${i + 1}: ${p.generator.saturatedReason ?? 'saturated'}`).join('; ') } : {}),
    },
    merged: { parts: parts.length, startSkewMs: Math.round(Math.max(...parts.map((p) => p.startedAtMs)) - startMs), urls },
  };
}
