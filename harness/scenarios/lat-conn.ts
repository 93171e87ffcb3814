/**
 * lat_conn: latency vs connections, under a stated load. At each connection
 * level: an open-loop run at a fixed rate (comparable across machines and
 * targets), a closed-loop capacity run, open-loop runs at fixed fractions
 * of that same-run capacity (50% and 80% by default: latency under real
 * load), and the fixed-rate run straight at one backend (the baseline).
 *
 * The headline `p99_ms_c<N>` (and the guide's `CONN P99_LAT(ms) MAX_CONN`
 * line) comes from the run named by `judgeAt`: by default the one at 50% of
 * capacity; every figure's rate is in the tables. MAX_CONN is the peak
 * `lb_active_connections` sampled every 250 ms during that run: it proves
 * the connections were really held.
 */
import { z } from 'zod';
import type { ReportTable, ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import type { LoadResult } from '../engines/engine.js';
import { errorCount, formatUsAsMs, round, usToMs } from './analysis.js';
import {
  checkLoad,
  checkPeakConnections,
  closedEngineSetting,
  connectionsSetting,
  directUrl,
  durationSetting,
  formatRate,
  fractionSetting,
  lbUrl,
  loadWithPeakConnections,
  maxErrorRateSetting,
  pathSetting,
  rateSetting,
  type ScenarioKind,
  warmupSetting,
} from './shared.js';
import { itemAt } from '../../common/checked.js';

export const latConnSettings = z.strictObject({
  /** Connection levels, each held in turn. Default 100, 500, 1000, 2000. */
  levels: z.array(connectionsSetting).min(1).default([100, 500, 1000, 2000]),
  /** Open-loop rate at every level, requests/s, well below saturation. Default 1000. */
  rate: rateSetting.default(1000),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
  /** Measured window of each open-loop run, ms. Default 20000. */
  durationMs: durationSetting.default(20_000),
  /** Unrecorded load before each window, ms. Default 1000. */
  warmupMs: warmupSetting.default(1000),
  /** Open-loop runs at these fractions of the level's closed-loop capacity. Default 0.5, 0.8. */
  capacityFractions: z.array(z.number().positive().max(1)).default([0.5, 0.8]),
  /** The run behind the headline `p99_ms_c<N>`: `fixed` (the fixed-rate run)
   * or one of `capacityFractions`. Falls back to `fixed` when capacity runs
   * are off. Default 0.5. */
  judgeAt: z.union([z.literal('fixed'), z.number().positive().max(1)]).default(0.5),
  /** Closed-loop capacity run at each level, ms; 0 skips it (and the fraction runs). Default 10000. */
  capacityDurationMs: z.number().int().min(0).default(10_000),
  /** Engine of the capacity runs. Default `autocannon`. */
  capacityEngine: closedEngineSetting.default('autocannon'),
  /** Also run the open-loop load straight at the first backend. Default true. */
  direct: z.boolean().default(true),
  /** Errors above this fraction of requests make the run INVALID. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
  /** MAX_CONN may fall short of a level by this fraction before the run is INVALID. Default 0.02. */
  connectionsTolerance: fractionSetting.default(0.02),
  /** Sampling period of `lb_active_connections`, ms. Default 250. */
  sampleIntervalMs: z.number().int().min(50).default(250),
});
export type LatConnSettings = z.output<typeof latConnSettings>;

/** One open-loop run of a level: at the fixed rate or a fraction of capacity. */
interface LevelRun {
  /** `fixed`, or the fraction of capacity, e.g. 0.5. */
  at: 'fixed' | number;
  offeredRps: number;
  achievedRps: number;
  p50Us: number;
  p99Us: number;
  maxConnections: number;
  errors: number;
}

/** One level's results (kept in details). The top-level p99/p50/maxConnections are the judged run's. */
interface LevelResult {
  connections: number;
  p99Us: number;
  p50Us: number;
  maxConnections: number;
  /** Which run the figures above come from, and its offered rate. */
  judgedAt: 'fixed' | number;
  judgedRateRps: number;
  runs: LevelRun[];
  directP99Us?: number;
  capacityRps?: number;
  capacityMaxConnections?: number;
}

async function runLatConn(ctx: ScenarioContext, s: LatConnSettings): Promise<ScenarioOutcome> {
  const metrics: Record<string, number> = {};
  const invalidReasons: string[] = [];
  const levels: LevelResult[] = [];
  const url = lbUrl(ctx, s.path);

  const fractions = s.capacityDurationMs > 0 ? [...new Set(s.capacityFractions)].sort((a, b) => a - b) : [];
  const judgeAt: 'fixed' | number = s.judgeAt !== 'fixed' && fractions.includes(s.judgeAt) ? s.judgeAt : 'fixed';
  if (s.judgeAt !== 'fixed' && judgeAt === 'fixed') {
    ctx.log(
      `judgeAt ${s.judgeAt}: no such capacity run (capacityFractions ${JSON.stringify(s.capacityFractions)}, capacity ${s.capacityDurationMs} ms); judging the fixed-rate run`,
    );
  }
  ctx.log(
    `Per level: open loop at ${s.rate} req/s, ${s.durationMs / 1000}s; capacity closed loop (${s.capacityEngine}) ${s.capacityDurationMs / 1000}s` +
      (fractions.length ? `; open loop at ${fractions.map(pct).join(', ')} of that capacity, ${s.durationMs / 1000}s each` : ''),
  );
  ctx.log(`P99_LAT and MAX_CONN below: the open-loop run at ${judgeAt === 'fixed' ? `${s.rate} req/s` : `${pct(judgeAt)} of the level's capacity`}`);
  ctx.log(guideRow('CONN', 'P99_LAT(ms)', 'MAX_CONN'));
  for (const c of s.levels) {
    const spec = { connections: c, rate: s.rate, durationMs: s.durationMs, warmupMs: s.warmupMs };
    const open = await loadWithPeakConnections(ctx, `lb c${c} open-loop`, 'open-loop', { ...spec, url }, s.sampleIntervalMs);
    invalidReasons.push(...checkLoad(`lb c${c}`, open.result, { maxErrorRate: s.maxErrorRate, connections: c }));
    const peakReason = checkPeakConnections(`c${c}`, c, open.peakConnections, s.connectionsTolerance);
    if (peakReason) invalidReasons.push(peakReason);
    const runs: LevelRun[] = [levelRun('fixed', s.rate, open.result, open.peakConnections)];

    let capacityRps: number | undefined;
    let capacityMaxConnections: number | undefined;
    if (s.capacityDurationMs > 0) {
      const cap = await loadWithPeakConnections(
        ctx,
        `lb c${c} capacity`,
        s.capacityEngine,
        { url, connections: c, durationMs: s.capacityDurationMs, warmupMs: Math.min(s.warmupMs, 1000) },
        s.sampleIntervalMs,
      );
      // A closed loop on two shared cores may well saturate its generator;
      // the capacity is then a lower bound, which the report says; the
      // fractions are then of that lower bound (a lighter load, not a heavier).
      invalidReasons.push(...checkLoad(`lb c${c} capacity`, cap.result, { maxErrorRate: s.maxErrorRate, requireUnsaturatedGenerator: false }));
      capacityRps = cap.result.achievedRate;
      capacityMaxConnections = cap.peakConnections;
      if (cap.result.generator.saturated) ctx.log(`  c${c} capacity: generator saturated; ${formatRate(cap.result.achievedRate)} req/s is a lower bound`);
      for (const f of capacityRps > 0 ? fractions : []) {
        const rate = f * capacityRps;
        const run = await loadWithPeakConnections(ctx, `lb c${c} at ${pct(f)} of capacity`, 'open-loop', { ...spec, rate, url }, s.sampleIntervalMs);
        // Errors under load are a finding shown in the table; a saturated
        // generator would make the latency the generator's, not the balancer's.
        invalidReasons.push(...checkLoad(`lb c${c} at ${pct(f)}`, run.result, { connections: c }));
        runs.push(levelRun(f, rate, run.result, run.peakConnections));
      }
    }
    const judged = runs.find((r) => r.at === judgeAt) ?? itemAt(runs, 0, 'runs[0]');
    const level: LevelResult = {
      connections: c,
      p99Us: judged.p99Us,
      p50Us: judged.p50Us,
      maxConnections: judged.maxConnections,
      judgedAt: judged.at,
      judgedRateRps: judged.offeredRps,
      runs,
    };
    if (capacityRps !== undefined) level.capacityRps = capacityRps;
    if (capacityMaxConnections !== undefined) level.capacityMaxConnections = capacityMaxConnections;
    ctx.log(guideRow(String(c), formatUsAsMs(level.p99Us), String(level.maxConnections)));

    if (s.direct) {
      const direct = await ctx.load(`direct c${c} open-loop`, 'open-loop', { ...spec, url: directUrl(ctx, s.path) });
      invalidReasons.push(...checkLoad(`direct c${c}`, direct, { maxErrorRate: s.maxErrorRate, connections: c }));
      level.directP99Us = direct.latency.p99Us;
    }
    levels.push(level);
    addLevelMetrics(metrics, level);
  }

  return {
    metrics,
    tables: [levelTable(levels, s.rate), runTable(levels)],
    invalidReasons,
    details: { rate: s.rate, judgeAt, capacityFractions: fractions, levels },
  };
}

/** The guide's row format, e.g. `CONN  P99_LAT(ms)   MAX_CONN` / ` 100         3.45        100`. */
export function guideRow(conn: string, p99: string, maxConn: string): string {
  return `${conn.padStart(4)}${p99.padStart(13)}${maxConn.padStart(11)}`;
}

/** `0.5` -> `50%`. */
function pct(f: number): string {
  return `${round(f * 100, 1)}%`;
}

function levelRun(at: 'fixed' | number, offeredRps: number, r: LoadResult, maxConnections: number): LevelRun {
  return {
    at,
    offeredRps,
    achievedRps: r.achievedRate,
    p50Us: r.latency.p50Us,
    p99Us: r.latency.p99Us,
    maxConnections,
    errors: errorCount(r) + (r.schedule?.dropped ?? 0),
  };
}

function addLevelMetrics(metrics: Record<string, number>, l: LevelResult): void {
  const c = l.connections;
  // The headline: the judged run (default 50% of capacity).
  metrics[`p99_ms_c${c}`] = usToMs(l.p99Us);
  metrics[`p50_ms_c${c}`] = usToMs(l.p50Us);
  metrics[`max_conn_c${c}`] = l.maxConnections;
  metrics[`judged_rate_rps_c${c}`] = Math.round(l.judgedRateRps);
  const fixed = l.runs.find((r) => r.at === 'fixed')!;
  metrics[`fixed_p99_ms_c${c}`] = usToMs(fixed.p99Us);
  for (const r of l.runs) {
    if (r.at === 'fixed') continue;
    const tag = Math.round(r.at * 100);
    metrics[`p99_ms_c${c}_at${tag}`] = usToMs(r.p99Us);
    metrics[`achieved_rps_c${c}_at${tag}`] = Math.round(r.achievedRps);
  }
  if (l.directP99Us !== undefined) {
    // Both at the same fixed rate: the hop's cost, like for like.
    metrics[`direct_p99_ms_c${c}`] = usToMs(l.directP99Us);
    if (l.directP99Us > 0) metrics[`p99_ratio_c${c}`] = round(fixed.p99Us / l.directP99Us);
  }
  if (l.capacityRps !== undefined) metrics[`capacity_rps_c${c}`] = Math.round(l.capacityRps);
}

function runLabel(at: 'fixed' | number, rate: number): string {
  return at === 'fixed' ? `fixed ${formatRate(rate)} req/s` : `${pct(at)} of capacity = ${formatRate(rate)} req/s`;
}

function levelTable(levels: readonly LevelResult[], rate: number): ReportTable {
  return {
    title: `Latency vs connections (P99_LAT at MEASURED_AT; direct and ratio at the fixed ${rate} req/s; capacity closed loop)`,
    columns: ['CONN', 'P99_LAT(ms)', 'MAX_CONN', 'MEASURED_AT', 'FIXED_P99(ms)', 'DIRECT_P99(ms)', 'P99_RATIO', 'CAPACITY(req/s)'],
    rows: levels.map((l) => {
      const fixed = l.runs.find((r) => r.at === 'fixed')!;
      return [
        l.connections,
        formatUsAsMs(l.p99Us),
        l.maxConnections,
        runLabel(l.judgedAt, l.judgedRateRps),
        formatUsAsMs(fixed.p99Us),
        l.directP99Us === undefined ? '-' : formatUsAsMs(l.directP99Us),
        l.directP99Us ? (fixed.p99Us / l.directP99Us).toFixed(2) : '-',
        l.capacityRps === undefined ? '-' : formatRate(l.capacityRps),
      ];
    }),
  };
}

/** Every open-loop run of every level, with the rate it was measured at. */
function runTable(levels: readonly LevelResult[]): ReportTable {
  return {
    title: 'Latency vs connections: every open-loop run',
    columns: ['CONN', 'MEASURED_AT', 'ACHIEVED(req/s)', 'P50(ms)', 'P99(ms)', 'MAX_CONN', 'ERRORS', 'JUDGED'],
    rows: levels.flatMap((l) =>
      l.runs.map((r) => [
        l.connections,
        runLabel(r.at, r.offeredRps),
        formatRate(r.achievedRps),
        formatUsAsMs(r.p50Us),
        formatUsAsMs(r.p99Us),
        r.maxConnections,
        r.errors,
        r.at === l.judgedAt ? 'yes' : '-',
      ]),
    ),
  };
}

export const latConnKind: ScenarioKind<LatConnSettings> = {
  settingsSchema: latConnSettings,
  run: runLatConn,
  metrics: [
    'p99_ms_c{n}',
    'p50_ms_c{n}',
    'max_conn_c{n}',
    'judged_rate_rps_c{n}',
    'fixed_p99_ms_c{n}',
    'p99_ms_c{n}_at{n}',
    'achieved_rps_c{n}_at{n}',
    'direct_p99_ms_c{n}',
    'p99_ratio_c{n}',
    'capacity_rps_c{n}',
  ],
};
