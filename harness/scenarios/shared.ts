/**
 * What the scenario runners share: the shape of a scenario kind, setting
 * fragments, and small steps over the ScenarioContext (URLs, gauge peaks
 * during a load, balancer RSS, the sanity checks that make a run INVALID).
 * Runners never spawn services or print directly; everything goes through
 * the context.
 */
import { z } from 'zod';
import { InvalidRunError } from '../../common/errors.js';
import { MetricName } from '../../common/metric-names.js';
import { readProcStat } from '../sampling/proc-stats.js';
import type { EngineName, LoadResult } from '../engines/engine.js';
import { closedLoopEngineNames } from '../engines/index.js';
import { generatorSaturatedReason } from '../result/invalid-reasons.js';
import type { SamplingData, ScenarioContext, ScenarioOutcome } from '../result/scenario-api.js';
import { errorCount, errorRate, peakGauge, type RssSample } from './analysis.js';
import { ErrorCode } from '../../common/error-codes.js';

/**
 * One kind of scenario: how its settings are validated, how it runs and
 * what it measures. `S` is its parsed settings; the registry
 * (scenarios/index.ts) holds kinds as `ScenarioKind` (settings unknown),
 * and the plan hands each runner what its own schema parsed.
 */
export interface ScenarioKind<S = unknown> {
  /** Validates a file's `settings` (and `settings` + `quick`); every field
   * has a default, and unknown keys are errors. */
  settingsSchema: z.ZodType<S>;
  /** Runs one attempt. `settings` were parsed by `settingsSchema` when the
   * run was planned (profile applied, defaults filled). */
  run(ctx: ScenarioContext, settings: S): Promise<ScenarioOutcome>;
  /** Metric names the runner can produce; thresholds may name only these.
   * `{n}` stands for a number, e.g. `p99_ms_c{n}` for `p99_ms_c1000`. */
  metrics: readonly string[];
}

// Setting fragments. Durations are ms, rates requests/s.
/** A request path, e.g. `/echo`. */
export const pathSetting = z.string().startsWith('/');
/** A duration in ms (at least 100). */
export const durationSetting = z.number().int().min(100);
/** Connections to hold (1..200,000). */
export const connectionsSetting = z.number().int().min(1).max(200_000);
/** A rate, requests/s. */
export const rateSetting = z.number().positive().max(1_000_000);
/** A fraction 0..1. */
export const fractionSetting = z.number().min(0).max(1);
/** A closed-loop engine: any of the registry's. */
export const closedEngineSetting = z.enum(closedLoopEngineNames());
/** Unrecorded load before a measured window, ms; 0 skips it (`warmupMs`). */
export const warmupSetting = z.number().int().min(0);
/** Failed / attempted requests above which a run (or a point, or a level)
 * does not count, 0..1 (`maxErrorRate`); what "does not count" means is the
 * kind's: INVALID, not served, no knee. */
export const maxErrorRateSetting = fractionSetting;

/** `path` on the balancer, e.g. `http://127.0.0.1:8080/echo`. */
export function lbUrl(ctx: ScenarioContext, path: string): string {
  return new URL(path, ctx.services.lbUrl).href;
}

/**
 * The backend used for direct-to-backend baselines: the first configured
 * backend (one process; the balancer spreads the same load over all of
 * them, so on two cores this is the fair ceiling of one hop less).
 */
export function baselineBackend(ctx: ScenarioContext): { name: string; url: string } {
  const first = ctx.config.lb.backends[0]?.name;
  const url = first === undefined ? undefined : ctx.services.backends.get(first);
  if (first !== undefined && url !== undefined) return { name: first, url };
  const [name, anyUrl] = [...ctx.services.backends.entries()][0] ?? [];
  if (name === undefined || anyUrl === undefined) throw new InvalidRunError(ErrorCode.NO_BACKEND, 'no backend is running for the direct baseline');
  return { name, url: anyUrl };
}

/** `path` on the baseline backend. */
export function directUrl(ctx: ScenarioContext, path: string): string {
  return new URL(path, baselineBackend(ctx).url).href;
}

/**
 * Runs one load while sampling `lb_active_connections` every `intervalMs`
 * (default 250); returns the result and the peak (MAX_CONN).
 */
export async function loadWithPeakConnections(
  ctx: ScenarioContext,
  label: string,
  engine: EngineName,
  spec: Parameters<ScenarioContext['load']>[2],
  intervalMs = 250,
): Promise<{ result: LoadResult; peakConnections: number; sampling: SamplingData }> {
  const session = ctx.sample({ intervalMs, gauges: [MetricName.activeConnections] });
  let result: LoadResult;
  let sampling: SamplingData;
  try {
    result = await ctx.load(label, engine, spec);
  } finally {
    // Always stop the sampler, also when the load throws.
    sampling = await session.stop();
  }
  return { result, peakConnections: peakGauge(sampling, MetricName.activeConnections), sampling };
}

/** RSS of every balancer process (primary and workers), summed, bytes. */
export function balancerRssBytes(ctx: ScenarioContext): number {
  let total = 0;
  for (const pid of ctx.services.balancerPids()) total += readProcStat(pid)?.rssBytes ?? 0;
  return total;
}

/** An RSS sample tagged with the phase it was taken in. */
export interface PhasedRssSample extends RssSample {
  phase: string;
}

/**
 * Samples the balancer's RSS every `intervalMs` in the background. Set
 * `phase` before each step; `stop()` returns every sample. The timer is
 * unref'd and cheap (a few /proc reads).
 */
export class RssRecorder {
  /** Label stored with the following samples. */
  phase = 'idle';
  private readonly samples: PhasedRssSample[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly ctx: ScenarioContext,
    intervalMs: number,
  ) {
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
    this.timer.unref();
  }
  /** Takes one sample now (also called by the timer). */
  take(): PhasedRssSample {
    const s = { atMs: Date.now(), rssBytes: balancerRssBytes(this.ctx), phase: this.phase };
    this.samples.push(s);
    return s;
  }
  /** Samples of one phase. */
  of(phase: string): PhasedRssSample[] {
    return this.samples.filter((s) => s.phase === phase);
  }
  stop(): PhasedRssSample[] {
    clearInterval(this.timer);
    return [...this.samples];
  }
}

/** What makes one load run untrustworthy. */
export interface LoadCheck {
  /** Errors above this fraction of attempts make the run INVALID. Omit to allow any (the scenario judges errors itself). */
  maxErrorRate?: number;
  /** The generator must not be saturated. Default true. Scenarios whose
   * judged figures are not latencies (counts, bytes, RSS, connections, health
   * timings) pass false: a busy generator cannot inflate those, and on 2
   * shared cores it would otherwise void runs whose verdicts are sound. Their
   * latency columns still show the SATURATED flag in the load table. */
  requireUnsaturatedGenerator?: boolean;
  /** Connections the spec asked for; the engine must have established at
   * least (1 − connectionsTolerance) of them. */
  connections?: number;
  /** Default 0.02. */
  connectionsTolerance?: number;
}

/** Reasons `result` (of the run labelled `label`) cannot be trusted; empty if none. */
export function checkLoad(label: string, result: LoadResult, check: LoadCheck): string[] {
  const reasons: string[] = [];
  if ((check.requireUnsaturatedGenerator ?? true) && result.generator.saturated) {
    reasons.push(generatorSaturatedReason(label, result.generator.saturatedReason));
  }
  if (check.maxErrorRate !== undefined) {
    const rate = errorRate(result);
    if (rate > check.maxErrorRate) {
      reasons.push(
        `${label}: ${errorCount(result)} errors (${(rate * 100).toFixed(2)}% of requests) exceed the allowance of ${(check.maxErrorRate * 100).toFixed(2)}%: ${JSON.stringify(result.errors)}`,
      );
    }
  }
  if (check.connections !== undefined) {
    const needed = Math.floor(check.connections * (1 - (check.connectionsTolerance ?? 0.02)));
    if (result.connectionsEstablished < needed) {
      reasons.push(`${label}: the generator established ${result.connectionsEstablished} of ${check.connections} connections`);
    }
  }
  return reasons;
}

/**
 * The reason MAX_CONN (peak `lb_active_connections`) shows that the
 * requested connections were not held, or undefined when they were.
 */
export function checkPeakConnections(label: string, requested: number, peak: number, tolerance = 0.02): string | undefined {
  const needed = Math.floor(requested * (1 - tolerance));
  return peak < needed ? `${label}: requested ${requested} connections, but the balancer held at most ${peak} (peak lb_active_connections)` : undefined;
}

/** `auto` | `wrk` | `closed-loop`: a closed loop, with wrk where it is installed. */
export const wrkOrClosedLoopSetting = z.enum(['auto', 'wrk', 'closed-loop']);

/** The engine `choice` names; for `auto`, wrk when it is installed, else
 * lbbench's raw-socket closed loop (which needs nothing beyond npm). */
export async function wrkOrClosedLoop(ctx: ScenarioContext, choice: z.output<typeof wrkOrClosedLoopSetting>): Promise<EngineName> {
  if (choice !== 'auto') return choice;
  try {
    if (await (await ctx.engine('wrk')).available()) return 'wrk';
  } catch {
    // Not installed: the built-in closed loop does the same job.
  }
  return 'closed-loop';
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Requests/s as a whole number for tables. */
export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}
