/**
 * conn_rate: new connections per second with one request per connection,
 * the headline of every vendor's balancer benchmark (accept, a request, a
 * close). A closed loop whose every request carries `Connection: close`:
 * the server answers and closes, and the generator opens a fresh
 * connection for the next request, so requests/s = connections/s. wrk
 * (`-H 'Connection: close'`) when it is installed, lbbench's raw-socket
 * closed loop otherwise; the same engine for the balancer and straight at
 * one backend (the baseline, `conn_rate_ratio`).
 *
 * The direct run checks the premise: the backend's own count of accepted
 * connections must have grown by about one per request, or the engine was
 * reusing connections and the figure is not a connection rate (INVALID).
 */
import { z } from 'zod';
import type { LoadResult } from '../engines/engine.js';
import type { ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { errorCount, errorRate, formatUsAsMs, round, usToMs } from './analysis.js';
import {
  baselineBackend,
  checkLoad,
  connectionsSetting,
  directUrl,
  durationSetting,
  formatRate,
  lbUrl,
  maxErrorRateSetting,
  pathSetting,
  type ScenarioKind,
  warmupSetting,
  wrkOrClosedLoop,
  wrkOrClosedLoopSetting,
} from './shared.js';

export const connRateSettings = z.strictObject({
  /** Concurrent clients, each opening a new connection per request. Default 50. */
  connections: connectionsSetting.default(50),
  /** Measured window, ms. Default 10000. */
  durationMs: durationSetting.default(10_000),
  /** Unrecorded load before the window, ms. Default 1000. */
  warmupMs: warmupSetting.default(1000),
  /** `auto`: wrk when installed, else `closed-loop`. Default `auto`. */
  engine: wrkOrClosedLoopSetting.default('auto'),
  /** Also measure straight at the first backend. Default true. */
  direct: z.boolean().default(true),
  /** Errors above this fraction of requests make the run INVALID. Default 0.01. */
  maxErrorRate: maxErrorRateSetting.default(0.01),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
});

/** The parsed settings (defaults filled). */
export type ConnRateSettings = z.output<typeof connRateSettings>;

/** The backend's count of accepted connections (its /stats), or undefined. */
async function backendConnectionsTotal(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(new URL('/stats', url), { headers: { connection: 'close' }, signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { connections?: { total?: unknown } };
    const total = body.connections?.total;
    return typeof total === 'number' ? total : undefined;
  } catch {
    return undefined;
  }
}

async function runConnRate(ctx: ScenarioContext, s: ConnRateSettings): Promise<ScenarioOutcome> {
  const engine = await wrkOrClosedLoop(ctx, s.engine);
  const invalidReasons: string[] = [];
  const spec = { connections: s.connections, durationMs: s.durationMs, warmupMs: s.warmupMs, headers: { connection: 'close' } };
  ctx.log(`One request per connection (Connection: close), ${s.connections} concurrent clients, ${s.durationMs / 1000}s, engine ${engine}`);

  const lb = await ctx.load('lb new connections', engine, { ...spec, url: lbUrl(ctx, s.path) });
  // Connections per second is not a latency claim: a busy generator lowers it
  // for both runs alike, and the load table flags it.
  invalidReasons.push(...checkLoad('lb', lb, { maxErrorRate: s.maxErrorRate, requireUnsaturatedGenerator: false }));
  ctx.log(line('lb', lb));

  let direct: LoadResult | undefined;
  if (s.direct) {
    const base = baselineBackend(ctx);
    const before = await backendConnectionsTotal(base.url);
    direct = await ctx.load('direct new connections', engine, { ...spec, url: directUrl(ctx, s.path) });
    const after = await backendConnectionsTotal(base.url);
    invalidReasons.push(...checkLoad('direct', direct, { maxErrorRate: s.maxErrorRate, requireUnsaturatedGenerator: false }));
    if (before !== undefined && after !== undefined) {
      const opened = after - before;
      // Warm-up and the drain open connections too, so more is fine; far
      // fewer than one per measured request means they were reused.
      if (opened < 0.9 * direct.requests) {
        invalidReasons.push(
          `direct: ${opened} connections accepted by ${base.name} for ${direct.requests} requests; the engine reused connections, so this is not a connection rate`,
        );
      }
    }
    ctx.log(line('direct', direct));
  }

  const metrics: Record<string, number> = {
    conn_rate_cps: Math.round(lb.achievedRate),
    p99_ms: usToMs(lb.latency.p99Us),
    errors_total: errorCount(lb),
    error_rate: round(errorRate(lb), 6),
  };
  if (direct) {
    metrics['direct_conn_rate_cps'] = Math.round(direct.achievedRate);
    if (direct.achievedRate > 0) metrics['conn_rate_ratio'] = round(lb.achievedRate / direct.achievedRate);
  }
  const rows = [lb, direct].flatMap((r, i) =>
    r ? [[i === 0 ? 'lb' : 'direct', formatRate(r.achievedRate), formatUsAsMs(r.latency.p50Us), formatUsAsMs(r.latency.p99Us), errorCount(r)]] : [],
  );
  return {
    metrics,
    tables: [
      {
        title: `New connections per second, one request each (${s.connections} clients, ${engine})`,
        columns: ['TARGET', 'CONN/s', 'P50(ms)', 'P99(ms)', 'ERRORS'],
        rows,
      },
    ],
    invalidReasons,
    details: { engine, connections: s.connections, errorsByKind: { lb: lb.errors, ...(direct ? { direct: direct.errors } : {}) } },
  };
}

function line(label: string, r: LoadResult): string {
  return `${label}: ${formatRate(r.achievedRate)} new connections/s, p99 ${formatUsAsMs(r.latency.p99Us)} ms, ${errorCount(r)} errors`;
}

export const connRateKind: ScenarioKind<ConnRateSettings> = {
  settingsSchema: connRateSettings,
  run: runConnRate,
  metrics: ['conn_rate_cps', 'p99_ms', 'errors_total', 'error_rate', 'direct_conn_rate_cps', 'conn_rate_ratio'],
};
