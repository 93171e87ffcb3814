/**
 * Scenario files: YAML data in `scenarios/`, one benchmark each. A file
 * names its kind (a runner in harness/scenarios/), its settings (validated
 * by the kind's own schema at load time, so `lbbench validate` reports a bad
 * setting with its line), the overrides of its quick profile, thresholds
 * that replace the config's by name, and balancer overrides.
 *
 * ```yaml
 * name: failover              # letters, digits, "_"; what `lbbench run` takes
 * description: One line shown by `lbbench list`
 * kind: failover              # a key of SCENARIO_KINDS
 * order: 30                   # position in `run all` and `list`
 * settings: { rate: 1000 }    # full profile; unknown keys are errors
 * quick: { steadyMs: 3000 }   # deep-merged over settings with --quick
 * thresholds: []              # optional; replace config thresholds by name
 * lb: {}                      # optional; balancer overrides for this scenario
 * ```
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LbConfigSchema, ThresholdSchema, type LbConfig, type ThresholdConfig } from '../../common/config.js';
import { InputError, UsageError, type InputIssue } from '../../common/errors.js';
import { deepMerge, type DeepPartial } from '../../common/objects.js';
import { SCENARIOS_DIR } from '../../common/paths.js';
import { formatPath, readYamlFile, validateYaml, zodIssuesToInputIssues, type YamlSource } from '../../common/yaml-source.js';
import { SCENARIO_KINDS } from '../scenarios/index.js';
import { thresholdMetricIssues } from './threshold-check.js';
import { valueAt } from '../../common/checked.js';

/** A validated scenario file. */
export interface LoadedScenario {
  /** Unique name, e.g. `lat_conn`; what `lbbench run <name>` takes. */
  name: string;
  /** One line for `lbbench list`. */
  description: string;
  /** Key of SCENARIO_KINDS. */
  kind: string;
  /** Path of the file it was loaded from. */
  file: string;
  /** Sort key of `run all` and `list` (ascending; ties by name). */
  order: number;
  /** Settings of the full profile, as written (validated; defaults not filled). */
  settings: Record<string, unknown>;
  /** Overrides of `settings` for `--quick`, as written (validated). */
  quick: Record<string, unknown>;
  /** Thresholds that replace the config's of the same name. Default none. */
  thresholds: ThresholdConfig[];
  /** Balancer overrides for this scenario, as written (validated). Default `{}`. */
  lb: DeepPartial<LbConfig>;
}

const plainObject = z.record(z.string(), z.unknown());

/** The file's own shape; `settings`, `quick` and `lb` are checked in depth afterwards. */
const ScenarioFileSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected lower-case letters, digits and "_", starting with a letter'),
  description: z
    .string()
    .min(1)
    .max(120)
    .refine((d) => !/[\r\n]/.test(d.trim()), { message: 'expected one line' }),
  kind: z.string().refine((k) => Object.hasOwn(SCENARIO_KINDS, k), {
    message: `expected one of ${Object.keys(SCENARIO_KINDS).join(', ')}`,
  }),
  order: z.number().int(),
  settings: plainObject.default({}),
  quick: plainObject.default({}),
  thresholds: z.array(ThresholdSchema).default([]),
  lb: plainObject.default({}),
});

function hasPath(data: unknown, p: readonly PropertyKey[]): boolean {
  let cur: unknown = data;
  for (const key of p) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key as string)) return false;
    cur = (cur as Record<PropertyKey, unknown>)[key as string];
  }
  return true;
}

/** zod issues of a sub-document, re-rooted under `prefix` of the file. */
function issuesUnder(source: YamlSource, prefix: readonly PropertyKey[], issues: readonly z.core.$ZodIssue[]): InputIssue[] {
  return zodIssuesToInputIssues(
    source,
    issues.map((i) => ({ ...i, path: [...prefix, ...i.path] })),
  );
}

/** The issue's path, including the key of an unknown-key issue. */
function fullPath(i: z.core.$ZodIssue): PropertyKey[] {
  return i.code === 'unrecognized_keys' ? [...i.path, ...i.keys] : [...i.path];
}

/**
 * Settings: each profile is validated by the kind's schema. An issue of the
 * quick profile is reported at the line in `quick` when that key is set
 * there, otherwise it is the same issue as the full profile's.
 */
function settingsIssues(source: YamlSource, kind: string, settings: Record<string, unknown>, quick: Record<string, unknown>): InputIssue[] {
  const schema = valueAt(SCENARIO_KINDS, kind, `scenario kind ${kind}`).settingsSchema;
  const full = schema.safeParse(settings);
  const out = full.success ? [] : issuesUnder(source, ['settings'], full.error.issues);
  const seen = new Set(out.map((i) => `${i.path}|${i.message}`));
  const merged = schema.safeParse(deepMerge(settings, quick));
  if (!merged.success) {
    for (const issue of merged.error.issues) {
      const inQuick = hasPath(quick, issue.code === 'unrecognized_keys' ? fullPath(issue) : issue.path);
      if (inQuick) {
        out.push(...issuesUnder(source, ['quick'], [issue]));
        continue;
      }
      const asFull = issuesUnder(source, ['settings'], [issue]);
      for (const i of asFull) {
        if (seen.has(`${i.path}|${i.message}`)) continue;
        // Valid alone, invalid with the quick overrides (e.g. a cross-field rule).
        out.push({ ...i, line: source.lineOf(['quick']), message: `with the quick overrides: ${i.message}` });
      }
    }
  }
  return out;
}

/** Balancer overrides are validated by merging them into a minimal config,
 * so every key and value is checked by the real schema. */
function lbIssues(source: YamlSource, lb: Record<string, unknown>): InputIssue[] {
  const base = { backends: [{ name: 'placeholder', url: 'http://127.0.0.1:1' }] };
  const parsed = LbConfigSchema.safeParse(deepMerge(base, lb));
  return parsed.success ? [] : issuesUnder(source, ['lb'], parsed.error.issues);
}

/**
 * Loads and validates one scenario file. Throws InputError (exit 2) listing
 * every problem with file, line and field path: YAML syntax, the file's
 * shape, each setting against the kind's schema (full and quick profiles),
 * the balancer overrides, and thresholds on metrics the kind never produces.
 */
export function loadScenarioFile(file: string): LoadedScenario {
  const source = readYamlFile(file);
  const head = validateYaml(source, ScenarioFileSchema);
  const issues = [
    ...settingsIssues(source, head.kind, head.settings, head.quick),
    ...lbIssues(source, head.lb),
    ...thresholdMetricIssues(source, ['thresholds'], head.kind, head.thresholds),
  ];
  if (issues.length > 0) {
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new InputError(issues);
  }
  return {
    name: head.name,
    description: head.description.trim(),
    kind: head.kind,
    file,
    order: head.order,
    settings: head.settings,
    quick: head.quick,
    thresholds: head.thresholds,
    lb: head.lb as DeepPartial<LbConfig>,
  };
}

/**
 * Every scenario file (`*.yaml`, `*.yml`) in `dir` (default the bundled
 * `scenarios/`), sorted by `order`, then name. Problems in any file, and
 * names used twice, are collected into one InputError.
 */
export function listScenarios(dir: string = SCENARIOS_DIR): LoadedScenario[] {
  let entries: string[];
  try {
    entries = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch (err) {
    throw new InputError([{ file: dir, path: '', message: `cannot read the scenarios directory: ${(err as Error).message}` }], { cause: err });
  }
  const out: LoadedScenario[] = [];
  const issues: InputIssue[] = [];
  const byName = new Map<string, string>();
  for (const entry of entries) {
    const file = path.join(dir, entry);
    try {
      const s = loadScenarioFile(file);
      const other = byName.get(s.name);
      if (other !== undefined) {
        issues.push({ file, line: readYamlFile(file).lineOf(['name']), path: 'name', message: `"${s.name}" is also the name of ${other}` });
        continue;
      }
      byName.set(s.name, file);
      out.push(s);
    } catch (err) {
      if (err instanceof InputError) issues.push(...err.issues);
      else throw err;
    }
  }
  if (issues.length > 0) throw new InputError(issues);
  return out.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/**
 * The scenarios named, in the order given (duplicates dropped); `all`
 * anywhere means every scenario in file order. An unknown name throws
 * UsageError (exit 2) listing the valid ones; no name at all too.
 */
export function resolveScenarios(names: readonly string[], dir?: string): LoadedScenario[] {
  const all = listScenarios(dir);
  const valid = `valid names: ${[...all.map((s) => s.name), 'all'].join(', ')}`;
  if (names.length === 0) throw new UsageError(`name at least one scenario; ${valid}`);
  if (names.includes('all')) return all;
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new UsageError(`unknown scenario${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; ${valid}`);
  }
  return [...new Set(names)].map((n) => all.find((s) => s.name === n)!);
}

/**
 * The settings a run uses: the file's settings with the quick overrides
 * deep-merged when `quick`, parsed by the kind's schema (defaults filled).
 * Throws InputError when they do not validate (only for a LoadedScenario
 * built by hand; loaded files were validated already).
 */
export function scenarioSettings(s: LoadedScenario, quick: boolean): Record<string, unknown> {
  const kind = Object.hasOwn(SCENARIO_KINDS, s.kind) ? SCENARIO_KINDS[s.kind] : undefined;
  if (!kind) throw new InputError([{ file: s.file, path: 'kind', message: `unknown kind "${s.kind}"` }]);
  const input = quick ? deepMerge(s.settings, s.quick) : s.settings;
  const parsed = kind.settingsSchema.safeParse(input);
  if (!parsed.success) {
    throw new InputError(
      parsed.error.issues.map((i) => ({ file: s.file, path: formatPath([quick ? 'quick' : 'settings', ...fullPath(i)]), message: i.message })),
    );
  }
  return parsed.data as Record<string, unknown>;
}
