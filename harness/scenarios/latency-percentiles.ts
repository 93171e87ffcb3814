/**
 * latency_percentiles: open loop at a fixed rate, through the balancer and
 * straight at one backend in the same run; p50, p90, p99, p99.9, p99.99 and
 * max from µs histograms, `p99_ratio` against the direct baseline, and the
 * whole percentile spectrum of both into the JSON.
 */
import { z } from 'zod';
import type { LatencySummary, LoadResult } from '../engines/engine.js';
import { decodeHistogram, percentileSpectrum } from '../result/histogram.js';
import type { ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { formatUsAsMs, round, usToMs } from './analysis.js';
import {
  checkLoad,
  connectionsSetting,
  directUrl,
  durationSetting,
  lbUrl,
  maxErrorRateSetting,
  pathSetting,
  rateSetting,
  type ScenarioKind,
  warmupSetting,
} from './shared.js';

export const latencyPercentilesSettings = z.strictObject({
  /** Open-loop rate, requests/s. Default 2000. */
  rate: rateSetting.default(2000),
  /** Connections. Default 100. */
  connections: connectionsSetting.default(100),
  /** Measured window of each run, ms. Default 60000. */
  durationMs: durationSetting.default(60_000),
  /** Unrecorded load before each window, ms. Default 2000. */
  warmupMs: warmupSetting.default(2000),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
  /** Also run straight at the first backend. Default true. */
  direct: z.boolean().default(true),
  /** Errors above this fraction of requests make the run INVALID. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
});

/** The parsed settings (defaults filled). */
export type LatencyPercentilesSettings = z.output<typeof latencyPercentilesSettings>;

/** Reported percentiles: label, metric stem, summary field. */
const PERCENTILES: readonly [string, string, keyof LatencySummary][] = [
  ['p50', 'p50', 'p50Us'],
  ['p90', 'p90', 'p90Us'],
  ['p99', 'p99', 'p99Us'],
  ['p99.9', 'p999', 'p999Us'],
  ['p99.99', 'p9999', 'p9999Us'],
  ['max', 'max', 'maxUs'],
];

function spectrumOf(r: LoadResult): { percentile: number; valueUs: number }[] {
  return r.histogram ? percentileSpectrum(decodeHistogram(r.histogram)) : [];
}

async function runLatencyPercentiles(ctx: ScenarioContext, s: LatencyPercentilesSettings): Promise<ScenarioOutcome> {
  const spec = { connections: s.connections, rate: s.rate, durationMs: s.durationMs, warmupMs: s.warmupMs };
  const check = { maxErrorRate: s.maxErrorRate, connections: s.connections };
  const lb = await ctx.load('lb', 'open-loop', { ...spec, url: lbUrl(ctx, s.path) });
  const invalidReasons = checkLoad('lb', lb, check);
  const direct = s.direct ? await ctx.load('direct', 'open-loop', { ...spec, url: directUrl(ctx, s.path) }) : undefined;
  if (direct) invalidReasons.push(...checkLoad('direct', direct, check));

  const metrics: Record<string, number> = {};
  for (const [, stem, field] of PERCENTILES) {
    metrics[`${stem}_ms`] = usToMs(lb.latency[field]);
    if (direct) metrics[`direct_${stem}_ms`] = usToMs(direct.latency[field]);
  }
  if (direct && direct.latency.p99Us > 0) metrics['p99_ratio'] = round(lb.latency.p99Us / direct.latency.p99Us);
  ctx.log(
    `p99: ${formatUsAsMs(lb.latency.p99Us)} ms` +
      (direct ? ` (direct ${formatUsAsMs(direct.latency.p99Us)} ms, ratio ${metrics['p99_ratio'] ?? '-'})` : '') +
      ` at ${s.rate} req/s over ${s.connections} connections, ${lb.latency.count} samples`,
  );

  return {
    metrics,
    tables: [
      {
        title: `Latency percentiles (open loop at ${s.rate} req/s, ${s.connections} connections, µs histograms)`,
        columns: ['PERCENTILE', 'LB(ms)', ...(direct ? ['DIRECT(ms)', 'RATIO'] : [])],
        rows: PERCENTILES.map(([label, , field]) => [
          label,
          formatUsAsMs(lb.latency[field]),
          ...(direct ? [formatUsAsMs(direct.latency[field]), direct.latency[field] > 0 ? (lb.latency[field] / direct.latency[field]).toFixed(2) : '-'] : []),
        ]),
      },
    ],
    invalidReasons,
    details: { spectrum: { lb: spectrumOf(lb), ...(direct ? { direct: spectrumOf(direct) } : {}) } },
  };
}

export const latencyPercentilesKind: ScenarioKind<LatencyPercentilesSettings> = {
  settingsSchema: latencyPercentilesSettings,
  run: runLatencyPercentiles,
  metrics: [...PERCENTILES.flatMap(([, stem]) => [`${stem}_ms`, `direct_${stem}_ms`]), 'p99_ratio'],
};
