/**
 * Thresholds checked against what the scenarios can measure, before any
 * load runs (k6 does the same). Wherever a threshold comes from (the
 * config's `thresholds`, a profile, a scenario file, a user's `--config`),
 * its scenario key must name a known scenario and every metric its
 * expressions name must be one the scenario's kind produces (the kind's
 * `metrics` list in harness/scenarios/, the one place metric names are
 * declared). Pure: returns issues with file, line and the known metrics.
 */
import { configSource, type LbbenchConfig, type ThresholdConfig } from '../../common/config.js';
import type { InputIssue } from '../../common/errors.js';
import { parseThresholdExpr } from '../../common/threshold-expr.js';
import { formatPath, type YamlSource } from '../../common/yaml-source.js';
import { kindProducesMetric, SCENARIO_KINDS } from '../scenarios/index.js';
import { itemAt } from '../../common/checked.js';

/**
 * Issues of `thresholds` (found at `prefix` in `source`, e.g.
 * `['thresholds']` of a scenario file or `['profiles', 'ci', 'lat_conn']` of
 * a config) whose `target` or `excellent` names a metric that scenarios of
 * `kind` never produce. Malformed expressions are the schema's to report.
 */
export function thresholdMetricIssues(
  source: Pick<YamlSource, 'file' | 'lineOf'>,
  prefix: readonly (string | number)[],
  kind: string,
  thresholds: readonly ThresholdConfig[],
  scenarioName?: string,
): InputIssue[] {
  const out: InputIssue[] = [];
  const known = SCENARIO_KINDS[kind]?.metrics ?? [];
  thresholds.forEach((t, i) => {
    for (const field of ['target', 'excellent'] as const) {
      const text = t[field];
      if (text === undefined) continue;
      const expr = parseThresholdExpr(text);
      if ('error' in expr || kindProducesMetric(kind, expr.metric)) continue;
      const p = [...prefix, i, field];
      const near = closestName(expr.metric, known);
      const who = scenarioName !== undefined && scenarioName !== kind ? `scenario ${scenarioName} (kind ${kind})` : `scenarios of kind ${kind}`;
      out.push({
        file: source.file,
        line: source.lineOf(p),
        path: formatPath(p),
        message:
          `unknown metric "${expr.metric}": not produced by ${who}` +
          `${near ? `; did you mean "${near}"?` : ''} (known metrics: ${known.join(', ')}${known.some((k) => k.includes('{n}')) ? '; {n} is a number, e.g. a connection count' : ''})`,
      });
    }
  });
  return out;
}

/**
 * Issues of a config's `thresholds` and every profile: a scenario key that
 * names no scenario in `known`, and metrics the scenario's kind does not
 * produce. `known` is every scenario the run could use (bundled, the
 * scenarios directory, files named on the command line).
 */
export function configThresholdIssues(config: LbbenchConfig, known: readonly { name: string; kind: string }[]): InputIssue[] {
  const source: Pick<YamlSource, 'file' | 'lineOf'> = configSource(config) ?? { file: '(config)', lineOf: () => undefined };
  const byName = new Map(known.map((s) => [s.name, s]));
  const sections: { prefix: string[]; set: Readonly<Record<string, readonly ThresholdConfig[]>> }[] = [
    { prefix: ['thresholds'], set: config.thresholds },
    ...Object.entries(config.profiles).map(([name, set]) => ({ prefix: ['profiles', name], set })),
  ];
  const out: InputIssue[] = [];
  for (const { prefix, set } of sections) {
    for (const [scenarioName, list] of Object.entries(set)) {
      const scenario = byName.get(scenarioName);
      const p = [...prefix, scenarioName];
      if (!scenario) {
        const names = [...byName.keys()].sort();
        const near = closestName(scenarioName, names);
        out.push({
          file: source.file,
          line: source.lineOf(p),
          path: formatPath(p),
          message: `unknown scenario "${scenarioName}"${near ? `; did you mean "${near}"?` : ''} (known scenarios: ${names.join(', ')})`,
        });
        continue;
      }
      out.push(...thresholdMetricIssues(source, p, scenario.kind, list, scenario.name));
    }
  }
  return out;
}

/** The known name within edit distance 2 of `name` (patterns with `{n}`
 * compared with the number put back), for "did you mean". */
function closestName(name: string, known: readonly string[]): string | undefined {
  const digits = /\d+$/.exec(name)?.[0];
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const candidate = digits !== undefined ? k.replace('{n}', digits) : k;
    const d = editDistance(name, candidate);
    if (d <= 2 && (!best || d < best.d)) best = { name: candidate, d };
  }
  return best?.name;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        itemAt(prev, j, 'prev[j]') + 1,
        itemAt(cur, j - 1, 'cur[j - 1]') + 1,
        itemAt(prev, j - 1, 'prev[j - 1]') + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return itemAt(prev, b.length, 'prev[b.length]');
}
