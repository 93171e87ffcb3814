/**
 * Side-by-side comparison of targets (pure): for every scenario, one table
 * with a row per figure, a column for the direct-to-backend baseline and
 * one per target, each target's figure followed by its ratio to the best
 * target; and a summary matrix of the guide's five headline targets by
 * target. Built as ReportTables, so the terminal and Markdown renderers
 * print them like any other table.
 */
import { parseThresholdExpr } from '../../common/threshold-expr.js';
import type { ReportTable, RunResult, SamplingData, ScenarioResult, Verdict } from '../result/scenario-api.js';
import { formatNumber } from './format.js';
import { GUIDE_HEADLINES, guideHeadlineOf } from './summary.js';
import { itemAt } from '../../common/checked.js';
import { finiteMedian } from '../../common/stats.js';

/** Which way a figure is better. */
export type Direction = 'higher' | 'lower';

/** Figures whose name says they are better small. */
const LOWER_IS_BETTER = /(_ms(_|$)|latency|error|deviation|rss|detection|recovery|restart|_kb|drift|disagreement|_us_|cpu)/;
/** Figures whose name says they are better large. */
const HIGHER_IS_BETTER = /(per_second|gigabytes|_ratio|rps|reuse|connections_peak|max_conn|established|capacity|requests_per)/;

/**
 * Which way `metric` is better: from a threshold on it (`<` means lower),
 * else from its name; undefined when neither tells (no ratio is shown).
 */
export function metricDirection(metric: string, thresholds: readonly { target: string }[] = []): Direction | undefined {
  for (const t of thresholds) {
    const parsed = parseThresholdExpr(t.target);
    if ('error' in parsed || parsed.metric !== metric) continue;
    if (parsed.op === '<' || parsed.op === '<=') return 'lower';
    if (parsed.op === '>' || parsed.op === '>=') return 'higher';
  }
  // p99_ratio (to direct) is a latency: lower is better.
  if (/^p\d+.*_ratio/.test(metric)) return 'lower';
  if (HIGHER_IS_BETTER.test(metric)) return 'higher';
  if (LOWER_IS_BETTER.test(metric)) return 'lower';
  return undefined;
}

/**
 * The balancer's CPU per request it served, µs: CPU seconds of the `lb`
 * processes over the scenario (from the sampler) over the requests of the
 * loads not labelled `direct`. Undefined without samples or requests.
 */
export function lbCpuUsPerRequest(s: Pick<ScenarioResult, 'sampling' | 'loads'>): number | undefined {
  const cpuS = lbCpuSeconds(s.sampling);
  const requests = s.loads.filter((l) => !/^direct/.test(l.label)).reduce((n, l) => n + l.result.requests, 0);
  if (cpuS === undefined || requests === 0) return undefined;
  return (cpuS / requests) * 1e6;
}

function lbCpuSeconds(sampling: SamplingData | undefined): number | undefined {
  if (!sampling) return undefined;
  const lastAt = new Map<number, number>();
  let total = 0;
  let any = false;
  for (const p of sampling.processes) {
    if (p.name !== 'lb' && !p.name.startsWith('lb-worker-')) continue;
    const prev = lastAt.get(p.pid);
    lastAt.set(p.pid, p.atMs);
    // The first sample of a pid has no known interval start; it is skipped.
    if (prev === undefined) continue;
    total += (p.cpuPercent / 100) * ((p.atMs - prev) / 1000);
    any = true;
  }
  return any ? total : undefined;
}

/** The target's name of a result (schema 1: lbbench). */
export function targetOf(s: Pick<ScenarioResult, 'target'>): string {
  return s.target ?? 'lbbench';
}

/** Column name of the balancer's CPU per request. */
export const CPU_PER_REQUEST_FIGURE = 'lb_cpu_us_per_request';

/**
 * One scenario's comparison: rows are its figures (every metric any target
 * produced, `direct_*` metrics going to the direct column of the figure
 * they baseline, plus the balancer's CPU per request); cells are the
 * target's value and `(xR)` its ratio to the best target's (1 for the
 * best), N/A where the target cannot measure it (the reason is in its
 * notes and its verdict). `results`
 * are that scenario's results, one per target, in target order.
 */
export function scenarioComparison(results: readonly ScenarioResult[]): ReportTable {
  const name = results[0]?.name ?? '';
  const targets = results.map(targetOf);
  const figures: string[] = [];
  const add = (m: string): void => void (figures.includes(m) ? undefined : figures.push(m));
  for (const r of results) for (const m of Object.keys(r.metrics)) if (!m.startsWith('direct_')) add(m);
  for (const r of results) for (const m of Object.keys(r.unavailable ?? {})) if (!m.startsWith('direct_')) add(m);
  const cpu = results.map(lbCpuUsPerRequest);
  const thresholds = results.flatMap((r) => r.thresholds);
  const rows: (string | number)[][] = [];
  const addRow = (figure: string, values: (number | undefined)[], direct: number | undefined): void => {
    const dir = metricDirection(figure, thresholds);
    const defined = values.filter((v): v is number => v !== undefined);
    const best = dir === undefined || defined.length === 0 ? undefined : dir === 'higher' ? Math.max(...defined) : Math.min(...defined);
    const cells = values.map((v, i) => {
      const na = itemAt(results, i, 'results[i]').unavailable?.[figure];
      // The reason is in the target's notes and the verdict; the cell stays narrow.
      if (v === undefined)
        return na !== undefined ? 'N/A' : itemAt(results, i, 'results[i]').status === 'ok' ? '—' : itemAt(results, i, 'results[i]').status.toUpperCase();
      return `${formatNumber(v)}${ratioText(v, best, dir)}`;
    });
    rows.push([figure, direct === undefined ? '—' : formatNumber(direct), ...cells]);
  };
  for (const f of figures) {
    const direct = finiteMedian(results.map((r) => r.metrics[`direct_${f}`]).filter((v): v is number => v !== undefined));
    addRow(
      f,
      results.map((r) => r.metrics[f]),
      direct,
    );
  }
  if (cpu.some((c) => c !== undefined))
    addRow(
      CPU_PER_REQUEST_FIGURE,
      cpu.map((c) => (c === undefined ? undefined : Math.round(c * 10) / 10)),
      undefined,
    );
  rows.push([
    'status',
    '',
    ...results.map((r) => (r.status === 'ok' ? (r.verdicts.some((v) => v.verdict === 'FAIL') ? 'FAIL' : 'ok') : r.status.toUpperCase())),
  ]);
  return {
    title: `Comparison: ${name} (value (xratio to the best target); direct = straight to one backend)`,
    columns: ['FIGURE', 'direct', ...targets],
    rows,
  };
}

function ratioText(v: number, best: number | undefined, dir: Direction | undefined): string {
  if (best === undefined || dir === undefined) return '';
  // Ratios of figures where 0 is the best (errors, restarts) say nothing.
  if (best === 0 || v === 0) return v === best ? ' (best)' : '';
  return ` (x${formatNumber(Math.round((v / best) * 100) / 100)})`;
}

/** Every threshold by target, the guide's five headline targets first:
 * measured value and verdict, or N/A. */
export function targetSummaryMatrix(scenarios: readonly ScenarioResult[], targetNames: readonly string[]): ReportTable {
  const cell = (v: Verdict | undefined): string => {
    if (!v) return '—';
    if (v.verdict === 'N/A') return 'N/A';
    return v.measured === undefined ? v.verdict : `${formatNumber(v.measured)} ${v.verdict}`;
  };
  // The guide's five first (by metric), then every other threshold of the run by name, in run order.
  const all = scenarios.flatMap((s) => s.verdicts);
  const others = [...new Set(all.filter((v) => guideHeadlineOf(v) === undefined).map((v) => v.name))];
  const rows = [
    ...GUIDE_HEADLINES.map((h) => ({ label: h.label, matches: (v: Verdict): boolean => guideHeadlineOf(v) === h })),
    ...others.map((name) => ({ label: name, matches: (v: Verdict): boolean => v.name === name && guideHeadlineOf(v) === undefined })),
  ].map(({ label, matches }) => {
    const threshold = all.find(matches);
    return [
      threshold?.name ?? label,
      threshold?.target ?? '—',
      ...targetNames.map((t) =>
        cell(
          scenarios
            .filter((s) => targetOf(s) === t)
            .flatMap((s) => s.verdicts)
            .find(matches),
        ),
      ),
    ];
  });
  return { title: "Verdicts by target (the guide's five targets first)", columns: ['TARGET METRIC', 'threshold', ...targetNames], rows };
}

/**
 * Every comparison table of a run with more than one target: one per
 * scenario (in run order), then the summary matrix. Empty for one target.
 */
export function buildComparisons(run: Pick<RunResult, 'scenarios' | 'targets'>): ReportTable[] {
  const names = run.targets?.map((t) => t.name) ?? [...new Set(run.scenarios.map(targetOf))];
  if (names.length < 2) return [];
  const byScenario = new Map<string, ScenarioResult[]>();
  for (const s of run.scenarios) {
    let list = byScenario.get(s.name);
    if (!list) byScenario.set(s.name, (list = []));
    list.push(s);
  }
  const tables: ReportTable[] = [];
  for (const results of byScenario.values()) {
    // The median over repeats is already in metrics; one column per target in run order.
    const perTarget = names.map((t) => results.find((r) => targetOf(r) === t)).filter((r): r is ScenarioResult => r !== undefined);
    tables.push(scenarioComparison(perTarget));
  }
  tables.push(targetSummaryMatrix(run.scenarios, names));
  return tables;
}

/** Notes of each target (e.g. nginx's passive health checks), as lines. */
export function targetNoteLines(run: Pick<RunResult, 'targets'>): string[] {
  return (run.targets ?? []).flatMap((t) => [`${t.name} (${t.kind}${t.version ? `, ${t.version}` : ''})`, ...t.notes.map((n) => `  - ${n}`)]);
}
