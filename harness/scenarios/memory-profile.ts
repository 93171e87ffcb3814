/**
 * memory_profile: the balancer's RSS (primary and every worker, summed, from
 * /proc) at idle, at each connection level, at its peak, and after the load;
 * RSS per connection; and the growth slope over a soak after warm-up, where
 * a leak shows as a steady climb.
 */
import { z } from 'zod';
import { MetricName } from '../../common/metric-names.js';
import type { ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { finiteMedian } from '../../common/stats.js';
import { BYTES_PER_MB, peakGauge, round, rssSlopeMbPerMin } from './analysis.js';
import {
  checkLoad,
  checkPeakConnections,
  connectionsSetting,
  durationSetting,
  lbUrl,
  maxErrorRateSetting,
  pathSetting,
  type PhasedRssSample,
  rateSetting,
  RssRecorder,
  type ScenarioKind,
  sleep,
} from './shared.js';
import { itemAt } from '../../common/checked.js';

export const memoryProfileSettings = z.strictObject({
  /** Connection levels, each held in turn. Default 100, 1000, 2000. */
  levels: z.array(connectionsSetting).min(1).default([100, 1000, 2000]),
  /** Open-loop rate at every level and in the soak, requests/s. Default 1000. */
  rate: rateSetting.default(1000),
  /** Measured window at each level, ms. Default 15000. */
  levelDurationMs: durationSetting.default(15_000),
  /** Connections in the soak; null = the highest level. Default null. */
  soakConnections: connectionsSetting.nullable().default(null),
  /** Soak length, ms. Default 120000. */
  soakDurationMs: durationSetting.default(120_000),
  /** Start of the soak left out of the slope (warm-up), ms. Default 30000. */
  slopeWarmupMs: z.number().int().min(0).default(30_000),
  /** The slope is judged (`rss_slope_mb_per_min`) only over at least this
   * much soak after warm-up, ms: V8 grows its heap for the first tens of
   * seconds of load, which a shorter window cannot tell from a leak. A
   * shorter window reports `rss_slope_short_mb_per_min` instead. Default 30000. */
  minSlopeWindowMs: z.number().int().min(0).default(30_000),
  /** Idle time measured before the first level, ms. Default 3000. */
  idleMs: durationSetting.default(3000),
  /** Idle time measured after the load, ms. Default 5000. */
  afterMs: durationSetting.default(5000),
  /** RSS sampling period, ms. Default 500. */
  rssSampleIntervalMs: z.number().int().min(50).default(500),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
  /** Errors above this fraction of requests make the run INVALID. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
});

/** The parsed settings (defaults filled). */
export type MemoryProfileSettings = z.output<typeof memoryProfileSettings>;

/** One row of the memory table. */
interface PhaseRow {
  phase: string;
  connections: number;
  rssBytes: number;
}

async function runMemoryProfile(ctx: ScenarioContext, s: MemoryProfileSettings): Promise<ScenarioOutcome> {
  const url = lbUrl(ctx, s.path);
  const metrics: Record<string, number> = {};
  const invalidReasons: string[] = [];
  const rows: PhaseRow[] = [];
  const rec = new RssRecorder(ctx, s.rssSampleIntervalMs);
  let samples: PhasedRssSample[] = [];
  let soakStartMs = 0;
  try {
    rec.phase = 'idle';
    await sleep(s.idleMs, ctx.signal);
    const idleRss = finiteMedian(rec.of('idle').map((x) => x.rssBytes)) ?? 0;
    rows.push({ phase: 'idle', connections: 0, rssBytes: idleRss });
    metrics['rss_idle_mb'] = mb(idleRss);
    ctx.log(`RSS idle: ${mb(idleRss)} MB`);

    const levels = [...s.levels.map((c) => ({ phase: `c${c}`, connections: c, durationMs: s.levelDurationMs }))];
    levels.push({ phase: 'soak', connections: s.soakConnections ?? Math.max(...s.levels), durationMs: s.soakDurationMs });
    for (const level of levels) {
      rec.phase = level.phase;
      const session = ctx.sample({ intervalMs: 250, gauges: [MetricName.activeConnections] });
      let peak = 0;
      try {
        const result = await ctx.load(`lb ${level.phase}`, 'open-loop', {
          url,
          connections: level.connections,
          rate: s.rate,
          durationMs: level.durationMs,
        });
        if (level.phase === 'soak') soakStartMs = result.startedAtMs;
        invalidReasons.push(
          ...checkLoad(`lb ${level.phase}`, result, { maxErrorRate: s.maxErrorRate, connections: level.connections, requireUnsaturatedGenerator: false }),
        );
      } finally {
        peak = peakGauge(await session.stop(), MetricName.activeConnections);
      }
      const reason = checkPeakConnections(level.phase, level.connections, peak);
      if (reason) invalidReasons.push(reason);
      const rss = Math.max(0, ...rec.of(level.phase).map((x) => x.rssBytes));
      rows.push({ phase: level.phase, connections: peak, rssBytes: rss });
      if (level.phase !== 'soak') {
        metrics[`rss_mb_${level.phase}`] = mb(rss);
        if (peak > 0) metrics[`rss_per_connection_kb_${level.phase}`] = round((rss - idleRss) / peak / 1024, 2);
      }
      ctx.log(`RSS at ${level.phase} (${peak} connections): ${mb(rss)} MB`);
    }

    rec.phase = 'after';
    await sleep(s.afterMs, ctx.signal);
  } finally {
    samples = rec.stop();
  }

  const after = samples.filter((x) => x.phase === 'after');
  const afterRss = after[after.length - 1]?.rssBytes ?? 0;
  const peakRss = Math.max(0, ...samples.map((x) => x.rssBytes));
  rows.push({ phase: 'peak', connections: Math.max(...rows.map((r) => r.connections)), rssBytes: peakRss });
  rows.push({ phase: 'after', connections: 0, rssBytes: afterRss });
  metrics['rss_peak_mb'] = mb(peakRss);
  metrics['rss_after_mb'] = mb(afterRss);
  const perConn = marginalRssPerConnectionKb(rows.filter((r) => r.phase.startsWith('c')));
  if (perConn !== undefined) {
    metrics['rss_per_connection_kb'] = round(perConn, 2);
    ctx.log(`RSS per connection (between the lowest and highest level): ${perConn.toFixed(1)} KB`);
  }

  // Judged as N/A with this reason, not INVALID: a short soak is a choice of settings.
  const unavailable: Record<string, string> = {};
  const slope = rssSlopeMbPerMin(
    samples.filter((x) => x.phase === 'soak'),
    soakStartMs + s.slopeWarmupMs,
  );
  const slopeWindowMs = s.soakDurationMs - s.slopeWarmupMs;
  if (slope !== undefined && slopeWindowMs >= s.minSlopeWindowMs) {
    metrics['rss_slope_mb_per_min'] = round(slope, 2);
    ctx.log(`RSS slope after warm-up: ${slope.toFixed(2)} MB/min`);
  } else if (slope !== undefined) {
    metrics['rss_slope_short_mb_per_min'] = round(slope, 2);
    unavailable['rss_slope_mb_per_min'] = `soak too short for a slope (${(slopeWindowMs / 1000).toFixed(0)} s < ${s.minSlopeWindowMs / 1000} s)`;
    ctx.log(
      `RSS slope after warm-up: ${slope.toFixed(2)} MB/min over only ${(slopeWindowMs / 1000).toFixed(0)} s (< ${s.minSlopeWindowMs / 1000} s): heap growth, not judged as a leak`,
    );
  } else {
    invalidReasons.push('too few RSS samples after the soak warm-up to fit a slope');
  }
  ctx.log(`RSS peak: ${mb(peakRss)} MB, after load: ${mb(afterRss)} MB`);

  const idleRss = rows[0]?.rssBytes ?? 0;
  return {
    metrics,
    unavailable,
    tables: [
      {
        title: 'Balancer RSS (all processes)',
        columns: ['PHASE', 'CONNECTIONS', 'RSS(MB)', 'DELTA_VS_IDLE(MB)', 'RSS/CONN(KB)'],
        rows: rows.map((r) => [
          r.phase,
          r.connections,
          mb(r.rssBytes).toFixed(1),
          mb(r.rssBytes - idleRss).toFixed(1),
          r.connections > 0 && r.phase !== 'after' ? ((r.rssBytes - idleRss) / r.connections / 1024).toFixed(1) : '-',
        ]),
      },
    ],
    invalidReasons,
    details: {
      slopeFromMs: soakStartMs + s.slopeWarmupMs,
      rssSamples: samples.map((x) => ({ atMs: x.atMs, phase: x.phase, rssBytes: x.rssBytes })),
    },
  };
}

/**
 * RSS per connection as the marginal cost between the lowest and the
 * highest level, KB: (RSS_high − RSS_low) / (conns_high − conns_low). Unlike
 * (RSS − idle) / conns, it leaves out what the first load costs once (JIT,
 * heap growth, pools). Undefined with fewer than two distinct levels.
 */
export function marginalRssPerConnectionKb(levels: readonly { connections: number; rssBytes: number }[]): number | undefined {
  if (levels.length < 2) return undefined;
  const sorted = [...levels].sort((a, b) => a.connections - b.connections);
  const lo = itemAt(sorted, 0, 'sorted[0]');
  const hi = itemAt(sorted, sorted.length - 1, 'sorted[sorted.length - 1]');
  if (hi.connections === lo.connections) return undefined;
  return (hi.rssBytes - lo.rssBytes) / (hi.connections - lo.connections) / 1024;
}

function mb(bytes: number): number {
  return round(bytes / BYTES_PER_MB, 1);
}

export const memoryProfileKind: ScenarioKind<MemoryProfileSettings> = {
  settingsSchema: memoryProfileSettings,
  run: runMemoryProfile,
  metrics: [
    'rss_idle_mb',
    'rss_mb_c{n}',
    'rss_per_connection_kb_c{n}',
    'rss_per_connection_kb',
    'rss_peak_mb',
    'rss_after_mb',
    'rss_slope_mb_per_min',
    'rss_slope_short_mb_per_min',
  ],
};
