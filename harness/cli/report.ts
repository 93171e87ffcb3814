/**
 * `lbbench report FILE.json`: renders a stored result again, without
 * measuring anything.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode, type ExitCodeValue } from '../../common/exit-codes.js';
import { renderHtml } from '../report/html.js';
import { renderMarkdown } from '../report/markdown.js';
import { readRunResult } from '../report/read.js';
import { overallStatus, runSummary } from '../report/summary.js';
import { renderEnvironmentTerminal, renderScenarioTerminal, renderSummaryTerminal } from '../report/terminal.js';
import { writeFileAtomic } from '../report/write.js';
import type { RunResult } from '../result/scenario-api.js';
import { requestExitCode } from './exit-status.js';

/** Where the command writes; defaults to the process's streams (tests pass their own). */
export interface CommandIo {
  /** `write` returns false when the text is still buffered; `done` is then
   * called once it is flushed (as process.stdout does). */
  stdout: { write(text: string, done?: () => void): unknown };
}

const HELP_AFTER = `
Output:
  Without --out, the report goes to stdout (pipe-friendly).
  With --out, it is written to that file (directories created), and the
  summary table and the file name are printed to stdout.

Examples:
  $ lbbench report reports/2025-01-31T10-00-00Z-quick.json > report.md
  $ lbbench report reports/2025-01-31T10-00-00Z-quick.json --out pr-comment.md
  $ lbbench report reports/2025-01-31T10-00-00Z-quick.json --format terminal
  $ lbbench report reports/2025-01-31T10-00-00Z-quick.json --html --out report.html   # self-contained, opens offline
  $ lbbench report reports/2025-01-31T10-00-00Z-quick.json --check   # exit 0/1/3 as the stored run did
  $ lbbench report reports/2025-01-31T10-00-00Z-quick.json --export bmf --export github-action-benchmark --export-dir out

Exports: bmf writes <name>.bmf.json (Bencher Metric Format); github-action-benchmark
writes <name>.bigger-is-better.json and <name>.smaller-is-better.json (its
customBiggerIsBetter and customSmallerIsBetter tools). With repeats the value
is the median and the bounds/range come from min..max.

Exit codes: 0 rendered (with --check: the stored run passed), 1 (--check) a
threshold failed, 2 the file is missing or not a schemaVersion 1 or 2 result,
3 (--check) the stored run was invalid.
`;

/** The `report` verb. Its action never calls process.exit: errors propagate
 * to the CLI entry, and `--check` goes through requestExitCode. */
export function reportCommand(io: CommandIo = { stdout: process.stdout }): Command {
  return new Command('report')
    .description('render a stored result (reports/<run-id>.json) again as Markdown or terminal tables')
    .argument('<file>', 'result JSON written by `lbbench run`')
    .option('-o, --out <file>', 'write the report to this file instead of stdout')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['markdown', 'terminal', 'html']).default('markdown'))
    .option('--html', 'the self-contained HTML report with charts (same as --format html)', false)
    .option('--check', "exit with the stored run's status: 0 passed, 1 a threshold failed, 3 invalid", false)
    .addOption(
      new Option('--export <format>', 'write the metrics for another tool (bmf, github-action-benchmark) next to FILE; repeatable')
        .argParser((v: string, prev: string[] | undefined) => {
          if (!['bmf', 'github-action-benchmark'].includes(v)) throw new InvalidArgumentError('Allowed choices are bmf, github-action-benchmark.');
          return [...(prev ?? []), v];
        })
        .default([]),
    )
    .option('--export-dir <dir>', 'where --export writes (default: the directory of FILE)')
    .option('--wide', 'terminal tables with every column, however wide (default: fitted to 80 columns)', false)
    .addHelpText('after', HELP_AFTER)
    .action(
      async (
        file: string,
        opts: { out?: string; format: 'markdown' | 'terminal' | 'html'; html: boolean; check: boolean; wide: boolean; export: string[]; exportDir?: string },
      ) => {
        const run = readRunResult(file);
        if (opts.export.length > 0) {
          const { writeExports } = await import('../report/export/index.js');
          const dir = opts.exportDir ?? path.dirname(file);
          await mkdir(dir, { recursive: true });
          const written = await writeExports(run, opts.export, path.join(dir, path.basename(file).replace(/\.json$/i, '')));
          for (const f of written) process.stderr.write(`export: ${f}\n`);
        }
        const toFile = opts.out !== undefined;
        const format = opts.html ? 'html' : opts.format;
        const text =
          format === 'html' ? renderHtml(run) : format === 'markdown' ? renderMarkdown(run) : renderTerminal(run, toFile ? false : undefined, opts.wide);
        if (opts.out !== undefined) {
          await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
          await writeFileAtomic(opts.out, text);
          io.stdout.write(renderSummaryTerminal(runSummary(run), { wide: opts.wide }));
          io.stdout.write(`status: ${statusLine(run)}\nwrote ${opts.out}\n`);
        } else {
          // The CLI exits right after the verb: a large report (the HTML) to a
          // pipe must be flushed first or its tail is lost.
          await new Promise<void>((resolve) => {
            if (io.stdout.write(text, resolve) !== false) resolve();
          });
        }
        if (opts.check) requestExitCode(storedExitCode(run));
      },
    );
}

function renderTerminal(run: RunResult, color: boolean | undefined, wide: boolean): string {
  const opts = color === undefined ? { wide } : { color, wide };
  return [
    ...run.scenarios.map((s) => renderScenarioTerminal(s, opts)),
    renderSummaryTerminal(runSummary(run), opts),
    `status: ${statusLine(run)}\n`,
    renderEnvironmentTerminal(run.environment, opts) + '\n',
  ].join('\n');
}

function statusLine(run: RunResult): string {
  return `${overallStatus(run)}${run.interrupted ? ' (INTERRUPTED)' : ''}`;
}

function storedExitCode(run: RunResult): ExitCodeValue {
  switch (overallStatus(run)) {
    case 'INVALID':
      return ExitCode.INVALID_RUN;
    case 'FAIL':
      return ExitCode.THRESHOLD_FAILED;
    case 'PASS':
      return ExitCode.OK;
  }
}
