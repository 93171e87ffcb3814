/**
 * stability: the guide's long-run recipe, `wrk -t8 -c1000 -d5m --latency`:
 * a closed loop at 1,000 connections for 5 minutes (20 s quick), with wrk
 * when it is installed and lbbench's raw-socket closed loop otherwise (set
 * `rate` for the older open-loop variant). Reports the error rate, p99 per
 * interval (drift; wrk has no per-interval output, so none with wrk), the
 * balancer's RSS slope after warm-up and worker restarts
 * (`lb_worker_restarts_total` delta). Errors are what this scenario judges,
 * so they do not make it INVALID; connections that were never established do.
 */
import { z } from 'zod';
import { MetricName } from '../../common/metric-names.js';
import type { EngineName } from '../engines/engine.js';
import { counterDelta } from '../sampling/sampler.js';
import type { ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { BYTES_PER_MB, errorCount, errorRate, formatUsAsMs, p99DriftRatio, round, rssSlopeMbPerMin, usToMs } from './analysis.js';
import {
  checkLoad,
  checkPeakConnections,
  connectionsSetting,
  durationSetting,
  lbUrl,
  loadWithPeakConnections,
  pathSetting,
  type PhasedRssSample,
  rateSetting,
  RssRecorder,
  type ScenarioKind,
  warmupSetting,
  wrkOrClosedLoop,
  wrkOrClosedLoopSetting,
} from './shared.js';

export const stabilitySettings = z.strictObject({
  /** Connections held for the whole run. Default 1000. */
  connections: connectionsSetting.default(1000),
  /** `auto`: wrk when installed, else `closed-loop` (the guide's closed-loop recipe). Default `auto`. */
  engine: wrkOrClosedLoopSetting.default('auto'),
  /** wrk threads (the guide's `-t8`). Default 8. */
  wrkThreads: z.number().int().min(1).max(64).default(8),
  /** Open loop at this rate instead of the closed loop, requests/s; null = closed loop. Default null. */
  rate: rateSetting.nullable().default(null),
  /** Measured window, ms. Default 300000 (5 min). */
  durationMs: durationSetting.default(300_000),
  /** Unrecorded load before the window, ms. Default 2000. */
  warmupMs: warmupSetting.default(2000),
  /** Interval of the p99 drift table, ms. Default 10000. */
  intervalMs: z.number().int().min(100).default(10_000),
  /** Start of the window left out of the RSS slope, ms. Default 60000. */
  slopeWarmupMs: z.number().int().min(0).default(60_000),
  /** RSS sampling period, ms. Default 1000. */
  rssSampleIntervalMs: z.number().int().min(50).default(1000),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
});

/** The parsed settings (defaults filled). */
export type StabilitySettings = z.output<typeof stabilitySettings>;

async function runStability(ctx: ScenarioContext, s: StabilitySettings): Promise<ScenarioOutcome> {
  const rec = new RssRecorder(ctx, s.rssSampleIntervalMs);
  let samples: PhasedRssSample[];
  const before = await ctx.scrape();
  let run: Awaited<ReturnType<typeof loadWithPeakConnections>>;
  const engine: EngineName = s.rate !== null ? 'open-loop' : await wrkOrClosedLoop(ctx, s.engine);
  const how = s.rate !== null ? `open loop at ${s.rate} req/s` : engine === 'wrk' ? `closed loop, wrk -t${s.wrkThreads}` : 'closed loop (closed-loop engine)';
  ctx.log(`${s.connections} connections for ${Math.round(s.durationMs / 1000)}s, ${how}`);
  try {
    rec.phase = 'load';
    run = await loadWithPeakConnections(
      ctx,
      'lb steady',
      engine,
      {
        url: lbUrl(ctx, s.path),
        connections: s.connections,
        ...(s.rate !== null ? { rate: s.rate } : {}),
        ...(engine === 'wrk' ? { threads: s.wrkThreads } : {}),
        durationMs: s.durationMs,
        warmupMs: s.warmupMs,
        seriesIntervalMs: s.intervalMs,
      },
      1000,
    );
  } finally {
    samples = rec.stop();
  }
  const after = await ctx.scrape();
  const r = run.result;
  const invalidReasons = checkLoad('lb', r, { connections: s.connections, requireUnsaturatedGenerator: false });
  const peakReason = checkPeakConnections('lb', s.connections, run.peakConnections);
  if (peakReason) invalidReasons.push(peakReason);

  const rate = errorRate(r);
  const restarts = counterDelta(before, after, MetricName.workerRestarts);
  const slope = rssSlopeMbPerMin(samples, r.startedAtMs + s.slopeWarmupMs);
  const drift = p99DriftRatio(r.series);
  const metrics: Record<string, number> = {
    error_rate: rate,
    errors_total: errorCount(r),
    requests_total: r.requests,
    p99_ms: usToMs(r.latency.p99Us),
    worker_restarts: restarts,
    active_connections_peak: run.peakConnections,
  };
  if (slope !== undefined) metrics['rss_slope_mb_per_min'] = round(slope, 2);
  if (drift !== undefined) metrics['p99_drift_ratio'] = round(drift);
  ctx.log(
    `${r.requests} requests (${Math.round(r.achievedRate)} req/s), ${errorCount(r)} errors (rate ${(rate * 100).toFixed(3)}%), p99 ${formatUsAsMs(r.latency.p99Us)} ms over ${Math.round(r.durationMs / 1000)}s`,
  );
  ctx.log(
    `p99 drift (last third / first third): ${drift === undefined ? '-' : drift.toFixed(2)}; RSS slope: ${slope === undefined ? '-' : `${slope.toFixed(2)} MB/min`}; worker restarts: ${restarts}`,
  );

  // RSS at the end of each interval (the last sample taken before it ended).
  const rssAt = (endMs: number): string => {
    let last: number | undefined;
    for (const x of samples) if (x.atMs <= endMs) last = x.rssBytes;
    return last === undefined ? '-' : (last / BYTES_PER_MB).toFixed(1);
  };
  return {
    metrics: { ...metrics, requests_per_second: Math.round(r.achievedRate) },
    tables: [
      {
        title: `Stability: ${s.connections} connections, ${how}, per ${s.intervalMs / 1000}s interval`,
        columns: ['T(s)', 'REQS', 'ERRORS', 'P99(ms)', 'RSS(MB)'],
        rows: r.series.map((b) => [
          (b.tMs / 1000).toFixed(0),
          b.requests,
          b.errors,
          b.requests ? formatUsAsMs(b.p99Us) : '-',
          rssAt(r.startedAtMs + b.tMs + r.seriesIntervalMs),
        ]),
      },
    ],
    invalidReasons,
    details: { errorsByKind: r.errors, rssSamples: samples.map((x) => ({ atMs: x.atMs, rssBytes: x.rssBytes })) },
  };
}

export const stabilityKind: ScenarioKind<StabilitySettings> = {
  settingsSchema: stabilitySettings,
  run: runStability,
  metrics: [
    'error_rate',
    'errors_total',
    'requests_total',
    'p99_ms',
    'worker_restarts',
    'active_connections_peak',
    'rss_slope_mb_per_min',
    'p99_drift_ratio',
    'requests_per_second',
  ],
};
