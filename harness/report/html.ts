/**
 * The self-contained HTML report, `reports/<run-id>.html`: status, summary,
 * per scenario its charts (charts/svg.ts) and tables, with targets side by
 * side and each repeat's values beside the median, then the environment.
 * Everything is inline (CSS, the few lines of tooltip script, SVG): the
 * file opens offline and fetches nothing. A pure function of the stored
 * RunResult, so `lbbench report FILE.json --html` renders it again.
 */
import type { ReportTable, RunResult, ScenarioResult, Verdict } from '../result/scenario-api.js';
import { scenarioCharts } from './charts/index.js';
import { buildComparisons, targetNoteLines } from './comparison.js';
import { escapeHtml, renderSvgChart } from './charts/svg.js';
import { environmentTable, formatNumber, loadsTable, processTable, VERDICT_COLUMNS, verdictRow } from './format.js';
import { overallStatus, runSummary, scenarioStatus } from './summary.js';
import { itemAt } from '../../common/checked.js';

function cell(c: string | number): string {
  return escapeHtml(typeof c === 'number' ? formatNumber(c) : c);
}

/** A ReportTable as an HTML table with its title as caption. */
export function renderTableHtml(t: ReportTable): string {
  const head = t.columns.some((c) => c !== '') ? `<thead><tr>${t.columns.map((c) => `<th>${cell(c)}</th>`).join('')}</tr></thead>` : '';
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><caption>${escapeHtml(t.title)}</caption>${head}<tbody>\n${body}\n</tbody></table>`;
}

function statusBadge(word: string): string {
  return `<span class="status ${escapeHtml(word.toLowerCase().replace(/[^a-z]/g, ''))}">${escapeHtml(word)}</span>`;
}

function verdictTableHtml(title: string, rows: readonly Verdict[], withScenario: boolean): string {
  const columns = [...VERDICT_COLUMNS, ...(withScenario ? ['scenario'] : [])];
  const body = rows
    .map((v) => {
      const r = verdictRow(v);
      const cells = r.slice(0, -1).map((c) => `<td>${cell(c)}</td>`);
      cells.push(`<td>${statusBadge(v.verdict)}</td>`);
      if (withScenario) cells.push(`<td>${cell(v.scenario)}</td>`);
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table><caption>${escapeHtml(title)}</caption><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Fields of the verdicts stream (repeats); absent in schema-1 results. */
interface RepeatFields {
  target?: string;
  samples?: Record<string, number[]>;
}

/** Each repeat's value of every metric beside the median, when the run repeated. */
function repeatsTable(s: ScenarioResult & RepeatFields): ReportTable | undefined {
  const samples = s.samples && typeof s.samples === 'object' ? Object.entries(s.samples).filter(([, v]) => Array.isArray(v) && v.length > 1) : [];
  if (samples.length === 0) return undefined;
  const n = Math.max(...samples.map(([, v]) => v.length));
  return {
    title: `Repeats (${n}): median and every repeat in run order`,
    columns: ['metric', 'median', ...Array.from({ length: n }, (_, i) => `#${i + 1}`)],
    rows: samples.map(([metric, values]) => [metric, s.metrics[metric] ?? '—', ...Array.from({ length: n }, (_, i) => values[i] ?? '—')]),
  };
}

function targetColumn(s: ScenarioResult & RepeatFields): string {
  const out: string[] = [];
  out.push(`<h3>${escapeHtml(s.target ?? 'lbbench')} ${statusBadge(scenarioStatus(s))}</h3>`);
  out.push(`<p class="meta">started ${escapeHtml(s.startedAt)}, took ${escapeHtml(formatNumber(s.durationMs / 1000))} s</p>`);
  if (s.error) out.push(`<p class="bad">error: ${escapeHtml(s.error)}</p>`);
  if (s.invalidReasons.length > 0) out.push(`<ul class="bad">${s.invalidReasons.map((r) => `<li>invalid: ${escapeHtml(r)}</li>`).join('')}</ul>`);
  if (s.verdicts.length > 0) out.push(verdictTableHtml('Verdicts', s.verdicts, false));
  const repeats = repeatsTable(s);
  if (repeats) out.push(renderTableHtml(repeats));
  for (const t of s.tables) out.push(renderTableHtml(t));
  if (s.lines.length > 0) out.push(`<details><summary>Output (${s.lines.length} lines)</summary><pre>${escapeHtml(s.lines.join('\n'))}</pre></details>`);
  const more = [...(s.loads.length > 0 ? [loadsTable(s.loads)] : []), ...[processTable(s.sampling)].filter((t): t is ReportTable => t !== undefined)];
  if (more.length > 0) out.push(`<details><summary>Load runs and processes</summary>${more.map(renderTableHtml).join('\n')}</details>`);
  return `<div class="target">${out.join('\n')}</div>`;
}

function scenarioSection(run: RunResult, name: string): string {
  const results = run.scenarios.filter((s) => s.name === name);
  const first = itemAt(results, 0, 'results[0]');
  const charts = scenarioCharts(run, name).map(renderSvgChart);
  return [
    `<section class="scenario" id="scenario-${escapeHtml(name)}">`,
    `<h2>${escapeHtml(name)}</h2>`,
    first.description ? `<p>${escapeHtml(first.description)}</p>` : '',
    charts.length > 0 ? `<div class="charts">${charts.join('\n')}</div>` : '',
    `<div class="targets">${results.map(targetColumn).join('\n')}</div>`,
    '</section>',
  ].join('\n');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1600px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}h3{font-size:15px;margin:8px 0}
.meta{color:#666;margin:2px 0}.bad{color:#b00}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f6f6}
td:not(:first-child){font-variant-numeric:tabular-nums}
.status{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;font-size:12px;background:#eee}
.status.pass,.status.excellent{background:#dff3df;color:#185c18}.status.fail,.status.invalid,.status.error{background:#f9dcdc;color:#8a1212}
.status.skip,.status.interrupted,.status.noisy,.status.na{background:#fbf0d0;color:#6b5100}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure.chart{margin:0;border:1px solid #e3e3e3;border-radius:4px;padding:8px;max-width:100%}
figure.chart svg{max-width:100%;height:auto;display:block}
figcaption{font-weight:600;margin-bottom:4px}
.plot{fill:#fcfcfc;stroke:#bbb}.grid{stroke:#eee}.tickmark{stroke:#999}.tick{font-size:11px;fill:#555}.axis-title{font-size:12px;fill:#333}
.marker{stroke:#444;stroke-dasharray:4 3;stroke-width:1.2}.marker-label{font-size:10px;fill:#444}
.pt:hover,.bar:hover{stroke:#000;stroke-width:1.5}
.legend{list-style:none;padding:0;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.swatch{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;border-radius:2px}.swatch-line{height:3px}
.swatch-marker{border-left:2px dashed #444;width:0;height:12px;border-radius:0}
.targets{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px;align-items:start}
.target{overflow-x:auto}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}
#tip{position:fixed;pointer-events:none;background:rgba(20,20,20,.88);color:#fff;font-size:12px;padding:3px 7px;border-radius:3px;display:none;z-index:10}
`;

// Shows a point's <title> in a styled box as the pointer moves over it (the
// native title tooltip appears too, after a delay).
const SCRIPT = `
(function(){var tip=document.getElementById('tip');
document.addEventListener('mousemove',function(e){var t=e.target;
if(t&&t.classList&&(t.classList.contains('pt')||t.classList.contains('bar')||t.classList.contains('marker'))){var ti=t.querySelector('title');
tip.textContent=ti?ti.textContent:'';tip.style.display='block';tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';}
else tip.style.display='none';});})();
`;

/** With several targets: the targets with their notes and the comparison tables side by side. */
function comparisonSection(run: RunResult): string {
  const tables = run.comparisons ?? buildComparisons(run);
  if (tables.length === 0) return '';
  const notes = targetNoteLines(run);
  return [
    '<section class="comparison" id="targets"><h2>Targets</h2>',
    notes.length > 0 ? `<ul>${notes.map((n) => `<li>${escapeHtml(n.trim())}</li>`).join('')}</ul>` : '',
    `<div class="targets">${tables.map(renderTableHtml).join('\n')}</div>`,
    '</section>',
  ].join('\n');
}

/** The whole report as one HTML document. */
export function renderHtml(run: RunResult): string {
  const status = overallStatus(run);
  const summary = runSummary(run);
  const names = [...new Set(run.scenarios.map((s) => s.name))];
  const env = environmentTable(run.environment);
  const body = [
    `<h1>lbbench report ${escapeHtml(run.runId)}</h1>`,
    `<p>${statusBadge(status)}${run.interrupted ? ` ${statusBadge('INTERRUPTED')} stopped before all scenarios finished` : ''}</p>`,
    '<ul class="meta">',
    `<li>command: <code>${escapeHtml(run.command)}</code></li>`,
    `<li>started ${escapeHtml(run.startedAt)}, finished ${escapeHtml(run.finishedAt)}</li>`,
    `<li>profile ${escapeHtml(run.profile)}${run.thresholdProfile ? `, threshold profile ${escapeHtml(run.thresholdProfile)}` : ''}, exit code ${run.exitCode}</li>`,
    '</ul>',
    `<nav>${names.map((n) => `<a href="#scenario-${escapeHtml(n)}">${escapeHtml(n)}</a>`).join(' · ')}</nav>`,
    summary.length > 0 ? verdictTableHtml('Summary', summary, true) : '<p>No thresholds were judged.</p>',
    comparisonSection(run),
    ...names.map((n) => scenarioSection(run, n)),
    '<h2>Environment</h2>',
    renderTableHtml({ ...env, title: '' }),
  ].join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>lbbench ${escapeHtml(run.runId)} — ${escapeHtml(status)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    body,
    '<div id="tip"></div>',
    `<script>${SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
