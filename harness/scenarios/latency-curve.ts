/**
 * latency_curve: the latency-throughput curve, as people who benchmark
 * balancers draw it by hand with wrk2. For the balancer and then straight
 * at one backend (`direct`): a closed-loop run measures the capacity at
 * `connections`, then open-loop runs at `fractions` of that capacity (10%
 * to past saturation) record the achieved rate, p50, p99, p99.9 and errors
 * at each. The knee is the highest achieved rate with p99 at most
 * `kneeP99TargetMs` (and errors within `maxErrorRate`). A sweep stops early
 * once p99 passes `stopP99Ms` or errors pass `stopErrorRate`, so the
 * scenario stays bounded in time past saturation.
 *
 * A saturated generator at a point is marked in the table but does not
 * void the run: it can only inflate latency, so it can only lower the knee;
 * below 100% of capacity it does not stop the sweep either.
 */
import { z } from 'zod';
import type { LoadResult } from '../engines/engine.js';
import type { ReportTable, ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { errorRateWithDropped, round } from './analysis.js';
import { curvePoint, findKnee, runawayReason, showsSaturation, type Curve } from './curve.js';
import {
  checkLoad,
  closedEngineSetting,
  connectionsSetting,
  directUrl,
  durationSetting,
  formatRate,
  fractionSetting,
  lbUrl,
  maxErrorRateSetting,
  pathSetting,
  type ScenarioKind,
  warmupSetting,
} from './shared.js';
import { itemAt } from '../../common/checked.js';

export const latencyCurveSettings = z.strictObject({
  /** Connections of the capacity run and of every open-loop point. Default 100. */
  connections: connectionsSetting.default(100),
  /** Offered rates as fractions of the measured capacity, ascending. Default 10..110%. */
  fractions: z.array(z.number().positive().max(10)).min(1).default([0.1, 0.25, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1]),
  /** The knee is the highest achieved rate with p99 at most this, ms. Default 10. */
  kneeP99TargetMs: z.number().positive().default(10),
  /** Knees at looser p99 targets too, ms, as `knee_rps_p99_<N>ms` (and the
   * direct and ratio twins): a gate that noise on shared cores cannot trip
   * as easily as the 10 ms knee. Default [100]. */
  extraKneeTargetsMs: z.array(z.number().int().positive()).default([100]),
  /** A point counts for the knee only with failed / attempted at most this. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
  /** The sweep stops after a point with p99 above this, ms; null = 10 x kneeP99TargetMs. Default null. */
  stopP99Ms: z.number().positive().nullable().default(null),
  /** The sweep stops after a point with failed / attempted above this. Default 0.01. */
  stopErrorRate: fractionSetting.default(0.01),
  /** Closed-loop capacity run, ms. Default 5000. */
  capacityDurationMs: durationSetting.default(5000),
  /** Engine of the capacity run. Default `closed-loop` (lbbench's raw-socket closed loop). */
  capacityEngine: closedEngineSetting.default('closed-loop'),
  /** When the last fraction shows no saturation yet, add points `extendStep` apart, at most this many. Default 4. */
  maxExtraPoints: z.number().int().min(0).max(20).default(4),
  /** Step of the extra points, as a fraction of capacity. Default 0.25. */
  extendStep: z.number().positive().max(10).default(0.25),
  /** Unrecorded closed-loop load before the capacity window, ms (warms the balancer's pools and JIT). Default 1000. */
  capacityWarmupMs: warmupSetting.default(1000),
  /** Measured window of each point, ms. Default 5000. */
  pointDurationMs: durationSetting.default(5000),
  /** Unrecorded load before each window, ms. Default 1000. */
  warmupMs: warmupSetting.default(1000),
  /** A request slower than this counts as a timeout, ms; also bounds each point's drain. Default 2000. */
  timeoutMs: z.number().int().min(100).default(2000),
  /** Open-loop generator processes. Default 1. */
  processes: z.number().int().min(1).max(16).default(1),
  /** Also sweep straight at the first backend (the baseline). Default true. */
  direct: z.boolean().default(true),
  /** Request path. Default `/echo`. */
  path: pathSetting.default('/echo'),
});
export type LatencyCurveSettings = z.output<typeof latencyCurveSettings>;

/** What one sweep found besides its curve. */
interface Sweep {
  curve: Curve;
  /** Error rate of each point, for knees at other targets. */
  errorRates: number[];
  /** Fractions whose generator was saturated. */
  saturated: number[];
  stoppedAfter?: { fraction: number; reason: string };
}

async function runLatencyCurve(ctx: ScenarioContext, s: LatencyCurveSettings): Promise<ScenarioOutcome> {
  const fractions = [...s.fractions].sort((a, b) => a - b);
  const stopP99Ms = s.stopP99Ms ?? 10 * s.kneeP99TargetMs;
  const invalidReasons: string[] = [];
  ctx.log(
    `Capacity: closed loop (${s.capacityEngine}) at ${s.connections} connections, ${s.capacityDurationMs / 1000}s; then open loop at ${fractions.map((f) => `${Math.round(f * 100)}%`).join(', ')} of it, ${s.pointDurationMs / 1000}s each; knee: p99 <= ${s.kneeP99TargetMs} ms`,
  );
  const sweeps: Sweep[] = [await sweep(ctx, s, fractions, stopP99Ms, ctx.target ?? 'lbbench', lbUrl(ctx, s.path), invalidReasons)];
  if (s.direct) sweeps.push(await sweep(ctx, s, fractions, stopP99Ms, 'direct', directUrl(ctx, s.path), invalidReasons));

  const [lb, direct] = sweeps.map((x) => x.curve);
  const metrics: Record<string, number> = {
    knee_rps: lb!.kneeRps ?? 0,
    capacity_rps: lb!.capacityRps,
  };
  if (lb!.capacityRps > 0) metrics['knee_fraction'] = round((lb!.kneeRps ?? 0) / lb!.capacityRps);
  if (direct) {
    metrics['direct_knee_rps'] = direct.kneeRps ?? 0;
    metrics['direct_capacity_rps'] = direct.capacityRps;
    if (direct.kneeRps) metrics['knee_ratio'] = round((lb!.kneeRps ?? 0) / direct.kneeRps);
  }
  for (const t of s.extraKneeTargetsMs) {
    const [lbKnee, directKnee] = sweeps.map((x) => findKnee(x.curve.points, x.errorRates, t, s.maxErrorRate) ?? 0);
    metrics[`knee_rps_p99_${t}ms`] = lbKnee!;
    if (directKnee !== undefined) {
      metrics[`direct_knee_rps_p99_${t}ms`] = directKnee;
      if (directKnee > 0) metrics[`knee_ratio_p99_${t}ms`] = round(lbKnee! / directKnee);
    }
  }
  return {
    metrics,
    tables: sweeps.map((x) => curveTable(x, s.kneeP99TargetMs)),
    invalidReasons,
    details: {
      curves: sweeps.map((x) => x.curve),
      kneeP99TargetMs: s.kneeP99TargetMs,
      connections: s.connections,
      stopP99Ms,
      generatorSaturated: Object.fromEntries(sweeps.map((x) => [x.curve.label, x.saturated])),
      stoppedAfter: Object.fromEntries(sweeps.map((x) => [x.curve.label, x.stoppedAfter ?? null])),
    },
  };
}

/** Capacity, then the open-loop points at `fractions` of it, for one URL. */
async function sweep(
  ctx: ScenarioContext,
  s: LatencyCurveSettings,
  fractions: readonly number[],
  stopP99Ms: number,
  label: string,
  url: string,
  invalidReasons: string[],
): Promise<Sweep> {
  const cap = await ctx.load(`${label} capacity`, s.capacityEngine, {
    url,
    connections: s.connections,
    durationMs: s.capacityDurationMs,
    warmupMs: s.capacityWarmupMs,
    timeoutMs: s.timeoutMs,
  });
  // The sweep is relative to this figure, so it must be sound: errors make
  // it meaningless; a saturated generator makes it a lower bound (said).
  invalidReasons.push(...checkLoad(`${label} capacity`, cap, { maxErrorRate: s.maxErrorRate, requireUnsaturatedGenerator: false, connections: s.connections }));
  const capacityRps = Math.round(cap.achievedRate);
  ctx.log(
    `${label}: capacity ${formatRate(capacityRps)} req/s at ${s.connections} connections${cap.generator.saturated ? ' (generator saturated: a lower bound)' : ''}`,
  );
  const out: Sweep = { curve: { label, capacityRps, kneeRps: null, points: [] }, errorRates: [], saturated: [] };
  if (capacityRps <= 0) return out;
  const rates = out.errorRates;
  const planned = [...fractions];
  for (let i = 0; i < planned.length; i++) {
    const fraction = itemAt(planned, i, 'planned[i]');
    const offered = fraction * capacityRps;
    const r: LoadResult = await ctx.load(`${label} ${Math.round(fraction * 100)}%`, 'open-loop', {
      url,
      connections: s.connections,
      rate: offered,
      durationMs: s.pointDurationMs,
      warmupMs: s.warmupMs,
      timeoutMs: s.timeoutMs,
      processes: s.processes,
    });
    const point = curvePoint(fraction, offered, r);
    const rate = errorRateWithDropped(r);
    out.curve.points.push(point);
    rates.push(rate);
    if (r.generator.saturated) out.saturated.push(fraction);
    // A saturated generator's latency is its own, not the server's: below
    // 100% of capacity it is no reason to give up on the curve.
    const reason = r.generator.saturated && fraction < 1 ? undefined : runawayReason(point, rate, stopP99Ms, s.stopErrorRate);
    if (reason !== undefined) {
      out.stoppedAfter = { fraction, reason };
      break;
    }
    // Past the listed fractions and still not saturated: the closed loop
    // underestimated the capacity, so go on until the curve turns.
    if (i === planned.length - 1 && planned.length < fractions.length + s.maxExtraPoints && !showsSaturation(point, s.kneeP99TargetMs)) {
      planned.push(round(fraction + s.extendStep, 4));
    }
  }
  out.curve.kneeRps = findKnee(out.curve.points, rates, s.kneeP99TargetMs, s.maxErrorRate);
  ctx.log(
    `${label}: knee ${out.curve.kneeRps === null ? 'none (no rate had p99 <= ' + s.kneeP99TargetMs + ' ms)' : `${formatRate(out.curve.kneeRps)} req/s`}` +
      (out.stoppedAfter ? `; stopped after ${Math.round(out.stoppedAfter.fraction * 100)}% (${out.stoppedAfter.reason})` : ''),
  );
  return out;
}

function curveTable(x: Sweep, kneeP99TargetMs: number): ReportTable {
  const { curve } = x;
  return {
    title: `Latency-throughput curve: ${curve.label} (capacity ${formatRate(curve.capacityRps)} req/s; knee ${curve.kneeRps === null ? 'none' : `${formatRate(curve.kneeRps)} req/s`} at p99 <= ${kneeP99TargetMs} ms)`,
    columns: ['LOAD(%)', 'OFFERED(req/s)', 'ACHIEVED(req/s)', 'P50(ms)', 'P99(ms)', 'P99.9(ms)', 'ERRORS', 'NOTE'],
    rows: curve.points.map((p) => {
      const notes: string[] = [];
      if (curve.kneeRps !== null && p.achievedRps === curve.kneeRps) notes.push('knee');
      if (x.saturated.includes(p.fraction)) notes.push('generator saturated');
      if (x.stoppedAfter?.fraction === p.fraction) notes.push(`stop: ${x.stoppedAfter.reason}`);
      return [
        Math.round(p.fraction * 100),
        formatRate(p.offeredRps),
        formatRate(p.achievedRps),
        p.p50Ms.toFixed(2),
        p.p99Ms.toFixed(2),
        p.p999Ms.toFixed(2),
        p.errors,
        notes.join('; ') || '-',
      ];
    }),
  };
}

export const latencyCurveKind: ScenarioKind<LatencyCurveSettings> = {
  settingsSchema: latencyCurveSettings,
  run: runLatencyCurve,
  metrics: [
    'knee_rps',
    'capacity_rps',
    'knee_fraction',
    'direct_knee_rps',
    'direct_capacity_rps',
    'knee_ratio',
    'knee_rps_p99_{n}ms',
    'direct_knee_rps_p99_{n}ms',
    'knee_ratio_p99_{n}ms',
  ],
};
