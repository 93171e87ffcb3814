/**
 * distribution: N requests against the configured weights, counted per
 * backend twice: from `lb_requests_total` deltas and from each backend's own
 * `/stats` counters. The two counts must agree (else INVALID). Deviation =
 * max over backends of |observed share − expected share| / expected share.
 * Runs for every algorithm that defines a share (see `expectedShares`),
 * switching with `restartBalancer({ algorithm })` and restoring the
 * configured balancer at the end; `deviation_pct` is the configured
 * algorithm's.
 */
import { z } from 'zod';
import { ALGORITHMS, type AlgorithmName } from '../../common/config.js';
import { InvalidRunError } from '../../common/errors.js';
import { MetricName } from '../../common/metric-names.js';
import type { BackendStatsSnapshot } from '../../backend/stats.js';
import { counterDelta } from '../sampling/sampler.js';
import type { ReportTable, ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { distributionDeviation, errorCount, expectedShares, round } from './analysis.js';
import { checkLoad, connectionsSetting, lbUrl, maxErrorRateSetting, pathSetting, rateSetting, type ScenarioKind } from './shared.js';
import { ErrorCode } from '../../common/error-codes.js';
import { itemAt } from '../../common/checked.js';

export const distributionSettings = z.strictObject({
  /** Requests per algorithm (sent at `rate`, so the run lasts requests / rate s). Default 100000. */
  requests: z.number().int().min(100).default(100_000),
  /** Open-loop rate, requests/s. Default 5000. */
  rate: rateSetting.default(5000),
  /** Few connections, so each worker's pick sequence is hardly disturbed. Default 4. */
  connections: connectionsSetting.default(4),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
  /** Algorithms to measure besides the configured one; those that define no
   * share are skipped with a note. Default weighted_round_robin, round_robin, random. */
  algorithms: z.array(z.enum(ALGORITHMS)).default(['weighted_round_robin', 'round_robin', 'random']),
  /** The balancer's and the backends' counts may differ by this much per backend, % (min 2 requests). Default 0.5. */
  agreementTolerancePct: z.number().min(0).default(0.5),
  /** Errors above this fraction of requests make the run INVALID. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
});

/** The parsed settings (defaults filled). */
export type DistributionSettings = z.output<typeof distributionSettings>;

/** One algorithm's counts and deviation. */
export interface AlgorithmDistribution {
  algorithm: AlgorithmName;
  backends: {
    name: string;
    weight: number;
    expectedShare: number;
    lbCount: number;
    backendCount: number;
    observedShare: number;
    deviationPct: number;
  }[];
  maxDeviationPct: number;
  countsAgree: boolean;
}

/**
 * Requests a backend's `/stats` counted for the family of `path` (`/echo`
 * -> `echo`, `/bytes/...` -> `bytes`). Falls back to `requests.total` minus
 * health checks for a path of no known family.
 */
export function backendFamilyCount(stats: Pick<BackendStatsSnapshot, 'requests'>, path: string): number {
  const family = path.split('/')[1] ?? '';
  const byFamily = stats.requests.byFamily as unknown as Record<string, number | undefined>;
  const n = byFamily[family];
  return typeof n === 'number' ? n : stats.requests.total - (byFamily['health'] ?? 0);
}

/** A backend's `/stats` could not be read, so its own count is unknown (exit 3). */
export class BackendStatsError extends InvalidRunError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.BACKEND_STATS, message, options);
  }
}

async function fetchStats(url: string, signal: AbortSignal): Promise<BackendStatsSnapshot> {
  let res: Response;
  try {
    res = await fetch(new URL('/stats', url), { signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]) });
  } catch (err) {
    throw new BackendStatsError(`GET ${url}/stats failed: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new BackendStatsError(`GET ${url}/stats answered ${res.status}`);
  return (await res.json()) as BackendStatsSnapshot;
}

async function fetchAllStats(ctx: ScenarioContext, names: readonly string[]): Promise<BackendStatsSnapshot[]> {
  return Promise.all(
    names.map((n) => {
      const url = ctx.services.backends.get(n);
      if (url === undefined) throw new BackendStatsError(`backend ${n} is not running`);
      return fetchStats(url, ctx.signal);
    }),
  );
}

async function runDistribution(ctx: ScenarioContext, s: DistributionSettings): Promise<ScenarioOutcome> {
  const backends = ctx.config.lb.backends;
  const names = backends.map((b) => b.name);
  const weights = backends.map((b) => b.weight);
  const configured = ctx.config.lb.algorithm;
  const wanted = [...new Set([configured, ...s.algorithms])];
  const algorithms = wanted.filter((a) => expectedShares(a, weights) !== undefined);
  for (const a of wanted) if (!algorithms.includes(a)) ctx.log(`${a}: defines no share of traffic (adaptive or keyed), not measured`);

  const results: AlgorithmDistribution[] = [];
  const invalidReasons: string[] = [];
  const metrics: Record<string, number> = {};
  let running: AlgorithmName = configured;
  const durationMs = Math.max(100, Math.ceil((s.requests / s.rate) * 1000));
  try {
    for (const algorithm of algorithms) {
      if (algorithm !== running) {
        await ctx.services.restartBalancer({ algorithm });
        running = algorithm;
      }
      const statsBefore = await fetchAllStats(ctx, names);
      const before = await ctx.scrape();
      const load = await ctx.load(`lb ${algorithm}`, 'open-loop', {
        url: lbUrl(ctx, s.path),
        connections: s.connections,
        rate: s.rate,
        durationMs,
      });
      const after = await ctx.scrape();
      const statsAfter = await fetchAllStats(ctx, names);
      invalidReasons.push(...checkLoad(`lb ${algorithm}`, load, { maxErrorRate: s.maxErrorRate, requireUnsaturatedGenerator: false }));

      const lbCounts = names.map((backend) => counterDelta(before, after, MetricName.requests, { backend }));
      const backendCounts = names.map(
        (_, i) => backendFamilyCount(itemAt(statsAfter, i, 'statsAfter[i]'), s.path) - backendFamilyCount(itemAt(statsBefore, i, 'statsBefore[i]'), s.path),
      );
      const d = summarize(algorithm, names, weights, lbCounts, backendCounts, s.agreementTolerancePct);
      results.push(d);
      metrics[`deviation_pct_${algorithm}`] = round(d.maxDeviationPct);
      if (algorithm === configured) metrics['deviation_pct'] = round(d.maxDeviationPct);
      if (!d.countsAgree) {
        invalidReasons.push(
          `${algorithm}: the balancer's counts (${lbCounts.join('/')}) and the backends' own (${backendCounts.join('/')}) disagree by more than ${s.agreementTolerancePct}%`,
        );
      }
      const total = lbCounts.reduce((a, b) => a + b, 0);
      ctx.log(`${algorithm}: ${total} requests (${errorCount(load)} errors), max deviation ${d.maxDeviationPct.toFixed(2)}%`);
    }
  } finally {
    if (running !== configured) await ctx.services.restartBalancer({});
  }
  if (metrics['deviation_pct'] === undefined) ctx.log(`deviation_pct not measured: the configured algorithm ${configured} defines no share`);

  return {
    metrics,
    tables: [...results.map(backendTable), summaryTable(results, configured)],
    invalidReasons,
    details: { requestsPerAlgorithm: s.requests, algorithms: results },
  };
}

/** Builds one algorithm's distribution from both counts; pure. */
export function summarize(
  algorithm: AlgorithmName,
  names: readonly string[],
  weights: readonly number[],
  lbCounts: readonly number[],
  backendCounts: readonly number[],
  agreementTolerancePct: number,
): AlgorithmDistribution {
  const expected = expectedShares(algorithm, weights) ?? weights.map(() => 1 / weights.length);
  const dev = distributionDeviation(lbCounts, expected);
  const countsAgree = lbCounts.every((c, i) => Math.abs(c - itemAt(backendCounts, i, 'backendCounts[i]')) <= Math.max(2, (c * agreementTolerancePct) / 100));
  return {
    algorithm,
    backends: names.map((name, i) => ({
      name,
      weight: itemAt(weights, i, 'weights[i]'),
      expectedShare: itemAt(expected, i, 'expected[i]'),
      lbCount: itemAt(lbCounts, i, 'lbCounts[i]'),
      backendCount: itemAt(backendCounts, i, 'backendCounts[i]'),
      observedShare: itemAt(dev.shares, i, 'dev.shares[i]'),
      deviationPct: itemAt(dev.deviationsPct, i, 'dev.deviationsPct[i]'),
    })),
    maxDeviationPct: dev.maxDeviationPct,
    countsAgree,
  };
}

function backendTable(d: AlgorithmDistribution): ReportTable {
  return {
    title: `Distribution: ${d.algorithm}`,
    columns: ['BACKEND', 'WEIGHT', 'EXPECTED(%)', 'LB_COUNT', 'BACKEND_COUNT', 'OBSERVED(%)', 'DEVIATION(%)'],
    rows: d.backends.map((b) => [
      b.name,
      b.weight,
      (b.expectedShare * 100).toFixed(2),
      b.lbCount,
      b.backendCount,
      (b.observedShare * 100).toFixed(2),
      b.deviationPct.toFixed(2),
    ]),
  };
}

function summaryTable(results: readonly AlgorithmDistribution[], configured: AlgorithmName): ReportTable {
  return {
    title: 'Distribution deviation by algorithm',
    columns: ['ALGORITHM', 'REQUESTS', 'MAX_DEVIATION(%)', 'COUNTS_AGREE'],
    rows: results.map((d) => [
      d.algorithm === configured ? `${d.algorithm} (configured)` : d.algorithm,
      d.backends.reduce((a, b) => a + b.lbCount, 0),
      d.maxDeviationPct.toFixed(2),
      d.countsAgree ? 'yes' : 'NO',
    ]),
  };
}

export const distributionKind: ScenarioKind<DistributionSettings> = {
  settingsSchema: distributionSettings,
  run: runDistribution,
  metrics: ['deviation_pct', ...ALGORITHMS.map((a) => `deviation_pct_${a}`)],
};
