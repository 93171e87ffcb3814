/**
 * One scenario of a run: against each target, `repeat` times, each attempt
 * with its own sanity gates (a service dying under it, one that cannot be
 * restarted), balancer overrides, background sampling and ScenarioContext;
 * the attempts folded into one result per target (judge/repeats.ts).
 */
import type { LbbenchConfig, LbConfig, ThresholdConfig } from '../../common/config.js';
import { InvalidRunError, UsageError } from '../../common/errors.js';
import { MetricName } from '../../common/metric-names.js';
import type { DeepPartial } from '../../common/objects.js';
import { parseThresholdExpr } from '../../common/threshold-expr.js';
import type { EngineName, LoadEngine, LoadResult, LoadSpec } from '../engines/engine.js';
import { foldAttempts, type ScenarioAttempt } from '../judge/repeats.js';
import { requireEngine, type PlannedScenario } from '../plan/plan.js';
import type { SamplingData, SamplingSession, ScenarioContext, ScenarioOutcome, ScenarioResult } from '../result/scenario-api.js';
import { childPids } from '../sampling/proc-stats.js';
import { scrapeMetrics, startSampling } from '../sampling/sampler.js';
import { SCENARIO_KINDS } from '../scenarios/index.js';
import type { ManagedServices, ServiceExit } from '../services/services.js';
import { useTarget } from '../services/targets/run-targets.js';
import type { Target, TargetSummary } from '../services/targets/target.js';
import { withoutUnavailable } from '../services/targets/unavailable-metrics.js';
import type { RunProgress } from './progress.js';
import { ErrorCode } from '../../common/error-codes.js';

/** Gauges the run loop follows during every scenario. */
const RUN_GAUGES = [MetricName.activeConnections, MetricName.workers, MetricName.backendHealth];

/** What running one scenario needs from the run's options (run-loop.ts RunOptions). */
export interface ScenarioRunOptions {
  config: LbbenchConfig;
  /** Quick settings. Default false. */
  quick?: boolean;
  /** Runs of each scenario (`--repeat N`). Default 1. */
  repeat?: number;
  /** Run every load with this engine instead of the scenario's choice. */
  engine?: EngineName;
  /** Aborted on Ctrl-C: stops the current attempt, and no other starts. */
  signal: AbortSignal;
  /** Terminal output; gets whole lines with `\n`. */
  out: (text: string) => void;
  /** Clock of the attempts' timestamps; injected in tests. Default `Date.now`. */
  now?: () => number;
  /** Live progress; none when absent. */
  progress?: RunProgress;
}

/** Sanity gates and bookkeeping of one scenario while it runs. */
class ScenarioRecorder {
  readonly lines: string[] = [];
  readonly loads: { label: string; result: LoadResult }[] = [];
  readonly invalidReasons: string[] = [];
  constructor(private readonly out: (text: string) => void) {}

  log(line: string): void {
    this.lines.push(line);
    this.out(`${line}\n`);
  }

  invalid(reason: string): void {
    if (!this.invalidReasons.includes(reason)) this.invalidReasons.push(reason);
  }
}

/**
 * One scenario against each target, `opts.repeat` times (loop order
 * scenario -> repeat -> target, so repeats interleave the targets and
 * drift on the shared machine hits them alike), folded per target into one
 * result by foldAttempts; results in target order. A target that does not
 * start gives an INVALID attempt and the run goes on. Ctrl-C stops after
 * the current attempt. `summaries` receives each target's summary.
 */
export async function runScenario(
  p: PlannedScenario,
  services: ManagedServices,
  opts: ScenarioRunOptions,
  targets: readonly Target[],
  summaries: Map<string, TargetSummary>,
): Promise<ScenarioResult[]> {
  const repeats = opts.repeat ?? 1;
  const list = targets.length > 0 ? targets : [services.target];
  const attempts = new Map<Target, ScenarioAttempt[]>(list.map((t) => [t, []]));
  for (let i = 0; i < repeats; i++) {
    for (const [j, target] of list.entries()) {
      if ((i > 0 || j > 0) && opts.signal.aborted) break;
      const label = `${list.length > 1 ? ` on ${target.name}` : ''}${repeats > 1 ? ` (repeat ${i + 1}/${repeats})` : ''}`;
      const switched = await useTarget(services, target, opts.out);
      summaries.set(target.name, {
        ...services.targetSummary(),
        name: target.name,
        kind: target.kind,
        ...(switched.version ? { version: switched.version } : {}),
      });
      const now = (opts.now ?? Date.now)();
      attempts.get(target)!.push(
        switched.ok
          ? await runAttempt(p, services, opts, label)
          : {
              status: 'invalid',
              lines: [],
              loads: [],
              invalidReasons: [`target ${target.name} did not start: ${switched.reason}`],
              startedAtMs: now,
              durationMs: 0,
            },
      );
    }
  }
  return list
    .filter((t) => attempts.get(t)!.length > 0)
    .map((t) => ({ ...foldAttempts(p.scenario, p.settings, p.thresholds, attempts.get(t)!), target: t.name }));
}

/** One run of the scenario's runner, with its own sanity gates and sampling. */
async function runAttempt(p: PlannedScenario, services: ManagedServices, opts: ScenarioRunOptions, repeatLabel: string): Promise<ScenarioAttempt> {
  const { scenario } = p;
  const now = opts.now ?? Date.now;
  const startedAtMs = now();
  const rec = new ScenarioRecorder(opts.out);
  // The scenario's own signal: Ctrl-C, or a service dying under it.
  const abort = new AbortController();
  const onRunAbort = (): void => abort.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onRunAbort, { once: true });
  const unwatch = services.onUnexpectedExit((e) => {
    rec.invalid(describeDeath(e));
    abort.abort(new InvalidRunError(ErrorCode.SERVICE_DIED, describeDeath(e)));
  });

  let outcome: ScenarioOutcome | undefined;
  let status: ScenarioResult['status'] = 'ok';
  let error: string | undefined;
  let sampling: SamplingData | undefined;
  const overrides = scenario.lb as DeepPartial<LbConfig> | undefined;
  const hasOverrides = overrides !== undefined && Object.keys(overrides).length > 0;
  let session: SamplingSession | undefined;
  try {
    rec.log(`-- ${scenario.name}${repeatLabel}: ${scenario.description}`);
    await ensureRunning(services, rec);
    if (hasOverrides) {
      rec.log(`restarting the balancer with ${JSON.stringify(overrides)}`);
      await services.restartBalancer(overrides);
    }
    session = startRunSampling(services, opts.config);
    const ctx = makeContext(services, opts, rec, abort.signal);
    outcome = await p.kind.run(ctx, p.settings);
  } catch (err) {
    if (opts.signal.aborted) status = 'interrupted';
    else if (rec.invalidReasons.length > 0) status = 'invalid';
    else if (err instanceof InvalidRunError) {
      // A service that could not be (re)started: the scenario cannot be trusted.
      status = 'invalid';
      rec.invalid(err.message);
    } else {
      status = 'error';
      error = err instanceof Error ? err.message : String(err);
    }
  } finally {
    unwatch();
    opts.signal.removeEventListener('abort', onRunAbort);
    sampling = await session?.stop();
  }
  if (hasOverrides && !opts.signal.aborted) {
    try {
      await services.restartBalancer({});
    } catch (err) {
      // The next scenario restarts a dead balancer; this one's numbers stand.
      rec.log(`could not restore the configured balancer: ${(err as Error).message}`);
    }
  }

  for (const r of outcome?.invalidReasons ?? []) rec.invalid(r);
  if (status === 'ok' && rec.invalidReasons.length > 0) status = 'invalid';
  if (outcome) outcome = withoutTargetGaps(outcome, scenario.kind, p.thresholds, services.missingMetrics());
  return {
    status,
    ...(error !== undefined ? { error } : {}),
    ...(outcome ? { outcome } : {}),
    lines: rec.lines,
    loads: rec.loads,
    invalidReasons: rec.invalidReasons,
    ...(sampling ? { sampling } : {}),
    startedAtMs,
    durationMs: now() - startedAtMs,
  };
}

/**
 * The outcome without the figures the current target cannot provide (built
 * on a balancer metric it lacks), which go to `unavailable` with the reason,
 * also for thresholds the runner did not produce: N/A, never a PASS on a
 * meaningless figure.
 */
function withoutTargetGaps(
  outcome: ScenarioOutcome,
  kind: string,
  thresholds: readonly ThresholdConfig[],
  missing: Readonly<Record<string, string>>,
): ScenarioOutcome {
  if (Object.keys(missing).length === 0) return outcome;
  // The kind's declared metrics too, so a figure the runner could not even produce says N/A, not "—".
  const declared = ((Object.hasOwn(SCENARIO_KINDS, kind) ? SCENARIO_KINDS[kind]?.metrics : undefined) ?? []).filter((m) => !m.includes('{'));
  const thresholdMetrics = thresholds.map((t) => parseThresholdExpr(t.target)).flatMap((e) => ('error' in e ? [] : [e.metric]));
  const judged = withoutUnavailable(outcome.metrics, [...thresholdMetrics, ...declared], missing);
  const unavailable = { ...judged.unavailable, ...(outcome.unavailable ?? {}) };
  return { ...outcome, metrics: judged.metrics, ...(Object.keys(unavailable).length > 0 ? { unavailable } : {}) };
}

function describeDeath(e: ServiceExit): string {
  const how = e.signal ? `was killed by ${e.signal}` : `exited with code ${e.exitCode}`;
  const tail = e.stderrTail.length ? ` (last stderr: ${e.stderrTail.slice(-3).join(' / ')})` : '';
  return `service ${e.name} (pid ${e.pid}) ${how} during the scenario${tail}`;
}

/** Restarts services that died in an earlier scenario, so one death does not
 * invalidate every scenario after it. */
async function ensureRunning(services: ManagedServices, rec: ScenarioRecorder): Promise<void> {
  if (services.attached) return;
  const running = new Set(services.list().map((s) => s.name));
  for (const name of services.backends.keys()) {
    if (running.has(name)) continue;
    rec.log(`restarting backend ${name}, which is not running`);
    await services.restartBackend(name).catch((err: unknown) => {
      // A non-loopback backend is not ours to restart.
      if (!(err instanceof UsageError)) throw err;
    });
  }
  if (services.balancerPids().length === 0) {
    rec.log('restarting the balancer, which is not running');
    await services.restartBalancer({});
  }
}

/** Background sampling for the whole scenario: every service process, the
 * harness itself and its generator children, and the run gauges. */
function startRunSampling(services: ManagedServices, config: LbbenchConfig): SamplingSession {
  return startSampling({
    metricsUrl: services.metricsUrl,
    intervalMs: config.harness.sampleIntervalMs,
    gauges: RUN_GAUGES,
    processes: () => sampledProcesses(services),
  });
}

/**
 * The processes to sample: every service process (balancer primary and
 * workers, backends), the harness itself as `harness`, and every other
 * descendant of the harness as `generator` (engines run their load in child
 * processes).
 */
export function sampledProcesses(services: Pick<ManagedServices, 'list'>): { name: string; pid: number }[] {
  const list = services.list().map((s) => ({ name: s.name, pid: s.pid }));
  const known = new Set(list.map((s) => s.pid));
  list.push({ name: 'harness', pid: process.pid });
  // Walk the harness's descendants without descending into the services
  // (list() has the balancer's workers already): this runs every tick.
  const queue = childPids(process.pid);
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (known.has(pid)) continue;
    list.push({ name: 'generator', pid });
    queue.push(...childPids(pid));
  }
  return list;
}

function makeContext(services: ManagedServices, opts: ScenarioRunOptions, rec: ScenarioRecorder, signal: AbortSignal): ScenarioContext {
  const engines = new Map<string, Promise<LoadEngine>>();
  const engine = (name: EngineName): Promise<LoadEngine> => {
    const chosen = opts.engine ?? name;
    let e = engines.get(chosen);
    if (!e) engines.set(chosen, (e = requireEngine(chosen, opts.config)));
    return e;
  };
  return {
    config: opts.config,
    quick: opts.quick === true,
    services,
    signal,
    target: services.targetSummary().name,
    engine,
    async load(label: string, engineName: EngineName, spec: LoadSpec): Promise<LoadResult> {
      const eng = await engine(engineName);
      const progress = opts.progress;
      // The progress display listens to the series buckets beside the scenario's own listener.
      const live: LoadSpec = progress ? { ...spec, onBucket: (b) => (progress.bucket(b), spec.onBucket?.(b)) } : spec;
      progress?.loadStarted(label, spec);
      const result = await eng.run(live, signal).finally(() => progress?.loadFinished());
      rec.loads.push({ label, result });
      return result;
    },
    scrape: () => scrapeMetrics(services.metricsUrl, signal),
    sample: (o = {}) =>
      startSampling({
        metricsUrl: services.metricsUrl,
        intervalMs: o.intervalMs ?? opts.config.harness.sampleIntervalMs,
        gauges: o.gauges ?? [],
        processes: () => sampledProcesses(services),
      }),
    log: (line: string) => rec.log(line),
  };
}
