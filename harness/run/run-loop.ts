/**
 * The run loop of `lbbench run`: plan (harness/plan/plan.ts: validate
 * everything before a process starts), boot the services, run each scenario
 * (scenario-runner.ts: targets, repeats, sanity gates, sampling, judging),
 * print, and write `reports/<run-id>.{json,md,html}`.
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
import type { LbbenchConfig } from '../../common/config.js';
import { ExitCode, type ExitCodeValue } from '../../common/exit-codes.js';
import type { EngineName } from '../engines/engine.js';
import { engineVersions } from '../engines/index.js';
import { planScenarios, type PlanOptions } from '../plan/plan.js';
import type { LoadedScenario } from '../plan/scenario-file.js';
import { buildComparisons, targetOf } from '../report/comparison.js';
import { buildSummary } from '../report/summary.js';
import { renderComparisonTerminal, renderScenarioTerminal, renderServiceTable, renderSummaryTerminal } from '../report/terminal.js';
import { writeReports } from '../report/write.js';
import { invalidOnlyBySaturation } from '../result/invalid-reasons.js';
import type { RunResult, ScenarioResult, Verdict } from '../result/scenario-api.js';
import { collectEnvironment } from '../sampling/environment.js';
import { startServices, type ManagedServices } from '../services/services.js';
import { LbbenchTarget } from '../services/targets/lbbench-target.js';
import type { Target, TargetSummary } from '../services/targets/target.js';
import type { RunProgress } from './progress.js';
import { runScenario, type ScenarioRunOptions } from './scenario-runner.js';

/** Options of runBenchmark. */
export interface RunOptions extends PlanOptions, ScenarioRunOptions {
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
  /** A scenario INVALID only because the load generator was saturated
   * (result/invalid-reasons.ts) is judged on its verdicts instead of
   * making the run INVALID (`--judge-saturated`). Default false. */
  judgeSaturated?: boolean;
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

/** Run id from the start time: `2026-11-26T14-30-05Z-quick`. */
export function makeRunId(startedAtMs: number, quick: boolean): string {
  const iso = new Date(startedAtMs)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
  return `${iso}-${quick ? 'quick' : 'full'}`;
}

/** The exit code of a run: 3 when interrupted, any scenario is not `ok`
 * or a verdict is SKIP (schema-1: an unmeasured threshold never passes),
 * else 1 when any verdict FAILed (or was NOISY with `noisyFails`), else 0.
 * N/A verdicts (unavailable, or optional and not measured) do not count.
 * With `judgeSaturated`, a scenario INVALID for generator saturation alone
 * counts as measured: its verdicts decide. */
export function runExitCode(
  scenarios: readonly (Pick<ScenarioResult, 'status' | 'verdicts'> & { invalidReasons?: readonly string[] })[],
  interrupted: boolean,
  opts: { noisyFails?: boolean; judgeSaturated?: boolean } = {},
): ExitCodeValue {
  const any = (level: Verdict['verdict']): boolean => scenarios.some((s) => s.verdicts.some((v) => v.verdict === level));
  const measured = (s: (typeof scenarios)[number]): boolean =>
    s.status === 'ok' || (opts.judgeSaturated === true && s.status === 'invalid' && invalidOnlyBySaturation(s.invalidReasons ?? []));
  if (interrupted || !scenarios.every(measured) || any('SKIP')) return ExitCode.INVALID_RUN;
  if (any('FAIL') || (opts.noisyFails === true && any('NOISY'))) return ExitCode.THRESHOLD_FAILED;
  return ExitCode.OK;
}

/**
 * Runs the scenarios and writes the reports. Validates first (planScenarios), so
 * bad input rejects with exit-2 errors before anything starts; a service
 * that cannot start rejects with InvalidRunError (exit 3) and no report.
 * Once services are up, it always resolves with the run and the report
 * paths, also when Ctrl-C interrupted it (then `run.interrupted` is true and
 * the report holds the scenarios that finished).
 */
export async function runBenchmark(opts: RunOptions): Promise<RunOutcome> {
  const now = opts.now ?? Date.now;
  const quick = opts.quick === true;
  const planned = await planScenarios(opts);
  const environmentP = collectEnvironment(engineVersions);

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
    printServices(services, opts.out);
    for (const [i, p] of planned.entries()) {
      if (opts.signal.aborted) break;
      opts.progress?.scenarioStarted(i + 1, planned.length, p.scenario.name);
      // One result per target, in target order.
      const results = await runScenario(p, services, opts, targets, summaries).finally(() => opts.progress?.scenarioFinished());
      for (const result of results) {
        scenarios.push(result);
        opts.out(renderScenarioTerminal(result, { wide: opts.wide === true }));
      }
    }
  } finally {
    opts.progress?.stop();
    await services.stop();
  }

  const interrupted = opts.signal.aborted;
  const exitCode = runExitCode(scenarios, interrupted, { noisyFails: opts.noisyFails === true, judgeSaturated: opts.judgeSaturated === true });
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
  const comparisons = buildComparisons(run);
  if (comparisons.length > 0) run.comparisons = comparisons;
  // With several targets the matrix by target replaces the summary, whose rows would not say which target they are.
  if (summary.length > 0 && comparisons.length === 0) opts.out(renderSummaryTerminal(summary, { wide: opts.wide === true }));
  if (comparisons.length > 0) opts.out(renderComparisonTerminal(run, { wide: opts.wide === true }));
  const { jsonPath, mdPath, htmlPath } = await writeReports(run, opts.reportsDir);
  opts.out(`${runStatusLine(run, planned.length)}\nreport: ${mdPath}\nhtml: ${htmlPath}\nresult: ${jsonPath}\n`);
  return { run, jsonPath, mdPath, exitCode };
}

/**
 * The run's last line: `status: PASS (exit 0)`, and when interrupted how
 * many of the `plannedCount` scenarios it reached, then every result that is
 * not `ok`. With several targets a scenario has a result per target, so
 * scenarios are counted by name and each result names its target.
 */
export function runStatusLine(run: Pick<RunResult, 'exitCode' | 'interrupted' | 'scenarios' | 'targets'>, plannedCount: number): string {
  const word = run.exitCode === ExitCode.OK ? 'PASS' : run.exitCode === ExitCode.THRESHOLD_FAILED ? 'FAIL' : 'INVALID';
  const severalTargets = (run.targets?.length ?? 0) > 1;
  const bad = run.scenarios.filter((s) => s.status !== 'ok').map((s) => `${s.name}${severalTargets ? ` on ${targetOf(s)}` : ''} ${s.status}`);
  const parts = [`status: ${word} (exit ${run.exitCode})`];
  if (run.interrupted) {
    const reached = new Set(run.scenarios.map((s) => s.name)).size;
    parts.push(`interrupted after ${reached} of ${plannedCount} scenarios; partial report`);
  }
  if (bad.length > 0) parts.push(bad.join(', '));
  return parts.join('; ');
}

function uniqueRunId(base: string, dir: string): string {
  let id = base;
  for (let i = 2; existsSync(path.join(dir, `${id}.json`)); i++) id = `${base}-${i}`;
  return id;
}

function printServices(services: ManagedServices, out: (text: string) => void): void {
  const origin = services.attached ? 'attached to running services' : 'services started';
  out(`${origin}\n${renderServiceTable(services.list())}\nmetrics: ${services.metricsUrl}\n`);
}
