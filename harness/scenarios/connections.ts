/**
 * connections: the most concurrent client connections the balancer holds,
 * with a light request rate spread over them. Each generator process is
 * capped at 20,000 open files and each (source, destination) address pair
 * at ~28,000 ephemeral ports here, so the load uses several generator
 * processes and source addresses over 127.0.0.0/8; the balancer's workers
 * are capped too, so the full profile restarts it with more workers. A
 * shortfall against the attempt is reported as a finding; falling short of
 * `requiredConnections` makes the run INVALID.
 */
import { z } from 'zod';
import type { LbConfig } from '../../common/config.js';
import type { DeepPartial, ScenarioContext, ScenarioOutcome } from '../scenario-api.js';
import { BYTES_PER_MB, errorCount, formatMs, loopbackSourceAddresses, round, usToMs } from './analysis.js';
import {
  balancerRssBytes,
  checkLoad,
  checkPeakConnections,
  connectionsSetting,
  durationSetting,
  fractionSetting,
  lbUrl,
  loadWithPeakConnections,
  pathSetting,
  rateSetting,
  RssRecorder,
  type ScenarioKind,
} from './shared.js';

export const connectionsSettings = z.strictObject({
  /** Connections to try to hold. Default 10000. */
  connections: connectionsSetting.default(10_000),
  /** Fewer than this (less `connectionsTolerance`) makes the run INVALID. Default 10000. */
  requiredConnections: connectionsSetting.default(10_000),
  /** Fraction `requiredConnections` may fall short by (sampling). Default 0.02. */
  connectionsTolerance: fractionSetting.default(0.02),
  /** Open-loop rate spread over all connections, requests/s. Default 1000. */
  rate: rateSetting.default(1000),
  /** Time the connections are held and measured, ms. Default 30000. */
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

async function runConnections(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const s = connectionsSettings.parse(ctx.settings);
  const overrides: DeepPartial<LbConfig> = {
    ...(s.lbWorkers !== null ? { workers: s.lbWorkers } : {}),
    ...(s.clientIdleMs !== null ? { timeouts: { clientIdleMs: s.clientIdleMs } } : {}),
  };
  const restart = Object.keys(overrides).length > 0;
  const sources = loopbackSourceAddresses(s.sourceAddresses);
  const invalidReasons: string[] = [];
  let rec: RssRecorder | undefined;
  let run: Awaited<ReturnType<typeof loadWithPeakConnections>>;
  let idleRss: number;
  try {
    if (restart) await ctx.services.restartBalancer(overrides);
    idleRss = balancerRssBytes(ctx);
    ctx.log(
      `Holding ${s.connections} connections from ${s.processes} generator processes over ${sources.length} source addresses, ${s.rate} req/s spread over them` +
        (s.lbWorkers !== null ? `; balancer with ${s.lbWorkers} workers` : ''),
    );
    rec = new RssRecorder(ctx, s.sampleIntervalMs);
    rec.phase = 'held';
    run = await loadWithPeakConnections(
      ctx,
      `lb ${s.connections} connections`,
      'open-loop',
      {
        url: lbUrl(ctx, s.path),
        connections: s.connections,
        rate: s.rate,
        durationMs: s.durationMs,
        processes: s.processes,
        sourceAddresses: sources,
        timeoutMs: s.timeoutMs,
      },
      s.sampleIntervalMs,
    );
  } finally {
    rec?.stop();
    if (restart) await ctx.services.restartBalancer({});
  }
  const r = run.result;
  const peak = run.peakConnections;
  const heldRss = Math.max(0, ...rec.of('held').map((x) => x.rssBytes));
  const rssPerConnKb = peak > 0 ? (heldRss - idleRss) / peak / 1024 : undefined;

  // Errors are part of the finding (e.g. connect errors past a limit), not a
  // reason to distrust the figures; too few connections is.
  invalidReasons.push(...checkLoad('lb', r, { requireUnsaturatedGenerator: false }));
  const required = checkPeakConnections('lb', s.requiredConnections, peak, s.connectionsTolerance);
  if (required) invalidReasons.push(`${required}; the requested connections were not established`);
  ctx.log(`Peak lb_active_connections: ${peak} of ${s.connections} requested (generator established ${r.connectionsEstablished}, ramp ${Math.round(r.connectRampMs)} ms)`);
  if (peak < s.connections) {
    ctx.log(
      `Finding: held ${peak} of ${s.connections} connections; errors ${JSON.stringify(r.errors)}. ` +
        'Limits here: 20,000 open files per process (generator and each balancer worker), ~28,000 ports per source/destination pair.',
    );
  }
  ctx.log(`RSS held: ${(heldRss / BYTES_PER_MB).toFixed(1)} MB (${rssPerConnKb === undefined ? '-' : rssPerConnKb.toFixed(1)} KB per connection); p99 while held: ${formatMs(r.latency.p99Us)} ms`);

  const metrics: Record<string, number> = {
    active_connections_peak: peak,
    connections_established: r.connectionsEstablished,
    connect_ramp_ms: Math.round(r.connectRampMs),
    p99_ms: usToMs(r.latency.p99Us),
    errors_total: errorCount(r),
    rss_idle_mb: round(idleRss / BYTES_PER_MB, 1),
    rss_held_mb: round(heldRss / BYTES_PER_MB, 1),
  };
  if (rssPerConnKb !== undefined) metrics['rss_per_connection_kb'] = round(rssPerConnKb, 2);
  return {
    metrics,
    tables: [
      {
        title: 'Concurrent connections held',
        columns: ['REQUESTED', 'ESTABLISHED', 'PEAK_LB_ACTIVE', 'RAMP(s)', 'P99(ms)', 'ERRORS', 'RSS_HELD(MB)', 'RSS/CONN(KB)'],
        rows: [
          [
            s.connections,
            r.connectionsEstablished,
            peak,
            (r.connectRampMs / 1000).toFixed(1),
            formatMs(r.latency.p99Us),
            errorCount(r),
            (heldRss / BYTES_PER_MB).toFixed(1),
            rssPerConnKb === undefined ? '-' : rssPerConnKb.toFixed(1),
          ],
        ],
      },
    ],
    invalidReasons,
    details: { sourceAddresses: sources, processes: s.processes, lbWorkers: s.lbWorkers, errorsByKind: r.errors },
  };
}

export const connectionsKind: ScenarioKind = {
  settingsSchema: connectionsSettings,
  run: runConnections,
  metrics: ['active_connections_peak', 'connections_established', 'connect_ramp_ms', 'p99_ms', 'errors_total', 'rss_idle_mb', 'rss_held_mb', 'rss_per_connection_kb'],
};
