/**
 * Terminal rendering (cli-table3). Pure apart from the colour default, which
 * follows whether stdout is a TTY (and NO_COLOR is unset).
 */
import Table from 'cli-table3';
import type { Environment, ReportTable, RunResult, ScenarioResult, ServiceInfo, Verdict, VerdictLevel } from '../scenario-api.js';
import { buildComparisons, targetNoteLines } from './comparison.js';
import { environmentTable, formatNumber, gaugeTable, loadsTable, processTable, VERDICT_COLUMNS, verdictRow } from './format.js';
import { scenarioStatus } from './summary.js';

/** Rendering options. */
export interface TerminalOptions {
  /** ANSI colours on verdicts and statuses. Default: stdout is a TTY and NO_COLOR is unset. */
  color?: boolean;
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

function table(columns: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  // Empty style lists: cli-table3 would otherwise colour headers even when piped.
  // All-empty column names (key/value tables) mean no header row.
  const head = columns.some((c) => c !== '') ? [...columns] : [];
  const t = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const r of rows) t.push(r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  return t.toString();
}

/** A ReportTable: its title on one line, then the table. */
export function renderTable(t: ReportTable): string {
  return `${t.title}\n${table(t.columns, t.rows)}`;
}

/**
 * One scenario: title and status, its own tables, the load runs (load model,
 * engine, latency resolution, connections reached, generator CPU), the
 * per-process CPU summary and gauges, invalid reasons, and its verdicts.
 */
export function renderScenarioTerminal(s: ScenarioResult, opts?: TerminalOptions): string {
  const color = useColor(opts);
  const out: string[] = [];
  const on = s.target !== undefined && s.target !== 'lbbench' ? ` on ${s.target}` : '';
  out.push(paint(`== ${s.name}${on} ==`, 'bold', color) + (s.description ? ` ${s.description}` : ''));
  out.push(`status: ${paintStatus(scenarioStatus(s), color)}  (${formatNumber(s.durationMs / 1000)} s)`);
  if (s.error) out.push(paint(`error: ${s.error}`, 'red', color));
  for (const reason of s.invalidReasons) out.push(paint(`invalid: ${reason}`, 'red', color));
  for (const t of s.tables) out.push(renderTable(t));
  if (s.loads.length > 0) out.push(renderTable(loadsTable(s.loads)));
  for (const t of [processTable(s.sampling), gaugeTable(s.sampling)]) if (t) out.push(renderTable(t));
  if (s.verdicts.length > 0) out.push(`Verdicts\n${verdictTable(s.verdicts, color)}`);
  return out.join('\n') + '\n';
}

function verdictTable(rows: readonly Verdict[], color: boolean): string {
  return table(
    VERDICT_COLUMNS,
    rows.map((v) => {
      const r = verdictRow(v);
      r[r.length - 1] = paintStatus(v.verdict, color);
      return r;
    }),
  );
}

/** The final summary: metric | target | excellent | measured | verdict. */
export function renderSummaryTerminal(rows: readonly Verdict[], opts?: TerminalOptions): string {
  return `Summary\n${verdictTable(rows, useColor(opts))}\n`;
}

/** The processes the harness started: name | role | pid | url. */
export function renderServiceTable(services: readonly ServiceInfo[]): string {
  return table(
    ['name', 'role', 'pid', 'url'],
    services.map((s) => [s.name, s.role, String(s.pid), s.url]),
  );
}

/** The environment as a two-column table. */
export function renderEnvironmentTerminal(env: Environment): string {
  return renderTable(environmentTable(env));
}

/** With several targets: the targets and their notes, each scenario's
 * comparison table and the guide's five targets by target. */
export function renderComparisonTerminal(run: Pick<RunResult, 'targets' | 'scenarios' | 'comparisons'>): string {
  const tables = run.comparisons ?? buildComparisons(run);
  if (tables.length === 0) return '';
  const notes = targetNoteLines(run);
  return `Targets\n${notes.join('\n')}\n\n${tables.map(renderTable).join('\n\n')}\n`;
}
