/**
 * The plan of a run: everything that can be checked before a process
 * starts. Which scenario files a `run` names, each one's kind and its
 * settings parsed by that kind's schema (quick overrides applied, defaults
 * filled), its thresholds (config < scenario < profile, every expression
 * parsed) and the `--engine` override. Bad input throws UsageError or
 * InputError (exit 2); the plan is plain data for the run loop
 * (harness/run/run-loop.ts).
 */
import type { LbbenchConfig, ThresholdConfig } from '../../common/config.js';
import { InputError, LbbenchError, UsageError } from '../../common/errors.js';
import type { EngineName, LoadEngine } from '../engines/engine.js';
import { getEngine } from '../engines/index.js';
import { judge, resolveThresholds } from '../judge/thresholds.js';
import { SCENARIO_KINDS, type ScenarioKind } from '../scenarios/index.js';
import { listScenarios, loadScenarioFile, resolveScenarios, scenarioSettings, type LoadedScenario } from './scenario-file.js';
import { configThresholdIssues } from './threshold-check.js';

/** A scenario ready to run: its kind, its parsed settings and its thresholds. */
export interface PlannedScenario {
  scenario: LoadedScenario;
  /** The kind named by the file; its runner gets `settings`. */
  kind: ScenarioKind;
  /** The settings of the chosen profile, parsed by `kind.settingsSchema`
   * (defaults filled); also recorded in the result. */
  settings: Record<string, unknown>;
  thresholds: ThresholdConfig[];
}

/** What planScenarios needs to know. */
export interface PlanOptions {
  config: LbbenchConfig;
  scenarios: readonly LoadedScenario[];
  /** Quick settings (the files' `quick` overrides). Default false. */
  quick?: boolean;
  /** Threshold profile from `config.profiles`, e.g. `ci`. */
  thresholdProfile?: string;
  /** Run every load with this engine instead of the scenario's choice. */
  engine?: EngineName;
  /** Every scenario the config's thresholds may name (bundled, the
   * scenarios directory, files given). Default: the bundled scenarios and
   * `scenarios`. */
  knownScenarios?: readonly LoadedScenario[];
}

/**
 * Plans each scenario: its kind, settings and thresholds, and checks the
 * `--engine` override. Throws UsageError or InputError (exit 2) listing
 * every problem, including a config or profile threshold that names an
 * unknown scenario or a metric its kind never produces.
 */
export async function planScenarios(opts: PlanOptions): Promise<PlannedScenario[]> {
  // Every threshold of the config and its profiles must name a known
  // scenario and a metric that scenario's kind produces, whichever scenarios
  // this run selects: a misspelt threshold is an error, not a silent pass.
  const issues: InputError['issues'][number][] = configThresholdIssues(opts.config, opts.knownScenarios ?? [...listScenarios(), ...opts.scenarios]);
  const planned: PlannedScenario[] = [];
  for (const scenario of opts.scenarios) {
    const kind = Object.hasOwn(SCENARIO_KINDS, scenario.kind) ? SCENARIO_KINDS[scenario.kind] : undefined;
    if (!kind) {
      issues.push({ file: scenario.file, path: 'kind', message: `unknown kind "${scenario.kind}"; known kinds: ${Object.keys(SCENARIO_KINDS).join(', ')}` });
      continue;
    }
    const thresholds = resolveThresholds(opts.config, scenario.name, scenario.thresholds, opts.thresholdProfile);
    // judge() parses every expression; over no metrics every verdict is N/A,
    // so this throws exactly when an expression is malformed.
    judge(scenario.name, {}, thresholds);
    planned.push({ scenario, kind, settings: scenarioSettings(scenario, opts.quick === true), thresholds });
  }
  if (issues.length > 0) throw new InputError(issues);
  if (opts.engine !== undefined) await requireEngine(opts.engine, opts.config);
  return planned;
}

/**
 * The engine `name`, configured from `config`; throws UsageError (exit 2)
 * when it is unknown or not available on this machine (getEngine checks
 * both, with the install hint).
 */
export async function requireEngine(name: string, config: LbbenchConfig): Promise<LoadEngine> {
  try {
    return await getEngine(name, { generatorCpuLimitPercent: config.harness.generatorCpuLimitPercent });
  } catch (err) {
    if (err instanceof LbbenchError) throw err;
    throw new UsageError(`engine "${name}": ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The scenarios a `run` names: `all`, bundled names (or names in `dir`), and
 * paths of scenario files (ending in `.yaml` or `.yml`), in the order given.
 * Throws UsageError listing the valid names, or InputError for a bad file.
 */
export function selectScenarios(names: readonly string[], dir?: string): LoadedScenario[] {
  const isFile = (n: string): boolean => /\.ya?ml$/i.test(n);
  const byName = names.some((n) => !isFile(n))
    ? resolveScenarios(
        names.filter((n) => !isFile(n)),
        dir,
      )
    : [];
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
