/**
 * The run loop of `lbbench run`: validate everything, boot the services,
 * run each scenario with a ScenarioContext, apply the sanity gates, judge,
 * print, and write `reports/<run-id>.{json,md}`.
 *
 * Statuses and exit codes: a scenario is `ok` (judged; a FAIL verdict makes
 * the run exit 1), `invalid` (a sanity gate tripped: exit 3), `error` (it
 * threw: exit 3, the run continues with the next scenario) or `interrupted`
 * (Ctrl-C: the run stops, a partial report is written, exit 3).
 *
 * Sanity gates: the run loop watches the child processes (a service that
 * dies during a scenario aborts it and makes it INVALID) and treats a
 * service that cannot be restarted as INVALID. The per-load gates (the
 * generator saturated, connections not established or not seen by the
 * balancer, errors above the allowance) depend on what each scenario
 * measures, so the scenarios apply them (harness/scenarios/shared.ts
 * `checkLoad`) and hand them over as `invalidReasons`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LbbenchConfig, LbConfig, ThresholdConfig } from '../../common/config.js';
import { InputError, InvalidRunError, LbbenchError, UsageError } from '../../common/errors.js';
import { ExitCode, type ExitCodeValue } from '../../common/exit-codes.js';
import { MetricName } from '../../common/metric-names.js';
import type { EngineName, LoadEngine, LoadResult, LoadSpec } from '../engines/engine.js';
import { childPids } from '../sampling/proc-stats.js';
import type { RunProgress } from './progress.js';
import type {
  DeepPartial,
  RunResult,
  SamplingData,
  SamplingSession,
  ScenarioContext,
  ScenarioOutcome,
  ScenarioResult,
  ScenarioRunner,
  Verdict,
} from '../result/scenario-api.js';
import type { ScenarioAttempt } from '../judge/repeats.js';
import type { LoadedScenario } from '../plan/scenario-file.js';
import type { ManagedServices, ServiceExit } from '../services/services.js';
import type { Target, TargetSummary } from '../services/targets/target.js';

/** Gauges the run loop follows during every scenario. */
const RUN_GAUGES = [MetricName.activeConnections, MetricName.workers, MetricName.backendHealth];

/** A scenario ready to run: its settings and thresholds resolved. */
export interface PlannedScenario {
  scenario: LoadedScenario;
  settings: Record<string, unknown>;
  thresholds: ThresholdConfig[];
  runner: ScenarioRunner;
}

/** Options of runBenchmark. */
export interface RunOptions {
  config: LbbenchConfig;
  scenarios: readonly LoadedScenario[];
  /** Quick settings (at most ~20 s of load per scenario). Default false. */
  quick?: boolean;
  /** Threshold profile from `config.profiles`, e.g. `ci`. */
  thresholdProfile?: string;
  /** Every scenario the config's thresholds may name (bundled, the
   * scenarios directory, files given). Default: the bundled scenarios and
   * `scenarios`. */
  knownScenarios?: readonly LoadedScenario[];
  /** A NOISY verdict fails the run (exit 1) instead of a warning. Default false. */
  noisyFails?: boolean;
  /** Runs of each scenario (`--repeat N`); verdicts on the medians. Default 1. */
  repeat?: number;
  /** Use running services instead of starting them. Default false. */
  attach?: boolean;
  /** The balancers to run every scenario against, in turn, with the same
   * backends and load (`--targets`, resolved by harness/services/targets/index.ts).
   * Default our own, `lbbench`. Ignored with `attach`. */
  targets?: readonly Target[];
  /** Run every load with this engine instead of the scenario's choice. */
  engine?: EngineName;
  /** Directory of the reports; created when missing. */
  reportsDir: string;
  /** The command line, recorded in the report, e.g. `lbbench run all --quick`. */
  command: string;
  /** Aborted on Ctrl-C: stops the current scenario and the run. */
  signal: AbortSignal;
  /** Terminal output (tables, scenario lines); gets whole lines with `\n`. */
  out: (text: string) => void;
  /** Child-process log lines (already prefixed). Default: stderr lines only
   * go to `out`. */
  serviceLog?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Clock for run ids and timestamps; injected in tests. Default `Date.now`. */
  now?: () => number;
  /** Terminal tables with every column, however wide (`--wide`). Default
   * false: fitted to 80 columns. */
  wide?: boolean;
  /** Live progress (harness/run/progress.ts); none when absent (`--quiet`, tests). */
  progress?: RunProgress;
}

/** What runBenchmark produced. */
export interface RunOutcome {
  run: RunResult;
  jsonPath: string;
  mdPath: string;
  exitCode: ExitCodeValue;
}

/**
 * Everything that can be checked before a process starts: the kind of each
 * scenario, its settings, its thresholds (config < scenario < profile, every
 * expression parsed) and the `--engine` override. Throws UsageError or
 * InputError (exit 2).
 */
export async function planRun(
  opts: Pick<RunOptions, 'config' | 'scenarios' | 'quick' | 'thresholdProfile' | 'engine' | 'knownScenarios'>,
): Promise<PlannedScenario[]> {
  const [{ scenarioSettings, listScenarios }, { SCENARIO_KINDS }, { resolveThresholds, judge }, { configThresholdIssues }] = await Promise.all([
    import('../plan/scenario-file.js'),
    import('../scenarios/index.js'),
    import('../judge/thresholds.js'),
    import('../plan/threshold-check.js'),
  ]);
  // Every threshold of the config and its profiles must name a known
  // scenario and a metric that scenario's kind produces, whichever scenarios
  // this run selects: a misspelt threshold is an error, not a silent pass.
  const issues: InputError['issues'][number][] = configThresholdIssues(opts.config, opts.knownScenarios ?? [...listScenarios(), ...opts.scenarios]);
  const planned: PlannedScenario[] = [];
  for (const scenario of opts.scenarios) {
    const kind = (SCENARIO_KINDS as Record<string, { run: ScenarioRunner } | undefined>)[scenario.kind];
    if (!kind) {
      issues.push({ file: scenario.file, path: 'kind', message: `unknown kind "${scenario.kind}"; known kinds: ${Object.keys(SCENARIO_KINDS).join(', ')}` });
      continue;
    }
    const thresholds = resolveThresholds(opts.config, scenario.name, scenario.thresholds, opts.thresholdProfile);
    // judge() parses every expression; over no metrics every verdict is N/A,
    // so this throws exactly when an expression is malformed.
    judge(scenario.name, {}, thresholds);
    planned.push({ scenario, settings: scenarioSettings(scenario, opts.quick === true), thresholds, runner: kind.run });
  }
  if (issues.length > 0) throw new InputError(issues);
  if (opts.engine !== undefined) await requireEngine(opts.engine, opts.config);
  return planned;
}

async function requireEngine(name: string, config: LbbenchConfig): Promise<LoadEngine> {
  const { getEngine } = await import('../engines/index.js');
  let engine: LoadEngine;
  try {
    engine = await getEngine(name, { generatorCpuLimitPercent: config.harness.generatorCpuLimitPercent });
  } catch (err) {
    if (err instanceof LbbenchError) throw err;
    throw new UsageError(`engine "${name}": ${(err as Error).message}`, { cause: err });
  }
  if (!(await engine.available())) throw new UsageError(`engine "${name}" is not available on this machine (wrk needs the wrk binary on PATH)`);
  return engine;
}

/**
 * The scenarios a `run` names: `all`, bundled names (or names in `dir`), and
 * paths of scenario files (ending in `.yaml` or `.yml`), in the order given.
 * Throws UsageError listing the valid names, or InputError for a bad file.
 */
export async function selectScenarios(names: readonly string[], dir?: string): Promise<LoadedScenario[]> {
  const { loadScenarioFile, resolveScenarios } = await import('../plan/scenario-file.js');
  const isFile = (n: string): boolean => /\.ya?ml$/i.test(n);
  const byName = names.some((n) => !isFile(n)) ? resolveScenarios(names.filter((n) => !isFile(n)), dir) : [];
  const out: LoadedScenario[] = [];
  for (const n of names) {
    if (isFile(n)) out.push(loadScenarioFile(n));
    else if (n === 'all') out.push(...byName.filter((s) => !out.includes(s)));
    else {
      const s = byName.find((x) => x.name === n);
      if (s && !out.includes(s)) out.push(s);
    }
  }
  const seen = new Map<string, string>();
  for (const s of out) {
    const other = seen.get(s.name);
    if (other !== undefined && other !== s.file) throw new UsageError(`two scenarios are named "${s.name}": ${other} and ${s.file}`);
    seen.set(s.name, s.file);
  }
  return out.filter((s, i) => out.findIndex((x) => x.name === s.name) === i);
}

/** Run id from the start time: `2026-11-26T14-30-05Z-quick`. */
export function makeRunId(startedAtMs: number, quick: boolean): string {
  const iso = new Date(startedAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
  return `${iso}-${quick ? 'quick' : 'full'}`;
}

/** The exit code of a run: 3 when interrupted, any scenario is not `ok`
 * or a verdict is SKIP (schema-1: an unmeasured threshold never passes),
 * else 1 when any verdict FAILed (or was NOISY with `noisyFails`), else 0.
 * N/A verdicts (unavailable, or optional and not measured) do not count. */
export function runExitCode(
  scenarios: readonly Pick<ScenarioResult, 'status' | 'verdicts'>[],
  interrupted: boolean,
  opts: { noisyFails?: boolean } = {},
): ExitCodeValue {
  const any = (level: Verdict['verdict']): boolean => scenarios.some((s) => s.verdicts.some((v) => v.verdict === level));
  if (interrupted || scenarios.some((s) => s.status !== 'ok') || any('SKIP')) return ExitCode.INVALID_RUN;
  if (any('FAIL') || (opts.noisyFails === true && any('NOISY'))) return ExitCode.THRESHOLD_FAILED;
  return ExitCode.OK;
}

/**
 * Runs the scenarios and writes the reports. Validates first (planRun), so
 * bad input rejects with exit-2 errors before anything starts; a service
 * that cannot start rejects with InvalidRunError (exit 3) and no report.
 * Once services are up, it always resolves with the run and the report
 * paths, also when Ctrl-C interrupted it (then `run.interrupted` is true and
 * the report holds the scenarios that finished).
 */
export async function runBenchmark(opts: RunOptions): Promise<RunOutcome> {
  const now = opts.now ?? Date.now;
  const quick = opts.quick === true;
  const planned = await planRun(opts);
  const [{ startServices }, { collectEnvironment }] = await Promise.all([import('../services/services.js'), import('../sampling/environment.js')]);
  const environmentP = collectEnvironment();

  const { LbbenchTarget } = await import('../services/targets/lbbench-target.js');
  const targets = opts.attach === true ? [] : opts.targets && opts.targets.length > 0 ? opts.targets : [new LbbenchTarget()];
  const summaries = new Map<string, TargetSummary>();

  const startedAtMs = now();
  const services = await startServices(opts.config, {
    attach: opts.attach === true,
    ...(targets[0] ? { target: targets[0] } : {}),
    signal: opts.signal,
    log: opts.serviceLog ?? ((line, stream) => stream === 'stderr' && opts.out(`${line}\n`)),
  });
  const scenarios: ScenarioResult[] = [];
  try {
    await printServices(services, opts.out);
    for (const [i, p] of planned.entries()) {
      if (opts.signal.aborted) break;
      opts.progress?.scenarioStarted(i + 1, planned.length, p.scenario.name);
      // One result per target, in target order.
      const results = await runScenario(p, services, opts, targets, summaries).finally(() => opts.progress?.scenarioFinished());
      for (const result of results) {
        scenarios.push(result);
        const { renderScenarioTerminal } = await import('../report/terminal.js');
        opts.out(renderScenarioTerminal(result, { wide: opts.wide === true }));
      }
    }
  } finally {
    opts.progress?.stop();
    await services.stop();
  }

  const interrupted = opts.signal.aborted;
  const exitCode = runExitCode(scenarios, interrupted, { noisyFails: opts.noisyFails === true });
  const [{ buildSummary }, { renderSummaryTerminal }, { writeReports }] = await Promise.all([
    import('../report/summary.js'),
    import('../report/terminal.js'),
    import('../report/write.js'),
  ]);
  const summary = buildSummary(scenarios);
  const runId = uniqueRunId(makeRunId(startedAtMs, quick), opts.reportsDir);
  const run: RunResult = {
    schemaVersion: 2,
    repeat: opts.repeat ?? 1,
    runId,
    startedAt: new Date(startedAtMs).toISOString(),
    finishedAt: new Date(now()).toISOString(),
    command: opts.command,
    profile: quick ? 'quick' : 'full',
    ...(opts.thresholdProfile !== undefined ? { thresholdProfile: opts.thresholdProfile } : {}),
    interrupted,
    environment: await environmentP,
    targets: [...summaries.values()],
    scenarios,
    summary,
    exitCode,
  };
  const { buildComparisons } = await import('../report/comparison.js');
  const comparisons = buildComparisons(run);
  if (comparisons.length > 0) run.comparisons = comparisons;
  // With several targets the matrix by target replaces the summary, whose rows would not say which target they are.
  if (summary.length > 0 && comparisons.length === 0) opts.out(renderSummaryTerminal(summary, { wide: opts.wide === true }));
  if (comparisons.length > 0) {
    const { renderComparisonTerminal } = await import('../report/terminal.js');
    opts.out(renderComparisonTerminal(run, { wide: opts.wide === true }));
  }
  const { jsonPath, mdPath, htmlPath } = await writeReports(run, opts.reportsDir);
  opts.out(`${statusLine(run, planned.length)}\nreport: ${mdPath}\nhtml: ${htmlPath}\nresult: ${jsonPath}\n`);
  return { run, jsonPath, mdPath, exitCode };
}

function statusLine(run: RunResult, plannedCount: number): string {
  const word = run.exitCode === ExitCode.OK ? 'PASS' : run.exitCode === ExitCode.THRESHOLD_FAILED ? 'FAIL' : 'INVALID';
  const bad = run.scenarios.filter((s) => s.status !== 'ok').map((s) => `${s.name} ${s.status}`);
  const parts = [`status: ${word} (exit ${run.exitCode})`];
  if (run.interrupted) parts.push(`interrupted after ${run.scenarios.length} of ${plannedCount} scenarios; partial report`);
  if (bad.length > 0) parts.push(bad.join(', '));
  return parts.join('; ');
}

function uniqueRunId(base: string, dir: string): string {
  let id = base;
  for (let i = 2; existsSync(path.join(dir, `${id}.json`)); i++) id = `${base}-${i}`;
  return id;
}

async function printServices(services: ManagedServices, out: (text: string) => void): Promise<void> {
  const { renderServiceTable } = await import('../report/terminal.js');
  const origin = services.attached ? 'attached to running services' : 'services started';
  out(`${origin}\n${renderServiceTable(services.list())}\nmetrics: ${services.metricsUrl}\n`);
}

// ---------------------------------------------------------------------------
// One scenario

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
async function runScenario(
  p: PlannedScenario,
  services: ManagedServices,
  opts: RunOptions,
  targets: readonly Target[],
  summaries: Map<string, TargetSummary>,
): Promise<ScenarioResult[]> {
  const { useTarget } = await import('../services/targets/run-targets.js');
  const repeats = opts.repeat ?? 1;
  const list = targets.length > 0 ? targets : [services.target];
  const attempts = new Map<Target, ScenarioAttempt[]>(list.map((t) => [t, []]));
  for (let i = 0; i < repeats; i++) {
    for (const [j, target] of list.entries()) {
      if ((i > 0 || j > 0) && opts.signal.aborted) break;
      const label = `${list.length > 1 ? ` on ${target.name}` : ''}${repeats > 1 ? ` (repeat ${i + 1}/${repeats})` : ''}`;
      const switched = await useTarget(services, target, opts.out);
      summaries.set(target.name, { ...services.targetSummary(), name: target.name, kind: target.kind, ...(switched.version ? { version: switched.version } : {}) });
      const now = (opts.now ?? Date.now)();
      attempts.get(target)!.push(
        switched.ok
          ? await runAttempt(p, services, opts, label)
          : { status: 'invalid', lines: [], loads: [], invalidReasons: [`target ${target.name} did not start: ${switched.reason}`], startedAtMs: now, durationMs: 0 },
      );
    }
  }
  const { foldAttempts } = await import('../judge/repeats.js');
  return list
    .filter((t) => attempts.get(t)!.length > 0)
    .map((t) => ({ ...foldAttempts(p.scenario, p.settings, p.thresholds, attempts.get(t)!), target: t.name }));
}

/** One run of the scenario's runner, with its own sanity gates and sampling. */
async function runAttempt(p: PlannedScenario, services: ManagedServices, opts: RunOptions, repeatLabel: string): Promise<ScenarioAttempt> {
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
    abort.abort(new InvalidRunError('LBB_ERR_SERVICE_DIED', describeDeath(e)));
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
    session = await startRunSampling(services, opts.config);
    const ctx = makeContext(p, services, opts, rec, abort.signal);
    outcome = await p.runner(ctx);
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
  if (outcome) outcome = await withoutTargetGaps(outcome, scenario.kind, p.thresholds, services.missingMetrics());
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
async function withoutTargetGaps(
  outcome: ScenarioOutcome,
  kind: string,
  thresholds: readonly ThresholdConfig[],
  missing: Readonly<Record<string, string>>,
): Promise<ScenarioOutcome> {
  if (Object.keys(missing).length === 0) return outcome;
  const [{ withoutUnavailable }, { parseThresholdExpr }, { SCENARIO_KINDS }] = await Promise.all([
    import('../services/targets/unavailable-metrics.js'),
    import('../../common/threshold-expr.js'),
    import('../scenarios/index.js'),
  ]);
  // The kind's declared metrics too, so a figure the runner could not even produce says N/A, not "—".
  const declared = ((SCENARIO_KINDS as Record<string, { metrics: readonly string[] } | undefined>)[kind]?.metrics ?? []).filter((m) => !m.includes('{'));
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
async function startRunSampling(services: ManagedServices, config: LbbenchConfig): Promise<SamplingSession> {
  const { startSampling } = await import('../sampling/sampler.js');
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

function makeContext(p: PlannedScenario, services: ManagedServices, opts: RunOptions, rec: ScenarioRecorder, signal: AbortSignal): ScenarioContext {
  const engines = new Map<string, Promise<LoadEngine>>();
  const engine = (name: EngineName): Promise<LoadEngine> => {
    const chosen = opts.engine ?? name;
    let e = engines.get(chosen);
    if (!e) engines.set(chosen, (e = requireEngine(chosen, opts.config)));
    return e;
  };
  return {
    config: opts.config,
    settings: p.settings,
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
    async scrape() {
      const { scrapeMetrics } = await import('../sampling/sampler.js');
      return scrapeMetrics(services.metricsUrl, signal);
    },
    sample(o = {}) {
      // Loaded eagerly by startRunSampling, so this import is already cached;
      // sample() is synchronous by contract, hence the deferred session.
      return deferredSampling(services, opts.config, o);
    },
    log: (line: string) => rec.log(line),
  };
}

function deferredSampling(services: ManagedServices, config: LbbenchConfig, o: { intervalMs?: number; gauges?: string[] }): SamplingSession {
  const session = import('../sampling/sampler.js').then(({ startSampling }) =>
    startSampling({
      metricsUrl: services.metricsUrl,
      intervalMs: o.intervalMs ?? config.harness.sampleIntervalMs,
      gauges: o.gauges ?? [],
      processes: () => sampledProcesses(services),
    }),
  );
  return { stop: async () => (await session).stop() };
}
