/**
 * Formatting shared by the terminal and Markdown renderers: numbers, units,
 * and the derived tables (load runs, per-process CPU, gauges) that both show.
 * Pure; every function turns result data into ReportTables or strings.
 */
import type { LoadResult } from '../engines/engine.js';
import type { Environment, ReportTable, SamplingData, ScenarioResult, Verdict } from '../result/scenario-api.js';

/** A number for humans: integers as is, otherwise 2 decimals (3 significant digits below 1). */
export function formatNumber(n: number | undefined): string {
  if (n === undefined) return '—';
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  if (Math.abs(n) >= 1) return String(Number(n.toFixed(2)));
  return String(Number(n.toPrecision(3)));
}

/** Bytes as B, KiB, MiB or GiB with 1 decimal. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** µs as the most readable of µs, ms or s. */
export function formatUs(us: number): string {
  if (us < 1000) return `${formatNumber(us)} µs`;
  if (us < 1_000_000) return `${formatNumber(us / 1000)} ms`;
  return `${formatNumber(us / 1_000_000)} s`;
}

/** The verdict's measured value (`—` when not measured), with the reason
 * of an N/A or NOISY verdict in parentheses. */
export function formatMeasured(v: Verdict): string {
  const value = v.measured === undefined ? '—' : formatNumber(v.measured);
  return v.reason ? `${value} (${v.reason})` : value;
}

/** Sum of an error-count map. */
export function totalErrors(errors: Record<string, number>): number {
  let n = 0;
  for (const k in errors) n += errors[k] ?? 0;
  return n;
}

/** Which columns a derived table shows. */
export interface TableDetail {
  /** Every column, units in each cell (`--wide`, and the Markdown report). Default true. */
  wide?: boolean;
}

/**
 * One row per load run. Wide: engine and version, load model, resolution,
 * connections reached with the ramp, rates, latency, errors, generator CPU.
 * Compact (the terminal's default, fits 80 columns): units in the headers,
 * connections as the count reached (`987/1000` when short), latency as
 * `p50/p99` in ms, generator CPU as the total % with `SAT` when
 * it saturated; the rest is in `--wide`, the Markdown report and the JSON.
 */
export function loadsTable(loads: ScenarioResult['loads'], detail: TableDetail = {}): ReportTable {
  if (detail.wide === false) {
    return {
      title: 'Load runs',
      columns: ['load', 'engine', 'conn', 'req/s', 'p50/p99 ms', 'err', 'gen%'],
      rows: loads.map(({ label, result: r }) => [
        label,
        r.engine,
        r.connectionsEstablished === r.spec.connections ? String(r.connectionsEstablished) : `${r.connectionsEstablished}/${r.spec.connections}`,
        Math.round(r.achievedRate),
        `${formatMsCompact(r.latency.p50Us)}/${formatMsCompact(r.latency.p99Us)}`,
        totalErrors(r.errors),
        `${Math.round(r.generator.cpuPercent)}${r.generator.saturated ? ' SAT' : ''}`,
      ]),
    };
  }
  return {
    title: 'Load runs',
    columns: ['load', 'engine', 'model, resolution', 'connections (ramp)', 'req/s (target)', 'p50', 'p99', 'max', 'errors', 'generator CPU'],
    rows: loads.map(({ label, result: r }) => [
      label,
      `${r.engine} ${r.engineVersion}`,
      `${r.loadModel} loop, ${formatUs(r.latencyResolutionUs)}`,
      `${r.connectionsEstablished}/${r.spec.connections} (${formatNumber(r.connectRampMs)} ms)`,
      r.spec.rate === undefined ? formatNumber(r.achievedRate) : `${formatNumber(r.achievedRate)} (${formatNumber(r.spec.rate)})`,
      formatUs(r.latency.p50Us),
      formatUs(r.latency.p99Us),
      formatUs(r.latency.maxUs),
      formatErrors(r),
      formatGenerator(r),
    ]),
  };
}

/** µs as ms with 3 significant digits (`0.511`, `16.3`, `112`). */
function formatMsCompact(us: number): string {
  const ms = us / 1000;
  if (ms >= 100) return String(Math.round(ms));
  return String(Number(ms.toPrecision(3)));
}

function formatErrors(r: LoadResult): string {
  const total = totalErrors(r.errors);
  if (total === 0) return '0';
  const parts = Object.entries(r.errors)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return `${total} (${parts.join(', ')})`;
}

function formatGenerator(r: LoadResult): string {
  const g = r.generator;
  const base = `${formatNumber(g.cpuPercent)}% (${g.processes} proc, max ${formatNumber(g.maxProcessCpuPercent)}%)`;
  // The reason is long and already among the scenario's invalid reasons.
  return g.saturated ? `${base} SATURATED` : base;
}

/** Per process name: pids, samples, mean and max CPU (% of one core), max
 * RSS; undefined without samples. Compact (`wide: false`): more than two
 * pids become a count, RSS in MiB in the header. */
export function processTable(sampling: SamplingData | undefined, detail: TableDetail = {}): ReportTable | undefined {
  if (!sampling || sampling.processes.length === 0) return undefined;
  const byName = new Map<string, { pids: Set<number>; cpu: number[]; rssMax: number }>();
  for (const p of sampling.processes) {
    let e = byName.get(p.name);
    if (!e) byName.set(p.name, (e = { pids: new Set(), cpu: [], rssMax: 0 }));
    e.pids.add(p.pid);
    e.cpu.push(p.cpuPercent);
    e.rssMax = Math.max(e.rssMax, p.rssBytes);
  }
  if (detail.wide === false) {
    return {
      title: 'Processes (CPU % of one core)',
      columns: ['process', 'pids', 'samples', 'mean CPU%', 'max CPU%', 'max RSS(MiB)'],
      rows: [...byName].map(([name, e]) => [
        name,
        e.pids.size > 2 ? `${e.pids.size} pids` : [...e.pids].join(' '),
        e.cpu.length,
        formatNumber(e.cpu.reduce((a, b) => a + b, 0) / e.cpu.length),
        formatNumber(Math.max(...e.cpu)),
        (e.rssMax / 1024 ** 2).toFixed(1),
      ]),
    };
  }
  return {
    title: 'Processes (CPU % of one core)',
    columns: ['process', 'pids', 'samples', 'mean CPU %', 'max CPU %', 'max RSS'],
    rows: [...byName].map(([name, e]) => [
      name,
      [...e.pids].join(' '),
      e.cpu.length,
      formatNumber(e.cpu.reduce((a, b) => a + b, 0) / e.cpu.length),
      formatNumber(Math.max(...e.cpu)),
      formatBytes(e.rssMax),
    ]),
  };
}

/** Per gauge series: points, min, max, last; undefined without gauges. */
export function gaugeTable(sampling: SamplingData | undefined): ReportTable | undefined {
  const entries = Object.entries(sampling?.gauges ?? {}).filter(([, points]) => points.length > 0);
  if (entries.length === 0) return undefined;
  return {
    title: 'Gauges',
    columns: ['series', 'points', 'min', 'max', 'last'],
    rows: entries.map(([key, points]) => {
      const values = points.map((p) => p.value);
      return [key, points.length, formatNumber(Math.min(...values)), formatNumber(Math.max(...values)), formatNumber(values[values.length - 1])];
    }),
  };
}

/** The verdict columns shared by the summary and per-scenario tables. */
export const VERDICT_COLUMNS = ['metric', 'target', 'excellent', 'measured', 'verdict'] as const;

/** A verdict as a row of VERDICT_COLUMNS (verdict word last, uncoloured). */
export function verdictRow(v: Verdict): string[] {
  return [v.name, v.target, v.excellent ?? '—', formatMeasured(v), v.verdict];
}

/** The environment as key/value rows. */
export function environmentTable(env: Environment): ReportTable {
  const engines = Object.entries(env.engines)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return {
    title: 'Environment',
    columns: ['', ''],
    rows: [
      ['CPU', env.cpuModel],
      ['cores', env.cores],
      ['memory', formatBytes(env.memoryBytes)],
      ['kernel', env.kernel],
      ['platform', env.platform],
      ['Node', env.node],
      ['lbbench', env.lbbench],
      ['engines', engines || '—'],
      ['git commit', env.gitCommit ?? '—'],
      ['hostname', env.hostname],
    ],
  };
}
