/**
 * connections: the most concurrent client connections the balancer holds
 * AND serves. Each level is held in turn (ascending) with a light open-loop
 * request rate spread over its connections; a level counts as served only
 * when its connections were established at the start of the measured window
 * and their requests were answered with p99 under `maxP99Ms` and errors
 * within `maxErrorRate` (served.ts). The headline metric,
 * `connections_served`, is the established count of the highest served
 * level; `active_connections_peak` (the balancer's own gauge) is reported
 * beside it, never judged alone: a gauge of 50,000 with a p99 of seconds is
 * not 50,000 clients served.
 *
 * Each generator process is capped at 20,000 open files and each (source,
 * destination) address pair at ~28,000 ephemeral ports here, so the load
 * uses several generator processes and source addresses over 127.0.0.0/8;
 * the balancer's workers are capped too, so the full profile restarts it
 * with more workers. The levels stop at the first one not served.
 */
import { z } from 'zod';
import type { LbConfig } from '../../common/config.js';
import type { LoadResult } from '../engines/engine.js';
import type { ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import type { DeepPartial } from '../../common/objects.js';
import { BYTES_PER_MB, formatUsAsMs, loopbackSourceAddresses, round, usToMs } from './analysis.js';
import {
  balancerRssBytes,
  checkLoad,
  connectionsSetting,
  durationSetting,
  fractionSetting,
  lbUrl,
  loadWithPeakConnections,
  maxErrorRateSetting,
  pathSetting,
  rateSetting,
  RssRecorder,
  type ScenarioKind,
} from './shared.js';
import { highestServed, judgeServedLevel, type ServedLevel } from './served.js';
import { itemAt } from '../../common/checked.js';

export const connectionsSettings = z.strictObject({
  /** Connections to hold when `levels` is not given. Default 10000. */
  connections: connectionsSetting.default(10_000),
  /** Levels held in turn, ascending; stops at the first not served. Default `[connections]`. */
  levels: z.array(connectionsSetting).min(1).optional(),
  /** A held level counts as served only with p99 at most this, ms. Default 1000. */
  maxP99Ms: z.number().positive().default(1000),
  /** ... and failed / attempted requests at most this, 0..1. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
  /** Established connections may fall short of a level by this fraction. Default 0. */
  connectionsTolerance: fractionSetting.default(0),
  /** Open-loop rate spread over all connections, requests/s. Default 1000. */
  rate: rateSetting.default(1000),
  /** Time each level is held and measured, ms. Default 30000. */
  durationMs: durationSetting.default(30_000),
  /** Generator processes (each ≤ 20,000 open files). Default 2. */
  processes: z.number().int().min(1).max(64).default(2),
  /** Source addresses 127.0.0.2.. spread over the processes. Default 2. */
  sourceAddresses: z.number().int().min(1).max(250).default(2),
  /** Balancer workers for this scenario; null keeps the configured count. Default null. */
  lbWorkers: z.number().int().min(1).max(64).nullable().default(null),
  /** The balancer's idle client timeout for this scenario, ms, so that
   * connections that see a request only every few seconds stay open; null
   * keeps the configured one. Default 120000. */
  clientIdleMs: z.number().int().min(1).nullable().default(120_000),
  /** A request slower than this counts as a timeout, ms. Default 10000. */
  timeoutMs: z.number().int().min(100).default(10_000),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
  /** Sampling period of `lb_active_connections` and RSS, ms. Default 500. */
  sampleIntervalMs: z.number().int().min(50).default(500),
});

/** The parsed settings (defaults filled). */
export type ConnectionsSettings = z.output<typeof connectionsSettings>;

/** One held level: its load, the balancer's gauge and the served verdict. */
interface HeldLevel extends ServedLevel {
  peak: number;
  rampMs: number;
  p99Us: number;
  heldRssBytes: number;
}

async function runConnections(ctx: ScenarioContext, s: ConnectionsSettings): Promise<ScenarioOutcome> {
  const levels = [...new Set(s.levels ?? [s.connections])].sort((a, b) => a - b);
  const overrides: DeepPartial<LbConfig> = {
    ...(s.lbWorkers !== null ? { workers: s.lbWorkers } : {}),
    ...(s.clientIdleMs !== null ? { timeouts: { clientIdleMs: s.clientIdleMs } } : {}),
  };
  const restart = Object.keys(overrides).length > 0;
  const sources = loopbackSourceAddresses(s.sourceAddresses);
  const bounds = { maxP99Ms: s.maxP99Ms, maxErrorRate: s.maxErrorRate, connectionsTolerance: s.connectionsTolerance };
  const invalidReasons: string[] = [];
  const held: HeldLevel[] = [];
  const errorsByLevel: Record<string, Record<string, number>> = {};
  let idleRss = 0;
  try {
    if (restart) await ctx.services.restartBalancer(overrides);
    idleRss = balancerRssBytes(ctx);
    ctx.log(
      `Holding ${levels.join(', ')} connections in turn from ${s.processes} generator processes over ${sources.length} source addresses, ${s.rate} req/s spread over them` +
        (s.lbWorkers !== null ? `; balancer with ${s.lbWorkers} workers` : '') +
        `; served = established at window start, p99 <= ${s.maxP99Ms} ms, errors <= ${(s.maxErrorRate * 100).toFixed(2)}%`,
    );
    for (const level of levels) {
      const rec = new RssRecorder(ctx, s.sampleIntervalMs);
      rec.phase = 'held';
      let run: { result: LoadResult; peakConnections: number };
      try {
        run = await loadWithPeakConnections(
          ctx,
          `lb ${level} connections`,
          'open-loop',
          {
            url: lbUrl(ctx, s.path),
            connections: level,
            rate: s.rate,
            durationMs: s.durationMs,
            processes: Math.min(s.processes, level),
            sourceAddresses: sources,
            timeoutMs: s.timeoutMs,
          },
          s.sampleIntervalMs,
        );
      } finally {
        rec.stop();
      }
      const r = run.result;
      // Errors and missing connections are the finding (FAIL), not a reason
      // to distrust the figures.
      invalidReasons.push(...checkLoad(`lb ${level}`, r, { requireUnsaturatedGenerator: false }));
      const verdict = judgeServedLevel(level, r, bounds);
      const h: HeldLevel = {
        ...verdict,
        peak: run.peakConnections,
        rampMs: r.connectRampMs,
        p99Us: r.latency.p99Us,
        heldRssBytes: Math.max(0, ...rec.of('held').map((x) => x.rssBytes)),
      };
      held.push(h);
      errorsByLevel[String(level)] = r.errors;
      ctx.log(levelLine(h));
      if (!h.served) break;
    }
  } finally {
    if (restart) await ctx.services.restartBalancer({});
  }

  const best = highestServed(held);
  const top = itemAt(held, held.length - 1, 'held[held.length - 1]');
  const failed = held.find((h) => !h.served);
  ctx.log(
    best
      ? `Highest level served: ${best.level} (${best.established} connections established and served)` +
          (failed ? `; ${failed.level} was reached (peak lb_active_connections ${failed.peak}) but not served: ${failed.reasons.join('; ')}` : '')
      : `No level was served: ${top.level} ${top.reasons.join('; ')} (peak lb_active_connections ${top.peak})`,
  );
  if (top.peak < top.level) {
    ctx.log(`Limits here: 20,000 open files per process (generator and each balancer worker), ~28,000 ports per source/destination pair.`);
  }

  const finding = failed
    ? `${failed.level} connections reached (peak lb_active_connections ${failed.peak}) but not served: ${failed.reasons.join('; ')}; highest level served: ${best ? best.level : 'none'}`
    : undefined;
  const peak = Math.max(...held.map((h) => h.peak));
  const rssPerConnKb = top.peak > 0 ? (top.heldRssBytes - idleRss) / top.peak / 1024 : undefined;
  const metrics: Record<string, number> = {
    connections_served: best?.established ?? 0,
    highest_level_served: best?.level ?? 0,
    active_connections_peak: peak,
    connections_established: top.established,
    connect_ramp_ms: Math.round(top.rampMs),
    p99_ms: usToMs(top.p99Us),
    errors_total: top.errors,
    error_rate: round(top.errorRate, 6),
    rss_idle_mb: round(idleRss / BYTES_PER_MB, 1),
    rss_held_mb: round(top.heldRssBytes / BYTES_PER_MB, 1),
  };
  if (rssPerConnKb !== undefined) metrics['rss_per_connection_kb'] = round(rssPerConnKb, 2);
  for (const h of held) {
    metrics[`served_c${h.level}`] = h.served ? 1 : 0;
    metrics[`established_c${h.level}`] = h.established;
    metrics[`p99_ms_c${h.level}`] = usToMs(h.p99Us);
  }
  return {
    metrics,
    tables: [
      {
        title: `Concurrent connections held and served (p99 <= ${s.maxP99Ms} ms, errors <= ${(s.maxErrorRate * 100).toFixed(2)}%, ${s.rate} req/s spread over them)`,
        columns: ['LEVEL', 'ESTABLISHED', 'PEAK_LB_ACTIVE', 'RAMP(s)', 'P99(ms)', 'ERRORS', 'RSS_HELD(MB)', 'SERVED'],
        rows: held.map((h) => [
          h.level,
          h.established,
          h.peak,
          (h.rampMs / 1000).toFixed(1),
          formatUsAsMs(h.p99Us),
          h.errors,
          (h.heldRssBytes / BYTES_PER_MB).toFixed(1),
          h.served ? 'yes' : `NO: ${h.reasons.join('; ')}`,
        ]),
      },
    ],
    invalidReasons,
    ...(finding ? { findings: { connections_served: finding } } : {}),
    details: {
      sourceAddresses: sources,
      processes: s.processes,
      lbWorkers: s.lbWorkers,
      bounds,
      highestLevelServed: best?.level ?? null,
      levels: held.map(({ level, established, served, reasons, peak: p, rampMs, p99Us, errors, errorRate }) => ({
        level,
        established,
        served,
        reasons,
        peak: p,
        rampMs,
        p99Us,
        errors,
        errorRate,
      })),
      errorsByLevel,
    },
  };
}

/** The guide-style line of one level. */
function levelLine(h: HeldLevel): string {
  return (
    `Level ${h.level}: established ${h.established} at window start (ramp ${(h.rampMs / 1000).toFixed(1)} s), peak lb_active_connections ${h.peak}; ` +
    `p99 ${formatUsAsMs(h.p99Us)} ms, ${h.errors} errors: ${h.served ? 'SERVED' : `NOT SERVED (${h.reasons.join('; ')})`}`
  );
}

export const connectionsKind: ScenarioKind<ConnectionsSettings> = {
  settingsSchema: connectionsSettings,
  run: runConnections,
  metrics: [
    'connections_served',
    'highest_level_served',
    'active_connections_peak',
    'connections_established',
    'connect_ramp_ms',
    'p99_ms',
    'errors_total',
    'error_rate',
    'rss_idle_mb',
    'rss_held_mb',
    'rss_per_connection_kb',
    'served_c{n}',
    'established_c{n}',
    'p99_ms_c{n}',
  ],
};
