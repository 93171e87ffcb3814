/**
 * Terminal rendering (cli-table3). Pure apart from the colour default, which
 * follows whether stdout is a TTY (and NO_COLOR is unset).
 */
import Table from 'cli-table3';
import type { Environment, ReportTable, RunResult, ScenarioResult, ServiceInfo, Verdict, VerdictLevel } from '../result/scenario-api.js';
import { buildComparisons, targetNoteLines } from './comparison.js';
import { environmentTable, formatNumber, gaugeTable, loadsTable, processTable, VERDICT_COLUMNS, verdictRow } from './format.js';
import { scenarioStatus } from './summary.js';
import { DEFAULT_TABLE_WIDTH, fitTable, wrapText } from './table-fit.js';

/** Rendering options. */
export interface TerminalOptions {
  /** ANSI colours on verdicts and statuses. Default: stdout is a TTY and NO_COLOR is unset. */
  color?: boolean;
  /** Every column and whole cells, however wide (`--wide`). Default false:
   * compact columns, and each table fitted to `width` (table-fit.ts). */
  wide?: boolean;
  /** Terminal columns tables are fitted to when not `wide`. Default 80. */
  width?: number;
}

function useColor(opts: TerminalOptions | undefined): boolean {
  return opts?.color ?? (process.stdout.isTTY === true && !process.env['NO_COLOR']);
}

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
function paint(text: string, style: keyof typeof ANSI, color: boolean): string {
  return color ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text;
}

const LEVEL_STYLE: Record<VerdictLevel | 'INVALID' | 'ERROR' | 'INTERRUPTED', keyof typeof ANSI> = {
  EXCELLENT: 'green',
  PASS: 'green',
  FAIL: 'red',
  NOISY: 'yellow',
  'N/A': 'dim',
  SKIP: 'yellow',
  INVALID: 'red',
  ERROR: 'red',
  INTERRUPTED: 'yellow',
};

/** A status word (verdict level or scenario/run status), coloured when `color`. */
export function paintStatus(word: string, color: boolean): string {
  const style = LEVEL_STYLE[word as keyof typeof LEVEL_STYLE];
  return style ? paint(word, style, color) : word;
}

/** Drawing options of one table: fitted to `width` unless `wide`. */
type Layout = Pick<TerminalOptions, 'wide' | 'width'>;

function table(columns: readonly string[], rows: readonly (readonly (string | number)[])[], layout: Layout = {}): string {
  const text = { columns: [...columns], rows: rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c))) };
  const blocks = layout.wide === true ? [text] : fitTable(text, { width: layout.width ?? DEFAULT_TABLE_WIDTH });
  return blocks.map(drawBoxed).join('\n');
}

function drawBoxed(t: { columns: string[]; rows: string[][] }): string {
  // Empty style lists: cli-table3 would otherwise colour headers even when piped.
  // All-empty column names (key/value tables) mean no header row.
  const head = t.columns.some((c) => c !== '') ? t.columns : [];
  const out = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const r of t.rows) out.push(r);
  return out.toString();
}

/** A ReportTable: its title on one line, then the table (fitted to 80
 * columns unless `wide`, see TerminalOptions). */
export function renderTable(t: ReportTable, layout: Layout = {}): string {
  return `${fitLine(t.title, layout)}\n${table(t.columns, t.rows, layout)}`;
}

/** A line of text wrapped at word boundaries to the layout's width (unless wide). */
function fitLine(text: string, layout: Layout): string {
  return layout.wide === true ? text : wrapText(text, layout.width ?? DEFAULT_TABLE_WIDTH);
}

/**
 * One scenario: title and status, its own tables, the load runs (load model,
 * engine, latency resolution, connections reached, generator CPU), the
 * per-process CPU summary and gauges, invalid reasons, and its verdicts.
 */
export function renderScenarioTerminal(s: ScenarioResult, opts?: TerminalOptions): string {
  const color = useColor(opts);
  const layout: Layout = opts ?? {};
  const out: string[] = [];
  const on = s.target !== undefined && s.target !== 'lbbench' ? ` on ${s.target}` : '';
  const heading = fitLine(`== ${s.name}${on} ==${s.description ? ` ${s.description}` : ''}`, layout);
  out.push(heading.replace(`== ${s.name}${on} ==`, paint(`== ${s.name}${on} ==`, 'bold', color)));
  out.push(`status: ${paintStatus(scenarioStatus(s), color)}  (${formatNumber(s.durationMs / 1000)} s)`);
  if (s.error) out.push(paint(`error: ${s.error}`, 'red', color));
  for (const reason of s.invalidReasons) out.push(paint(`invalid: ${reason}`, 'red', color));
  const compact = { wide: layout.wide === true };
  for (const t of s.tables) out.push(renderTable(t, layout));
  if (s.loads.length > 0) out.push(renderTable(loadsTable(s.loads, compact), layout));
  for (const t of [processTable(s.sampling, compact), gaugeTable(s.sampling)]) if (t) out.push(renderTable(t, layout));
  if (s.verdicts.length > 0) out.push(`Verdicts\n${verdictTable(s.verdicts, color, layout)}`);
  return out.join('\n') + '\n';
}

function verdictTable(rows: readonly Verdict[], color: boolean, layout: Layout = {}): string {
  return table(
    VERDICT_COLUMNS,
    rows.map((v) => {
      const r = verdictRow(v);
      if (layout.wide !== true) {
        // Compact: the expressions without the metric key they all start with
        // (`< 20` for `p99_ms_c1000 < 20`), so the summary fits 80 columns;
        // the named check says what is measured, --wide shows the keys.
        r[VERDICT_COLUMNS.indexOf('target')] = withoutMetric(v.target, v.metric);
        if (v.excellent !== undefined) r[VERDICT_COLUMNS.indexOf('excellent')] = withoutMetric(v.excellent, v.metric);
      }
      r[r.length - 1] = paintStatus(v.verdict, color);
      return r;
    }),
    layout,
  );
}

function withoutMetric(expression: string, metric: string): string {
  return expression.startsWith(`${metric} `) ? expression.slice(metric.length + 1) : expression;
}

/** The final summary: metric | target | excellent | measured | verdict. */
export function renderSummaryTerminal(rows: readonly Verdict[], opts?: TerminalOptions): string {
  const layout: Layout = opts ?? {};
  return `Summary\n${verdictTable(rows, useColor(opts), layout)}\n`;
}

/** The processes the harness started: name | role | pid | url. */
export function renderServiceTable(services: readonly ServiceInfo[]): string {
  return table(
    ['name', 'role', 'pid', 'url'],
    services.map((s) => [s.name, s.role, String(s.pid), s.url]),
  );
}

/** The environment as a two-column table. */
export function renderEnvironmentTerminal(env: Environment, layout: Layout = {}): string {
  return renderTable(environmentTable(env), layout);
}

/** With several targets: the targets and their notes, each scenario's
 * comparison table and the guide's five targets by target. */
export function renderComparisonTerminal(run: Pick<RunResult, 'targets' | 'scenarios' | 'comparisons'>, layout: Layout = {}): string {
  const tables = run.comparisons ?? buildComparisons(run);
  if (tables.length === 0) return '';
  const notes = targetNoteLines(run);
  return `Targets\n${notes.join('\n')}\n\n${tables.map((t) => renderTable(t, layout)).join('\n\n')}\n`;
}
