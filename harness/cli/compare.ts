/**
 * `lbbench compare BASE.json HEAD.json`: did HEAD get slower? Per metric
 * the change of the median, its confidence interval from the repeats, and a
 * verdict; `--fail-on-regression 10%` makes it a gate (exit 1).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../../common/errors.js';
import { requestExitCode } from './exit-status.js';

const HELP_AFTER = `
Both files are results of \`lbbench run\` (reports/<run-id>.json). Scenarios
are matched by name (and target); every metric both have and that has a
direction (lower is better: latency, errors, memory; higher: rates,
throughput, reuse) is compared. Run both sides with --repeat 5 (at least 4
a side reach 95% confidence; 3 a side reach 90%).

Method: Mann-Whitney U. The change is HEAD's median over BASE's; its
interval is the Hodges-Lehmann shift of log(value) with the exact
distribution-free (Moses) interval: its coverage holds for any n and any
distribution, and one outlier repeat barely moves it, which a bootstrap of
3-10 repeats cannot promise. A metric is slower/worse (faster/better) when
the whole interval lies on that side of no change, else "no change", or
"inconclusive" when the repeats cannot reach the confidence asked for.

--fail-on-regression L exits 1 when a metric is significantly worse AND its
change of the median is beyond L (e.g. 10%).

Exit codes:
  0  no significant regression past the limit (or no limit given)
  1  a significant regression past --fail-on-regression
  2  bad usage or a file that is not a lbbench result
  3  a compared scenario was INVALID in either run (its figures cannot be trusted)

Examples:
  $ lbbench run latency_percentiles --quick --repeat 5 --reports-dir base
  $ lbbench run latency_percentiles --quick --repeat 5 --reports-dir head
  $ lbbench compare base/*.json head/*.json --fail-on-regression 10%
  $ lbbench compare base.json head.json --markdown comment.md
  $ lbbench compare base.json head.json --format md --metric 'p99*' --metric requests_per_second
`;

/** Parses `10%`, `10` or `2.5%` as a percentage >= 0. */
export function parsePercent(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) throw new UsageError(`${flag}: ${JSON.stringify(text)} (expected a percentage, e.g. 10%)`);
  return Number(m[1]);
}

/** Parses `--confidence`: 0.95 or 95%. */
export function parseConfidence(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const v = m ? Number(m[1]) / (m[2] || Number(m[1]) > 1 ? 100 : 1) : NaN;
  if (!(v >= 0.5 && v < 1)) throw new UsageError(`--confidence: ${JSON.stringify(text)} (expected e.g. 0.95 or 95%, from 50% to below 100%)`);
  return v;
}

interface CompareFlags {
  failOnRegression?: string;
  confidence: string;
  metric: string[];
  format: 'terminal' | 'md' | 'json';
  markdown?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The `compare` verb. */
export function compareCommand(): Command {
  return new Command('compare')
    .description('compare two results: change per metric with a confidence interval; a regression gate')
    .argument('<base>', 'BASE result JSON (reports/<run-id>.json)')
    .argument('<head>', 'HEAD result JSON')
    .option('--fail-on-regression <pct>', 'exit 1 on a significant regression beyond this, e.g. 10%')
    .option('--confidence <c>', 'two-sided confidence of the intervals', '0.95')
    .option('-m, --metric <name>', "compare only this metric ('*' wildcard; repeatable)", collect, [] as string[])
    .addOption(new Option('-f, --format <format>', 'stdout format').choices(['terminal', 'md', 'json']).default('terminal'))
    .option('--markdown <file>', 'also write the Markdown (for a pull-request comment) to this file')
    .addHelpText('after', HELP_AFTER)
    .action(async (baseFile: string, headFile: string, flags: CompareFlags) => {
      const [{ readRunResult }, { compareRuns }, render, { writeFileAtomic }] = await Promise.all([
        import('../report/read.js'),
        import('../compare/compare.js'),
        import('../compare/render.js'),
        import('../report/write.js'),
      ]);
      const confidence = parseConfidence(flags.confidence);
      const limit = flags.failOnRegression !== undefined ? parsePercent(flags.failOnRegression, '--fail-on-regression') : undefined;
      const base = readRunResult(baseFile);
      const head = readRunResult(headFile);
      const comparison = compareRuns(base, head, {
        confidence,
        ...(limit !== undefined ? { failOnRegressionPct: limit } : {}),
        ...(flags.metric.length > 0 ? { metrics: flags.metric } : {}),
      });
      const text =
        flags.format === 'json'
          ? `${JSON.stringify(comparison, null, 2)}\n`
          : flags.format === 'md'
            ? render.renderComparisonMarkdown(comparison)
            : render.renderComparisonTerminal(comparison);
      process.stdout.write(text);
      if (flags.markdown !== undefined) {
        await mkdir(path.dirname(path.resolve(flags.markdown)), { recursive: true });
        await writeFileAtomic(flags.markdown, render.renderComparisonMarkdown(comparison));
      }
      requestExitCode(comparison.exitCode);
    });
}
