/**
 * Charts as data: what a figure shows (axes with units, series, event
 * markers), independent of how it is drawn. Builders (one file per figure,
 * see index.ts) are pure functions from the result JSON to Charts; the
 * Mermaid (mermaid.ts) and SVG (svg.ts) renderers draw them.
 */
import type { RunResult, ScenarioResult } from '../../result/scenario-api.js';
import { isPlainObject } from '../../../common/objects.js';

/** How a series is drawn. */
export type SeriesKind = 'line' | 'bar';

/** One point. On a `category` x axis, `x` is the index into `categories`. */
export interface ChartPoint {
  x: number;
  y: number;
}

/** One line or set of bars. */
export interface ChartSeries {
  /** Legend text, e.g. `lbbench p99`, `nginx p99`, `direct p99`. */
  name: string;
  kind: SeriesKind;
  /** Points in increasing x. */
  points: ChartPoint[];
  /** How a renderer that has to merge neighbouring points (Mermaid, which
   * takes few) combines them: `max` for peaks (errors, p99), else `mean`,
   * which keeps a per-bucket count per bucket. Default `mean`. */
  reduce?: 'max' | 'mean';
}

/**
 * The x axis scale:
 * - `linear`: numbers (time in s, connections, req/s);
 * - `percentile`: x is a percentile in [0, 100], drawn as HdrHistogram's
 *   plotter draws it, on a log scale of 1/(1-p) (so 90, 99, 99.9 are evenly
 *   spaced);
 * - `category`: x is an index into `categories` (backends, targets).
 */
export type XScale = 'linear' | 'percentile' | 'category';

/** An axis: what it measures and its unit (shown as `label (unit)`). */
export interface ChartAxis {
  label: string;
  /** e.g. `ms`, `s`, `MiB`, `GB/s`, `%`; empty for plain counts. */
  unit: string;
}

/** A vertical marker on the x axis, e.g. `kill backend-8002` at 10.01 s. */
export interface ChartMarker {
  x: number;
  label: string;
}

/** One figure. */
export interface Chart {
  /** Stable, unique in a report (`failover-requests`), used as the HTML id. */
  id: string;
  /** The scenario it belongs to (its section in the report). */
  scenario: string;
  title: string;
  x: ChartAxis & { scale: XScale; categories?: string[] };
  y: ChartAxis & { scale?: 'linear' | 'log' };
  series: ChartSeries[];
  markers: ChartMarker[];
  /** For renderers that can only draw evenly spaced categories (Mermaid): the
   * x values to sample the series at, with their labels. */
  ticks?: { x: number; label: string }[];
}

/**
 * One measured copy of a scenario: a target (with `--targets`), or one repeat
 * of it (with `--repeat`). Charts draw a series per variant, side by side.
 */
export interface ScenarioVariant {
  /** Series prefix: the target name, with `#n` per repeat (`nginx #2`). */
  label: string;
  target: string;
  /** 1-based repeat number, when the run kept each repeat. */
  repeat?: number;
  details: Record<string, unknown>;
  metrics: Record<string, number>;
  result: ScenarioResult;
}

/** Fields other streams add (targets, repeats); absent in schema-1 results. */
interface VariantFields {
  target?: string;
  repeats?: { metrics?: Record<string, number>; details?: Record<string, unknown> }[];
}

/** The scenario names of a run, in run order, each once. */
export function scenarioNames(run: Pick<RunResult, 'scenarios'>): string[] {
  return [...new Set(run.scenarios.map((s) => s.name))];
}

/** Every variant of scenario `name`: per target, and per repeat where kept. */
export function variantsOf(run: Pick<RunResult, 'scenarios'>, name: string): ScenarioVariant[] {
  const out: ScenarioVariant[] = [];
  for (const s of run.scenarios) {
    if (s.name !== name) continue;
    const extra = s as ScenarioResult & VariantFields;
    const target = typeof extra.target === 'string' ? extra.target : 'lbbench';
    const repeats = Array.isArray(extra.repeats) ? extra.repeats : [];
    if (repeats.length > 1) {
      repeats.forEach((r, i) =>
        out.push({ label: `${target} #${i + 1}`, target, repeat: i + 1, details: r.details ?? {}, metrics: r.metrics ?? {}, result: s }),
      );
    } else out.push({ label: target, target, details: s.details ?? {}, metrics: s.metrics ?? {}, result: s });
  }
  return out;
}

/** A record, or undefined (details are untyped JSON). */
export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return isPlainObject(v) ? v : undefined;
}

/** The records of an array, or [] when `v` is not one. */
export function asRecords(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.map(asRecord).filter((r): r is Record<string, unknown> => r !== undefined) : [];
}

/** A finite number, or undefined. */
export function asNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Points from records: `x(r)` and `y(r)`, skipping records where either is not a number; sorted by x. */
export function pointsOf(
  records: readonly Record<string, unknown>[],
  x: (r: Record<string, unknown>) => unknown,
  y: (r: Record<string, unknown>) => unknown,
): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const r of records) {
    const px = asNumber(x(r));
    const py = asNumber(y(r));
    if (px !== undefined && py !== undefined) points.push({ x: px, y: py });
  }
  return points.sort((a, b) => a.x - b.x);
}

/** A chart id safe for HTML ids and unique within a report. */
export function chartId(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
