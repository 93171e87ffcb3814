/**
 * A Comparison as a terminal table and as Markdown for a pull-request
 * comment (headline first, then the metrics that changed, then the rest
 * folded away). Pure.
 */
import type { ReportTable } from '../result/scenario-api.js';
import { formatNumber } from '../report/format.js';
import { renderTableMarkdown } from '../report/markdown.js';
import { renderTable } from '../report/terminal.js';
import { formatPct, type Comparison, type MetricComparison } from './compare.js';

function signedPct(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '—';
  return `${p > 0 ? '+' : ''}${p.toFixed(1)}%`;
}

function verdictWord(m: MetricComparison, markdown: boolean): string {
  const word = m.pastLimit ? `${m.verdict.toUpperCase()} (past limit)` : m.verdict;
  return markdown && m.regression ? `**${word}**` : word;
}

function spread(samples: readonly number[]): string {
  if (samples.length <= 1) return '';
  return ` (${formatNumber(Math.min(...samples))}..${formatNumber(Math.max(...samples))})`;
}

/** The comparison rows as a ReportTable. */
export function comparisonTable(c: Comparison, rows: readonly MetricComparison[], markdown = false): ReportTable {
  const conf = formatPct(c.confidence * 100);
  return {
    title: `BASE ${c.base.runId} -> HEAD ${c.head.runId} (medians, min..max; ${conf} interval of the change)`,
    columns: ['scenario', 'metric', 'better', 'BASE', 'HEAD', 'change', `${conf} CI`, 'n', 'verdict'],
    rows: rows.map((m) => [
      m.target === 'lbbench' ? m.scenario : `${m.scenario} (${m.target})`,
      m.metric,
      m.better,
      `${formatNumber(m.baseMedian)}${spread(m.baseSamples)}`,
      `${formatNumber(m.headMedian)}${spread(m.headSamples)}`,
      signedPct(m.changePct),
      m.ciLowPct === undefined ? (m.reason ?? '—') : `${signedPct(m.ciLowPct)} .. ${signedPct(m.ciHighPct)}`,
      `${m.baseSamples.length}/${m.headSamples.length}`,
      verdictWord(m, markdown),
    ]),
  };
}

/** One line: how many regressions, and whether the limit failed the gate. */
export function comparisonHeadline(c: Comparison): string {
  const regressions = c.metrics.filter((m) => m.regression);
  const past = regressions.filter((m) => m.pastLimit);
  const improved = c.metrics.filter((m) => m.verdict === 'faster' || m.verdict === 'better');
  const limit = c.failOnRegressionPct !== undefined ? ` past the ${formatNumber(c.failOnRegressionPct)}% limit` : '';
  const parts: string[] = [];
  if (c.failOnRegressionPct !== undefined) {
    parts.push(
      past.length > 0 ? `FAIL: ${past.length} significant regression${past.length > 1 ? 's' : ''}${limit}` : `PASS: no significant regression${limit}`,
    );
  }
  parts.push(
    `${regressions.length} slower/worse, ${improved.length} faster/better, ${c.metrics.length - regressions.length - improved.length} unchanged or inconclusive`,
  );
  if (c.exitCode === 3) parts.unshift('INVALID: a compared scenario was not ok');
  return parts.join('; ');
}

/** The terminal rendering: headline, table, warnings, method. */
export function renderComparisonTerminal(c: Comparison): string {
  const out = [comparisonHeadline(c)];
  if (c.metrics.length > 0) out.push(renderTable(comparisonTable(c, c.metrics)));
  for (const w of c.warnings) out.push(`warning: ${w}`);
  out.push(`method: ${c.method}; ${formatPct(c.confidence * 100)} confidence; exit ${c.exitCode}`);
  return `${out.join('\n')}\n`;
}

/** Markdown for a pull-request comment: the changed metrics in the open,
 * the unchanged ones in a collapsed block. */
export function renderComparisonMarkdown(c: Comparison): string {
  const changed = c.metrics.filter((m) => m.verdict !== 'no change' && m.verdict !== 'inconclusive');
  const rest = c.metrics.filter((m) => !changed.includes(m));
  const commit = (r: Comparison['base']): string => (r.gitCommit ? ` (\`${r.gitCommit.slice(0, 12)}\`)` : '');
  const out: string[] = [
    `### lbbench compare: ${comparisonHeadline(c)}`,
    `BASE \`${c.base.runId}\`${commit(c.base)}, ${c.base.repeat} repeat(s) -> HEAD \`${c.head.runId}\`${commit(c.head)}, ${c.head.repeat} repeat(s). ` +
      `${formatPct(c.confidence * 100)} confidence; ${c.method}.`,
  ];
  if (changed.length > 0) out.push(renderTableMarkdown(comparisonTable(c, changed, true)));
  else out.push('_No metric changed significantly._');
  if (rest.length > 0) {
    out.push(
      `<details><summary>${rest.length} metric(s) without a significant change</summary>\n\n${renderTableMarkdown(comparisonTable(c, rest, true))}\n\n</details>`,
    );
  }
  if (c.warnings.length > 0) out.push(c.warnings.map((w) => `- ${w}`).join('\n'));
  return `${out.join('\n\n')}\n`;
}
