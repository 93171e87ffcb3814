/**
 * conn_storm: while the balancer is already under steady load, a crowd of
 * fresh connections (1,000 by default) arrives at once, each with one
 * request. Every one must be accepted and served: the scenario reports the
 * time until all were served, the p99 of the storm's requests (timed from
 * the burst's start, so accept-queue waits count; a timed-out request
 * counts as `timeoutMs`), the timeouts and other errors, and the steady
 * load's own p99 over the storm. The same storm then runs straight at one
 * backend under the same steady load (the baseline).
 *
 * Why it matters: a Node balancer accepts one connection per event-loop
 * turn of a busy worker (libuv >= 1.45; README, "The balancer": Workers), so a storm can take seconds, which no
 * test that connects before its measured window can see.
 */
import { z } from 'zod';
import { createLatencyHistogram, recordUs, summarizeHistogram } from '../result/histogram.js';
import type { LoadResult } from '../engines/engine.js';
import type { ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { formatUsAsMs, round, usToMs } from './analysis.js';
import { checkLoad, connectionsSetting, directUrl, lbUrl, pathSetting, rateSetting, sleep, type ScenarioKind } from './shared.js';
import { runStorm, type StormResult } from './storm-client.js';

export const connStormSettings = z.strictObject({
  /** Fresh connections opened at once, one request each. Default 1000. */
  stormConnections: z.number().int().min(1).max(10_000).default(1000),
  /** Steady open-loop load running before and during the storm, requests/s. Default 2000. */
  backgroundRate: rateSetting.default(2000),
  /** Keep-alive connections of the steady load. Default 100. */
  backgroundConnections: connectionsSetting.default(100),
  /** Steady load before the storm, ms. Default 2000. */
  settleMs: z.number().int().min(0).default(2000),
  /** A storm connection not served within this is cut and counted as a timeout, ms. Default 5000. */
  timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  /** Also storm the first backend directly, under the same steady load. Default true. */
  direct: z.boolean().default(true),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
});
export type ConnStormSettings = z.output<typeof connStormSettings>;

/** One storm with its steady load. */
interface StormRun {
  label: string;
  storm: StormResult;
  /** p99 / p50 of the storm's requests, µs (timeouts as `timeoutMs`). */
  p99Us: number;
  p50Us: number;
  /** The steady load's result (its whole window). */
  background: LoadResult;
}

const SERIES_MS = 250;

async function stormUnderLoad(ctx: ScenarioContext, s: ConnStormSettings, label: string, url: string): Promise<StormRun> {
  let windowStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (windowStarted = resolve));
  // The steady load runs past the storm's worst case, so the storm always
  // lands inside its window.
  const background = ctx.load(`${label} steady load`, 'open-loop', {
    url,
    connections: s.backgroundConnections,
    rate: s.backgroundRate,
    durationMs: s.settleMs + s.timeoutMs + 1000,
    seriesIntervalMs: SERIES_MS,
    onBucket: () => windowStarted(),
  });
  // Wait for the first bucket (the window is running), or for a load that ended early.
  await Promise.race([started, background.then(() => undefined)]);
  await sleep(Math.max(0, s.settleMs - SERIES_MS), ctx.signal);
  const storm = await runStorm({ url, connections: s.stormConnections, timeoutMs: s.timeoutMs, signal: ctx.signal });
  const h = createLatencyHistogram();
  for (const us of storm.servedUs) recordUs(h, us);
  for (let i = 0; i < storm.timeouts; i++) recordUs(h, s.timeoutMs * 1000);
  const summary = summarizeHistogram(h);
  return { label, storm, p99Us: summary.p99Us, p50Us: summary.p50Us, background: await background };
}

async function runConnStorm(ctx: ScenarioContext, s: ConnStormSettings): Promise<ScenarioOutcome> {
  ctx.log(
    `Steady load ${s.backgroundRate} req/s over ${s.backgroundConnections} connections; after ${s.settleMs / 1000}s, ${s.stormConnections} fresh connections at once, one request each (timeout ${s.timeoutMs / 1000}s)`,
  );
  const runs = [await stormUnderLoad(ctx, s, 'lb', lbUrl(ctx, s.path))];
  if (s.direct) runs.push(await stormUnderLoad(ctx, s, 'direct', directUrl(ctx, s.path)));
  const invalidReasons: string[] = [];
  for (const r of runs) {
    // The steady load must have been real load; its own errors are a finding (table).
    invalidReasons.push(...checkLoad(`${r.label} steady load`, r.background, { connections: s.backgroundConnections, requireUnsaturatedGenerator: false }));
    ctx.log(stormLine(r, s.timeoutMs));
  }
  const [lb, direct] = runs;
  const errors = (r: StormRun): number => Object.values(r.storm.errors).reduce((a, b) => a + b, 0);
  const metrics: Record<string, number> = {
    storm_all_served_ms: lb!.storm.allServedUs === null ? s.timeoutMs : round(lb!.storm.allServedUs / 1000, 1),
    storm_p99_ms: usToMs(lb!.p99Us),
    storm_p50_ms: usToMs(lb!.p50Us),
    storm_timeouts: lb!.storm.timeouts,
    storm_errors: errors(lb!),
    storm_served: lb!.storm.served,
    background_p99_ms: usToMs(lb!.background.latency.p99Us),
  };
  if (direct) {
    metrics['direct_storm_p99_ms'] = usToMs(direct.p99Us);
    metrics['direct_storm_all_served_ms'] = direct.storm.allServedUs === null ? s.timeoutMs : round(direct.storm.allServedUs / 1000, 1);
    if (direct.p99Us > 0) metrics['storm_p99_ratio'] = round(lb!.p99Us / direct.p99Us);
  }
  return {
    metrics,
    tables: [
      {
        title: `Connection storm: ${s.stormConnections} fresh connections at once under ${s.backgroundRate} req/s steady load`,
        columns: ['TARGET', 'SERVED', 'ALL_SERVED(ms)', 'P50(ms)', 'P99(ms)', 'TIMEOUTS', 'ERRORS', 'STEADY_P99(ms)'],
        rows: runs.map((r) => [
          r.label,
          `${r.storm.served}/${r.storm.connections}`,
          r.storm.allServedUs === null ? `> ${s.timeoutMs}` : (r.storm.allServedUs / 1000).toFixed(1),
          formatUsAsMs(r.p50Us),
          formatUsAsMs(r.p99Us),
          r.storm.timeouts,
          errors(r),
          formatUsAsMs(r.background.latency.p99Us),
        ]),
      },
    ],
    invalidReasons,
    details: Object.fromEntries(
      runs.map((r) => [
        r.label,
        {
          served: r.storm.served,
          timeouts: r.storm.timeouts,
          errors: r.storm.errors,
          allServedUs: r.storm.allServedUs,
          servedUs: r.storm.servedUs.map(Math.round),
        },
      ]),
    ),
  };
}

function stormLine(r: StormRun, timeoutMs: number): string {
  const all = r.storm.allServedUs === null ? `not all served within ${timeoutMs} ms` : `all served in ${(r.storm.allServedUs / 1000).toFixed(1)} ms`;
  return `${r.label}: ${r.storm.served}/${r.storm.connections} served, ${all}; p99 ${formatUsAsMs(r.p99Us)} ms; ${r.storm.timeouts} timeouts; errors ${JSON.stringify(r.storm.errors)}; steady-load p99 ${formatUsAsMs(r.background.latency.p99Us)} ms`;
}

export const connStormKind: ScenarioKind<ConnStormSettings> = {
  settingsSchema: connStormSettings,
  run: runConnStorm,
  metrics: [
    'storm_all_served_ms',
    'storm_p99_ms',
    'storm_p50_ms',
    'storm_timeouts',
    'storm_errors',
    'storm_served',
    'background_p99_ms',
    'direct_storm_p99_ms',
    'direct_storm_all_served_ms',
    'storm_p99_ratio',
  ],
};
