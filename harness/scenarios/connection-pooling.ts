/**
 * connection_pooling: how well the balancer reuses upstream connections.
 * Reuse ratio = 1 − connects / requests, from the deltas of
 * `lb_upstream_connects_total` and `lb_requests_total`; requests per upstream
 * connection; and p50/p99 with upstream keep-alive on and off, in the same
 * run (`restartBalancer({ pool: { keepAlive } })`), restoring the configured
 * balancer at the end.
 */
import { z } from 'zod';
import { MetricName } from '../../common/metric-names.js';
import { counterDelta } from '../sampling/sampler.js';
import type { ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { formatUsAsMs, round, usToMs } from './analysis.js';
import {
  checkLoad,
  connectionsSetting,
  durationSetting,
  lbUrl,
  maxErrorRateSetting,
  pathSetting,
  rateSetting,
  type ScenarioKind,
  warmupSetting,
} from './shared.js';

export const connectionPoolingSettings = z.strictObject({
  /** Client connections. Default 100. */
  connections: connectionsSetting.default(100),
  /** Open-loop rate, requests/s. Default 2000. */
  rate: rateSetting.default(2000),
  /** Measured window of each mode, ms. Default 20000. */
  durationMs: durationSetting.default(20_000),
  /** Unrecorded load before each window, ms. Default 1000. */
  warmupMs: warmupSetting.default(1000),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
  /** Also measure with upstream keep-alive off. Default true. */
  compareNoKeepAlive: z.boolean().default(true),
  /** Errors above this fraction of requests make the run INVALID. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
});

/** The parsed settings (defaults filled). */
export type ConnectionPoolingSettings = z.output<typeof connectionPoolingSettings>;

/** The pool's figures in one mode. */
export interface PoolingMeasurement {
  keepAlive: boolean;
  requests: number;
  connects: number;
  /** 1 − connects / requests; 0 when there were no requests. */
  reuseRatio: number;
  /** requests / connects; equals `requests` (a lower bound) when nothing connected. */
  requestsPerConnection: number;
  p50Us: number;
  p99Us: number;
}

/** Reuse figures from counter deltas; pure. */
export function reuseFigures(requests: number, connects: number): { reuseRatio: number; requestsPerConnection: number } {
  return {
    reuseRatio: requests > 0 ? Math.max(0, 1 - connects / requests) : 0,
    requestsPerConnection: connects > 0 ? requests / connects : requests,
  };
}

async function measure(
  ctx: ScenarioContext,
  s: z.output<typeof connectionPoolingSettings>,
  keepAlive: boolean,
  reasons: string[],
): Promise<PoolingMeasurement> {
  const label = keepAlive ? 'lb keep-alive' : 'lb no keep-alive';
  const before = await ctx.scrape();
  const result = await ctx.load(label, 'open-loop', {
    url: lbUrl(ctx, s.path),
    connections: s.connections,
    rate: s.rate,
    durationMs: s.durationMs,
    warmupMs: s.warmupMs,
  });
  const after = await ctx.scrape();
  reasons.push(...checkLoad(label, result, { maxErrorRate: s.maxErrorRate, connections: s.connections, requireUnsaturatedGenerator: false }));
  // Both counters include the warm-up, so their ratio stays consistent.
  const requests = counterDelta(before, after, MetricName.requests);
  const connects = counterDelta(before, after, MetricName.upstreamConnects);
  return { keepAlive, requests, connects, ...reuseFigures(requests, connects), p50Us: result.latency.p50Us, p99Us: result.latency.p99Us };
}

async function runConnectionPooling(ctx: ScenarioContext, s: ConnectionPoolingSettings): Promise<ScenarioOutcome> {
  const invalidReasons: string[] = [];
  const modes: PoolingMeasurement[] = [];
  let restarted = false;
  try {
    if (!ctx.config.lb.pool.keepAlive) {
      await ctx.services.restartBalancer({ pool: { keepAlive: true } });
      restarted = true;
    }
    modes.push(await measure(ctx, s, true, invalidReasons));
    if (s.compareNoKeepAlive) {
      await ctx.services.restartBalancer({ pool: { keepAlive: false } });
      restarted = true;
      modes.push(await measure(ctx, s, false, invalidReasons));
    }
  } finally {
    if (restarted) await ctx.services.restartBalancer({});
  }

  const metrics: Record<string, number> = {};
  for (const m of modes) {
    const suffix = m.keepAlive ? '' : '_no_keepalive';
    metrics[`reuse_ratio${suffix}`] = round(m.reuseRatio, 4);
    metrics[`requests_per_upstream_connection${suffix}`] = round(m.requestsPerConnection, 1);
    metrics[`p50_ms_${m.keepAlive ? 'keepalive' : 'no_keepalive'}`] = usToMs(m.p50Us);
    metrics[`p99_ms_${m.keepAlive ? 'keepalive' : 'no_keepalive'}`] = usToMs(m.p99Us);
    ctx.log(
      `keep-alive ${m.keepAlive ? 'on ' : 'off'}: ${m.requests} requests over ${m.connects} upstream connections (reuse ${(m.reuseRatio * 100).toFixed(2)}%), p50 ${formatUsAsMs(m.p50Us)} ms, p99 ${formatUsAsMs(m.p99Us)} ms`,
    );
  }
  return {
    metrics,
    tables: [
      {
        title: `Upstream connection pooling (open loop at ${s.rate} req/s, ${s.connections} client connections)`,
        columns: ['KEEP_ALIVE', 'REQUESTS', 'UPSTREAM_CONNECTS', 'REQ/CONN', 'REUSE', 'P50(ms)', 'P99(ms)'],
        rows: modes.map((m) => [
          m.keepAlive ? 'on' : 'off',
          m.requests,
          m.connects,
          m.connects > 0 ? m.requestsPerConnection.toFixed(1) : `>= ${m.requests}`,
          m.reuseRatio.toFixed(4),
          formatUsAsMs(m.p50Us),
          formatUsAsMs(m.p99Us),
        ]),
      },
    ],
    invalidReasons,
    details: { modes },
  };
}

export const connectionPoolingKind: ScenarioKind<ConnectionPoolingSettings> = {
  settingsSchema: connectionPoolingSettings,
  run: runConnectionPooling,
  metrics: [
    'reuse_ratio',
    'requests_per_upstream_connection',
    'p50_ms_keepalive',
    'p99_ms_keepalive',
    'reuse_ratio_no_keepalive',
    'requests_per_upstream_connection_no_keepalive',
    'p50_ms_no_keepalive',
    'p99_ms_no_keepalive',
  ],
};
