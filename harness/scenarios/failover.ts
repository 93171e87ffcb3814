/**
 * failover: steady open-loop GET load; one backend is SIGKILLed, the
 * balancer must mark it unhealthy (`lb_backend_health` 0) and lose no
 * client request (it retries on another backend); the backend is started
 * again, and must be healthy and receiving traffic again. `/metrics` is
 * polled every `pollIntervalMs` (50 ms) while this happens, so the times
 * have that resolution; the timeline has the engine's 100 ms buckets.
 */
import { z } from 'zod';
import { InvalidRunError } from '../../common/errors.js';
import { MetricName } from '../../common/metric-names.js';
import type { LoadResult } from '../engines/engine.js';
import { sumSamples } from '../sampling/prom-text.js';
import type { PromSnapshot, ReportTable, ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { buildTimeline, compactTimeline, errorCount, errorsBetween, formatUsAsMs, type TimelineEvent, type TimelineRow } from './analysis.js';
import { checkLoad, connectionsSetting, durationSetting, lbUrl, pathSetting, rateSetting, sleep, type ScenarioKind } from './shared.js';
import { ErrorCode } from '../../common/error-codes.js';
import { itemAt } from '../../common/checked.js';

export const failoverSettings = z.strictObject({
  /** Steady open-loop rate, requests/s. Default 1000. */
  rate: rateSetting.default(1000),
  /** Connections the load uses. Default 50. */
  connections: connectionsSetting.default(50),
  /** Request path (GET). Default `/echo`. */
  path: pathSetting.default('/echo'),
  /** Backend to kill, by name; null = the second configured backend. Default null. */
  victim: z.string().min(1).nullable().default(null),
  /** Steady load before the kill, ms. Default 10000. */
  steadyMs: durationSetting.default(10_000),
  /** Time from the kill to the restart, ms (longer if detection takes longer). Default 15000. */
  outageMs: durationSetting.default(15_000),
  /** Load kept after the restart, in which recovery must happen, ms. Default 15000. */
  recoveryMs: durationSetting.default(15_000),
  /** Give up waiting for the health gauge to drop after this, ms. Default 15000. */
  detectionTimeoutMs: durationSetting.default(15_000),
  /** Period of the /metrics polls that time detection and recovery, ms. Default 50. */
  pollIntervalMs: z.number().int().min(20).max(1000).default(50),
  /** Bucket of the timeline, ms. Default 100. */
  seriesIntervalMs: z.number().int().min(10).default(100),
  /** Rows kept around each event and error in the terminal timeline. Default 3. */
  timelineContextRows: z.number().int().min(0).default(3),
});
export type FailoverSettings = z.output<typeof failoverSettings>;

/** One poll of the victim's state. */
interface HealthPoint {
  atMs: number;
  health: number;
  /** The victim's `lb_requests_total`, all codes. */
  requests: number;
}

/** Polls /metrics until `done` holds or `timeoutMs` passes; returns the time it held (ms since epoch). */
async function pollUntil(
  ctx: ScenarioContext,
  victim: string,
  points: HealthPoint[],
  intervalMs: number,
  timeoutMs: number,
  done: (p: HealthPoint) => boolean,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const startedMs = Date.now();
    let snap: PromSnapshot | undefined;
    try {
      snap = await ctx.scrape();
    } catch {
      // A scrape that fails under load is a missing point, not a failed run.
    }
    if (snap) {
      const p: HealthPoint = {
        atMs: Date.now(),
        health: sumSamples(snap.samples, MetricName.backendHealth, { backend: victim }),
        requests: sumSamples(snap.samples, MetricName.requests, { backend: victim }),
      };
      points.push(p);
      if (done(p)) return p.atMs;
    }
    await sleep(Math.max(0, intervalMs - (Date.now() - startedMs)), ctx.signal);
  }
  return undefined;
}

/** Resolves at the engine's first series bucket (the measured window is on),
 * or when the load settles first. */
function windowStarted(load: Promise<LoadResult>, firstBucket: Promise<void>): Promise<void> {
  return Promise.race([
    firstBucket,
    load.then(
      () => undefined,
      () => undefined,
    ),
  ]);
}

async function runFailover(ctx: ScenarioContext, s: FailoverSettings): Promise<ScenarioOutcome> {
  const names = ctx.config.lb.backends.map((b) => b.name);
  const victim = s.victim ?? names[1] ?? itemAt(names, 0, 'names[0]');
  if (names.length < 2) {
    return { metrics: {}, tables: [], invalidReasons: ['failover needs at least 2 backends in lb.backends'], details: {} };
  }
  if (!ctx.services.backends.has(victim)) {
    return {
      metrics: {},
      tables: [],
      invalidReasons: [`failover victim "${victim}" is not a running backend (${[...ctx.services.backends.keys()].join(', ')})`],
      details: {},
    };
  }

  const points: HealthPoint[] = [];
  const events: TimelineEvent[] = [];
  const metrics: Record<string, number> = {};
  let signalFirstBucket: () => void = () => undefined;
  const firstBucket = new Promise<void>((resolve) => (signalFirstBucket = resolve));

  ctx.log(`Steady load: ${s.rate} req/s over ${s.connections} connections (open loop)`);
  const totalMs = s.steadyMs + s.outageMs + s.recoveryMs;
  const loadPromise = ctx.load('lb steady GET', 'open-loop', {
    url: lbUrl(ctx, s.path),
    connections: s.connections,
    rate: s.rate,
    durationMs: totalMs,
    warmupMs: 500,
    seriesIntervalMs: s.seriesIntervalMs,
    onBucket: () => signalFirstBucket(),
  });
  let loadSettled = false;
  // Also keeps a rejection from being unhandled while we wait elsewhere.
  loadPromise.then(
    () => (loadSettled = true),
    () => (loadSettled = true),
  );

  let killed = false;
  let restarted = false;
  let killAtMs = 0;
  let recoveredAtMs: number | undefined;
  try {
    await windowStarted(loadPromise, firstBucket);
    if (loadSettled) throw new InvalidRunError(ErrorCode.LOAD_ENDED, 'the steady load ended before its measured window started');
    // The first bucket completes one interval into the window.
    const loadEndMs = Date.now() - s.seriesIntervalMs + totalMs;
    await sleep(Math.max(0, s.steadyMs - s.seriesIntervalMs), ctx.signal);
    // Baseline point: the victim is healthy and serving.
    await pollUntil(ctx, victim, points, s.pollIntervalMs, 2000, () => true);

    ctx.log(`Killing ${victim}...`);
    killAtMs = Date.now();
    events.push({ atMs: killAtMs, label: `kill ${victim}` });
    await ctx.services.killBackend(victim);
    killed = true;

    const detectedAtMs = await pollUntil(ctx, victim, points, s.pollIntervalMs, s.detectionTimeoutMs, (p) => p.health === 0);
    if (detectedAtMs !== undefined) {
      metrics['detection_ms'] = detectedAtMs - killAtMs;
      events.push({ atMs: detectedAtMs, label: 'marked unhealthy' });
      ctx.log(`Backend marked unhealthy in ${detectedAtMs - killAtMs}ms`);
    } else {
      // Not detected at all: report the time waited, which fails any target below it.
      metrics['detection_ms'] = Date.now() - killAtMs;
      ctx.log(`Backend NOT marked unhealthy within ${s.detectionTimeoutMs}ms`);
    }

    await sleep(Math.max(0, killAtMs + s.outageMs - Date.now()), ctx.signal);
    ctx.log(`Restarting ${victim}...`);
    const restartAtMs = Date.now();
    events.push({ atMs: restartAtMs, label: `restart ${victim}` });
    await ctx.services.restartBackend(victim);
    restarted = true;
    const upAtMs = Date.now();
    metrics['restart_boot_ms'] = upAtMs - restartAtMs;
    events.push({ atMs: upAtMs, label: 'backend answering' });

    // Recovered = healthy again AND its request counter moving again (the
    // balancer sends it traffic, not just health checks).
    const requestsAtRestart = points[points.length - 1]?.requests ?? 0;
    // Traffic is the proof of recovery, so wait only while the load runs.
    const recoveryBudgetMs = Math.max(0, loadEndMs - 200 - Date.now());
    recoveredAtMs = await pollUntil(ctx, victim, points, s.pollIntervalMs, recoveryBudgetMs, (p) => p.health === 1 && p.requests > requestsAtRestart);
    if (recoveredAtMs !== undefined) {
      metrics['recovery_ms'] = recoveredAtMs - upAtMs;
      events.push({ atMs: recoveredAtMs, label: 'recovered' });
      ctx.log(`Backend recovered in ${recoveredAtMs - upAtMs}ms (process answering after ${upAtMs - restartAtMs}ms)`);
    } else {
      ctx.log(`Backend NOT recovered (healthy and receiving traffic) within ${recoveryBudgetMs}ms of its restart`);
    }
  } finally {
    // Never leave the next scenario with a dead backend.
    // On an error, also let the load finish before the next scenario starts.
    try {
      if (killed && !restarted) await ctx.services.restartBackend(victim);
    } finally {
      await loadPromise.catch(() => undefined);
    }
  }

  const result = await loadPromise;
  const outageEndMs = recoveredAtMs ?? result.startedAtMs + result.durationMs;
  const outageErrors = errorsBetween(result.series, result.startedAtMs, result.seriesIntervalMs, killAtMs, outageEndMs);
  const totalErrors = errorCount(result);
  metrics['client_errors'] = totalErrors;
  metrics['outage_client_errors'] = outageErrors;
  metrics['requests_total'] = result.requests;
  ctx.log(`Client errors during outage: ${outageErrors} (whole run: ${totalErrors} of ${result.requests} requests)`);

  const timeline = buildTimeline(result.series, result.startedAtMs, result.seriesIntervalMs, events);
  // Errors are this scenario's verdict (client_errors), not a reason to distrust it.
  const invalidReasons = checkLoad('lb', result, { connections: s.connections, requireUnsaturatedGenerator: false });
  return {
    metrics,
    tables: [timelineTable(timeline, s, victim)],
    invalidReasons,
    details: {
      victim,
      events: events.map((e) => ({ ...e, tMs: e.atMs - result.startedAtMs })),
      healthPolls: points.map((p) => ({ tMs: p.atMs - result.startedAtMs, health: p.health, requests: p.requests })),
      timeline: timeline.map(timelineDetail),
      errorsByKind: result.errors,
    },
  };
}

function timelineDetail(r: TimelineRow): Record<string, unknown> {
  return { tMs: r.tMs, requests: r.requests, errors: r.errors, p99Us: r.p99Us, events: r.events };
}

function timelineTable(rows: readonly TimelineRow[], s: FailoverSettings, victim: string): ReportTable {
  const compact = compactTimeline(rows, s.timelineContextRows);
  return {
    title: `Failover timeline of ${victim} per ${s.seriesIntervalMs} ms (rows near events and errors; full series in the JSON)`,
    columns: ['T(s)', 'REQS', 'ERRORS', 'P99(ms)', 'EVENT'],
    rows: compact.map((r) =>
      r === 'gap' ? ['...', '', '', '', ''] : [(r.tMs / 1000).toFixed(1), r.requests, r.errors, r.requests ? formatUsAsMs(r.p99Us) : '-', r.events.join('; ')],
    ),
  };
}

export const failoverKind: ScenarioKind<FailoverSettings> = {
  settingsSchema: failoverSettings,
  run: runFailover,
  metrics: ['detection_ms', 'recovery_ms', 'restart_boot_ms', 'client_errors', 'outage_client_errors', 'requests_total'],
};
