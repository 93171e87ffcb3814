/**
 * The Markdown report (GitHub-flavoured), for pull requests and CI
 * artifacts. A pure function of the stored RunResult, so `lbbench report`
 * renders the same text from the JSON later.
 */
import type { ReportTable, RunResult, ScenarioResult, Verdict } from '../result/scenario-api.js';
import { scenarioCharts } from './charts/index.js';
import { renderMermaidChart } from './charts/mermaid.js';
import { environmentTable, formatNumber, gaugeTable, loadsTable, processTable, VERDICT_COLUMNS, verdictRow } from './format.js';
import { buildComparisons } from './comparison.js';
import { overallStatus, runSummary, scenarioStatus } from './summary.js';

/** Escapes a table cell: `|` (also inside code spans, as GFM requires), backslashes before it, and line breaks. */
export function escapeCell(text: string): string {
  return text
    .replace(/\\(?=\|)/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, '<br>');
}

/** A code span that survives backticks in `text`. */
function code(text: string): string {
  if (text === '') return '';
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = longest > 0 ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A fenced block that survives fences in `text`. */
function fenced(text: string, info = 'text'): string {
  const longest = Math.max(0, ...(text.match(/`{3,}/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}

function mdTable(columns: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (c: string | number): string => escapeCell(typeof c === 'number' ? formatNumber(c) : c);
  const head = `| ${columns.map(cell).join(' | ')} |`;
  const rule = `|${columns.map(() => '---').join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** A ReportTable as a bold title line and a GFM table. */
export function renderTableMarkdown(t: ReportTable): string {
  return `**${escapeInline(t.title)}**\n\n${mdTable(t.columns, t.rows)}`;
}

/** Escapes what would start Markdown markup in running text, leaving
 * intraword `_` (metric names) and mid-line `>`/`#` readable. */
function escapeInline(text: string): string {
  return text
    .replace(/([\\`*[\]<|])/g, '\\$1')
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/^([#>])/, '\\$1');
}

/** FAIL in bold so it stands out in a long table. */
const VERDICT_MARK: Record<Verdict['verdict'], string> = {
  EXCELLENT: 'EXCELLENT',
  PASS: 'PASS',
  FAIL: '**FAIL**',
  NOISY: '_NOISY_',
  'N/A': 'N/A',
  SKIP: 'SKIP',
};

function verdictTable(rows: readonly Verdict[], withScenario: boolean): string {
  const columns = withScenario ? [...VERDICT_COLUMNS, 'scenario'] : [...VERDICT_COLUMNS];
  return mdTable(
    columns,
    rows.map((v) => {
      const [name, target, excellent, measured] = verdictRow(v);
      const r = [name!, code(target!), v.excellent === undefined ? '—' : code(excellent!), measured!, VERDICT_MARK[v.verdict]];
      if (withScenario) r.push(v.scenario);
      return r;
    }),
  );
}

/**
 * The whole report: overall status (PASS/FAIL/INVALID, and INTERRUPTED), a
 * summary of every target with its verdict (the guide's five first), a
 * section per scenario, the environment, and what the load models mean.
 */
export function renderMarkdown(run: RunResult): string {
  const status = overallStatus(run);
  const out: string[] = [];
  out.push(`# lbbench report ${escapeInline(run.runId)}`);
  out.push(
    [
      `**Status: ${status}**${run.interrupted ? ' — **INTERRUPTED** (stopped before all scenarios finished)' : ''}`,
      '',
      `- Command: ${code(run.command)}`,
      `- Started: ${run.startedAt}, finished: ${run.finishedAt}`,
      `- Profile: ${run.profile}${run.thresholdProfile ? `, threshold profile: ${code(run.thresholdProfile)}` : ''}`,
      `- Exit code: ${run.exitCode}`,
    ].join('\n'),
  );

  out.push('## Summary');
  const summary = runSummary(run);
  out.push(summary.length > 0 ? verdictTable(summary, true) : '_No thresholds were judged._');
  const unusable = run.scenarios.filter((s) => s.status !== 'ok');
  if (unusable.length > 0) {
    out.push(unusable.map((s) => `- ${code(s.name)}: **${scenarioStatus(s)}**${firstReason(s)}`).join('\n'));
  }

  const comparisons = run.comparisons ?? buildComparisons(run);
  if (comparisons.length > 0) {
    out.push('## Targets');
    out.push(
      (run.targets ?? [])
        .map((t) => `- ${code(t.name)} (${t.kind}${t.version ? `, ${escapeInline(t.version)}` : ''})${t.notes.map((n) => `\n  - ${escapeInline(n)}`).join('')}`)
        .join('\n'),
    );
    for (const t of comparisons) out.push(renderTableMarkdown(t));
  }

  out.push('## Scenarios');
  if (run.scenarios.length === 0) out.push('_No scenario ran._');
  const charted = new Set<string>();
  for (const s of run.scenarios) {
    out.push(renderScenarioSection(s, comparisons.length > 0));
    // One set of charts per scenario name: they draw every target and repeat.
    if (!charted.has(s.name)) {
      charted.add(s.name);
      const charts = scenarioCharts(run, s.name)
        .map(renderMermaidChart)
        .filter((c): c is string => c !== undefined);
      if (charts.length > 0) out.push(`**Charts**\n\n${charts.join('\n\n')}`);
    }
  }

  out.push('## Environment');
  const env = environmentTable(run.environment);
  out.push(mdTable(['', ''], env.rows));

  out.push('## Load models');
  out.push(LOAD_MODEL_TEXT);
  return out.join('\n\n') + '\n';
}

function firstReason(s: ScenarioResult): string {
  const reason = s.error ?? s.invalidReasons[0];
  return reason ? `: ${escapeInline(reason)}` : '';
}

function renderScenarioSection(s: ScenarioResult, withTarget: boolean): string {
  const out: string[] = [];
  out.push(`### ${escapeInline(s.name)}${withTarget ? ` on ${escapeInline(s.target ?? 'lbbench')}` : ''} — ${scenarioStatus(s)}`);
  if (s.description) out.push(escapeInline(s.description));
  out.push(`Started ${s.startedAt}, took ${formatNumber(s.durationMs / 1000)} s.`);
  if (s.error) out.push(`**Error:** ${escapeInline(s.error)}`);
  if (s.invalidReasons.length > 0) {
    out.push(`**Invalid:**\n\n${s.invalidReasons.map((r) => `- ${escapeInline(r)}`).join('\n')}`);
  }
  const settings = Object.entries(s.settings);
  if (settings.length > 0) {
    out.push(
      `**Settings**\n\n${mdTable(
        ['setting', 'value'],
        settings.map(([k, v]) => [k, code(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)))]),
      )}`,
    );
  }
  if (s.loads.length > 0) out.push(renderTableMarkdown(loadsTable(s.loads)));
  for (const t of s.tables) out.push(renderTableMarkdown(t));
  for (const t of [processTable(s.sampling), gaugeTable(s.sampling)]) if (t) out.push(renderTableMarkdown(t));
  if (s.lines.length > 0) out.push(`**Output**\n\n${fenced(s.lines.join('\n'))}`);
  if (s.verdicts.length > 0) out.push(`**Verdicts**\n\n${verdictTable(s.verdicts, false)}`);
  return out.join('\n\n');
}

const LOAD_MODEL_TEXT = [
  '- **Open loop** (`open-loop` engine): requests are sent at a constant arrival rate whatever the server does, and each',
  "  latency is measured from the request's *intended* send time. A slow server therefore shows its full queueing delay",
  '  (no coordinated omission). Latency targets are judged on open-loop runs, with microsecond resolution.',
  '- **Closed loop** (`autocannon`, `wrk`): each connection waits for its response before sending the next request, so',
  '  a slow server receives fewer requests and hides part of its latency. These runs measure capacity (requests/s,',
  '  bytes/s). autocannon resolves latency to whole milliseconds.',
  '- **Connections reached** is the number of connections open at the start of the measured window over the number',
  '  requested; the ramp-up time to open them is reported apart and is not part of the window. A generator that',
  '  cannot keep up (above about 80% of a core, or late on its schedule) is flagged as saturated, and its run is',
  "  invalid: the numbers would be the generator's.",
].join('\n');
