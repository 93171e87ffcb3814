/**
 * throughput: large responses (1 MiB by default) over keep-alive
 * connections, closed loop, through the balancer and straight at one
 * backend in the same run. Throughput is counted twice: from the bytes the
 * clients received and from the delta of `lb_bytes_total{direction="out"}`;
 * if the two disagree by more than `maxDisagreementPct` the run is INVALID.
 *
 * The default engine is `closed-loop`: it skips 1 MiB bodies without parsing
 * them and runs over several processes, so it stays far from saturation at
 * the ~4 GB/s three Node backends reach here. autocannon parses every body
 * and saturates its core at about 0.5 GB/s, which would measure itself.
 */
import { z } from 'zod';
import { MetricName } from '../../common/metric-names.js';
import type { EngineName, LoadResult, LoadSpec } from '../engines/engine.js';
import { counterDelta } from '../sampling/sampler.js';
import type { PromSnapshot, ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { generatorSaturatedReason } from '../result/invalid-reasons.js';
import { BYTES_PER_GB, formatUsAsMs, percentDifference, round } from './analysis.js';
import {
  checkLoad,
  closedEngineSetting,
  connectionsSetting,
  directUrl,
  durationSetting,
  formatRate,
  lbUrl,
  maxErrorRateSetting,
  type ScenarioKind,
  warmupSetting,
} from './shared.js';

export const throughputSettings = z.strictObject({
  /** Size of each response body, bytes (`/bytes/<n>`). Default 1048576 (1 MiB). */
  responseBytes: z.number().int().min(1).max(1_073_741_824).default(1_048_576),
  /** Keep-alive connections, summed over generator processes. Default 32:
   * the balancer's throughput still grows with concurrency at 16. */
  connections: connectionsSetting.default(32),
  /** Generator processes (closed-loop only; autocannon and wrk use one).
   * Default 2, so that no process nears the CPU limit at direct speed. */
  processes: z.number().int().min(1).max(64).default(2),
  /** Measured window of each run, ms. Default 20000. */
  durationMs: durationSetting.default(20_000),
  /** A separate, unrecorded warm-up run before each measured one, ms; 0
   * skips it. Separate so that the Prometheus delta covers exactly the
   * measured run. Default 2000. */
  warmupMs: warmupSetting.default(2000),
  /** Closed-loop engine. Default `closed-loop`. */
  engine: closedEngineSetting.default('closed-loop'),
  /** Also run straight at the first backend. Default true. */
  direct: z.boolean().default(true),
  /** Client bytes and the `lb_bytes_total` delta may differ by this much, %. Default 2. */
  maxDisagreementPct: z.number().min(0).default(2),
  /** Errors above this fraction of requests make the run INVALID. Default 0.001. */
  maxErrorRate: maxErrorRateSetting.default(0.001),
});

/** The parsed settings (defaults filled). */
export type ThroughputSettings = z.output<typeof throughputSettings>;

async function runThroughput(ctx: ScenarioContext, s: ThroughputSettings): Promise<ScenarioOutcome> {
  const path = `/bytes/${s.responseBytes}`;
  const invalidReasons: string[] = [];
  // Every generator process needs at least one connection of its own.
  const processes = Math.min(s.processes, s.connections);
  const spec = { connections: s.connections, durationMs: s.durationMs, processes };

  if (s.warmupMs > 0) await ctx.load('lb warm-up', s.engine, { ...spec, url: lbUrl(ctx, path), durationMs: s.warmupMs });
  const m = await measureLb(ctx, s.engine, { ...spec, url: lbUrl(ctx, path) });
  const lb = m.result;
  invalidReasons.push(...checkLoad('lb', lb, { maxErrorRate: s.maxErrorRate, requireUnsaturatedGenerator: false }));

  const promBytes = m.promBytes;
  const disagreementPct = percentDifference(m.clientBytes, promBytes);
  const gbps = lb.bytesPerSecond / BYTES_PER_GB;
  ctx.log(`Approx throughput: ${gbps.toFixed(2)} GB/s`);
  ctx.log(`Prometheus bytes_total: ${promBytes}`);
  ctx.log(`Client bytes: ${m.clientBytes} over the same ${(m.spanMs / 1000).toFixed(2)} s (${disagreementPct.toFixed(2)}% apart from Prometheus)`);
  if (disagreementPct > s.maxDisagreementPct) {
    invalidReasons.push(
      `client bytes (${m.clientBytes}) and the lb_bytes_total delta (${promBytes}) over the same ${m.span} disagree by ${disagreementPct.toFixed(2)}% (> ${s.maxDisagreementPct}%)`,
    );
  }

  const metrics: Record<string, number> = {
    gigabytes_per_second: round(gbps),
    bytes_per_second: Math.round(lb.bytesPerSecond),
    requests_per_second: round(lb.achievedRate, 1),
    client_bytes_total: m.clientBytes,
    prometheus_bytes_total: promBytes,
    bytes_disagreement_pct: round(disagreementPct),
  };

  let direct: LoadResult | undefined;
  if (s.direct) {
    const url = directUrl(ctx, path);
    if (s.warmupMs > 0) await ctx.load('direct warm-up', s.engine, { ...spec, url, durationMs: s.warmupMs });
    direct = await ctx.load('direct', s.engine, { ...spec, url });
    invalidReasons.push(...checkLoad('direct', direct, { maxErrorRate: s.maxErrorRate, requireUnsaturatedGenerator: false }));
    const directGbps = direct.bytesPerSecond / BYTES_PER_GB;
    metrics['direct_gigabytes_per_second'] = round(directGbps);
    if (directGbps > 0) metrics['throughput_ratio'] = round(gbps / directGbps);
    ctx.log(`Direct throughput: ${directGbps.toFixed(2)} GB/s (ratio ${directGbps > 0 ? (gbps / directGbps).toFixed(2) : '-'})`);
    if (direct.generator.saturated) {
      // Not INVALID: the balancer's own figure stands; only the ratio is off.
      ctx.log(
        `Note: the generator was saturated direct (${Math.round(direct.generator.maxProcessCpuPercent)}% of a core): the direct figure is the generator's, so the ratio overstates the balancer`,
      );
    }
  }
  const saturation = generatorBoundReason(lb, direct);
  if (saturation) invalidReasons.push(saturation);

  const row = (label: string, r: LoadResult, clientBytes: number, prom: number | undefined): (string | number)[] => [
    label,
    (r.bytesPerSecond / BYTES_PER_GB).toFixed(2),
    formatRate(r.achievedRate),
    clientBytes,
    prom ?? '-',
    formatUsAsMs(r.latency.p99Us),
    `${Math.round(r.generator.cpuPercent)}%`,
  ];
  return {
    metrics,
    tables: [
      {
        title: `Throughput: ${s.responseBytes}-byte responses, ${s.connections} connections, closed loop (${s.engine}${s.engine === 'closed-loop' ? `, ${processes} processes` : ''})`,
        columns: ['TARGET', 'GB/s', 'REQ/S', 'CLIENT_BYTES', 'PROM_BYTES', 'P99(ms)', 'GEN_CPU'],
        // lb: both byte counts over the compared span; direct: the whole window.
        rows: [row('lb', lb, m.clientBytes, promBytes), ...(direct ? [row('direct', direct, direct.bytes, undefined)] : [])],
      },
    ],
    invalidReasons,
    details: {
      responseBytes: s.responseBytes,
      directGeneratorSaturated: direct?.generator.saturated ?? false,
      comparedOver: m.span,
      comparedSpanMs: m.spanMs,
      promBytes,
      clientBytes: m.clientBytes,
      disagreementPct,
      wholeRunPromBytes: m.wholeRunPromBytes,
      wholeRunClientBytes: lb.bytes,
    },
  };
}

/** Series bucket of the balancer run, ms: fine enough that the compared
 * span covers most of the window. */
const SERIES_INTERVAL_MS = 250;

/** The balancer run, with bytes counted by both sides over the same span. */
interface LbMeasurement {
  result: LoadResult;
  promBytes: number;
  clientBytes: number;
  /** What the two counts cover: `window` (between the scrapes taken at the
   * first and the second-to-last series bucket) or `whole run` (scrapes
   * around the load, when the engine reports no live buckets). */
  span: 'window' | 'whole run';
  spanMs: number;
  /** The `lb_bytes_total{direction="out"}` delta around the whole load. */
  wholeRunPromBytes: number;
}

/**
 * Runs the balancer load and counts bytes on both sides over the same
 * span. Scrapes around the whole load would also count what the engine
 * sends while it establishes its connections and what is in flight when it
 * stops, neither of which the client records. So `/metrics` is scraped
 * right after the first series bucket arrives (A) and after the bucket that
 * arrives once most of the window has passed (B), and compared with the
 * client bytes of the buckets that arrived in between (after A, up to and
 * including B). Both ends lag their bucket by about the same IPC delay, and
 * the bytes in flight at either end are about the same in steady state, so
 * both cancel out. Bucket arrival, not bucket index, marks time: an engine
 * on a busy core flushes buckets late.
 */
async function measureLb(ctx: ScenarioContext, engine: EngineName, spec: LoadSpec): Promise<LbMeasurement> {
  const spanTargetMs = spec.durationMs - 4 * SERIES_INTERVAL_MS;
  let a: { atMs: number; snap: Promise<PromSnapshot | undefined> } | undefined;
  let b: { atMs: number; snap: Promise<PromSnapshot | undefined> } | undefined;
  let clientBytes = 0;
  const before = await ctx.scrape();
  const result = await ctx.load('lb', engine, {
    ...spec,
    seriesIntervalMs: SERIES_INTERVAL_MS,
    onBucket: (bucket) => {
      if (spanTargetMs <= 0 || b) return;
      if (!a) {
        a = { atMs: Date.now(), snap: ctx.scrape().catch(() => undefined) };
        return;
      }
      clientBytes += bucket.bytes;
      if (Date.now() - a.atMs >= spanTargetMs) b = { atMs: Date.now(), snap: ctx.scrape().catch(() => undefined) };
    },
  });
  const after = await ctx.scrape();
  const wholeRunPromBytes = counterDelta(before, after, MetricName.bytes, { direction: 'out' });
  const [snapA, snapB] = await Promise.all([a?.snap, b?.snap]);
  if (a && b && snapA && snapB) {
    return {
      result,
      promBytes: counterDelta(snapA, snapB, MetricName.bytes, { direction: 'out' }),
      clientBytes,
      span: 'window',
      spanMs: b.atMs - a.atMs,
      wholeRunPromBytes,
    };
  }
  return { result, promBytes: wholeRunPromBytes, clientBytes: result.bytes, span: 'whole run', spanMs: result.durationMs, wholeRunPromBytes };
}

/**
 * A closed loop that saturated its generator measured the generator, not
 * the balancer, unless the same generator went faster straight at a
 * backend in the same run: then it had room to spare.
 */
export function generatorBoundReason(lb: LoadResult, direct: LoadResult | undefined): string | undefined {
  if (!lb.generator.saturated) return undefined;
  if (direct && direct.bytesPerSecond > lb.bytesPerSecond * 1.1) return undefined;
  return generatorSaturatedReason(
    '',
    `${Math.round(lb.generator.maxProcessCpuPercent)}% of a core`,
    "and did not go faster direct: the throughput measured is the generator's",
  );
}

export const throughputKind: ScenarioKind<ThroughputSettings> = {
  settingsSchema: throughputSettings,
  run: runThroughput,
  metrics: [
    'gigabytes_per_second',
    'bytes_per_second',
    'requests_per_second',
    'client_bytes_total',
    'prometheus_bytes_total',
    'bytes_disagreement_pct',
    'direct_gigabytes_per_second',
    'throughput_ratio',
  ],
};
