/**
 * `lbbench ab --base <git-ref>`: did this change make the balancer slower?
 * Builds the base revision in a temporary git worktree, runs the same
 * scenarios on base and head in turn (ABBA order, `--repeat` rounds, one
 * balancer on the ports at a time), pools each side's runs and prints the
 * comparison of `lbbench compare`. The worktree is removed afterwards, also
 * on failure and Ctrl-C.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { InvalidRunError, UsageError } from '../../common/errors.js';
import { ExitCode } from '../../common/exit-codes.js';
import { PACKAGE_ROOT } from '../../common/paths.js';
import type { RunResult } from '../result/scenario-api.js';
import { parseConfidence, parsePercent } from './compare.js';
import { requestExitCode } from './exit-status.js';
import type { LongRunningDeps } from './serve.js';
import { ErrorCode } from '../../common/error-codes.js';

const HELP_AFTER = `
HEAD is this checkout as built (dist/); BASE is <ref> checked out with
\`git worktree add\` into a temporary directory and built there (its
node_modules are linked from here when package-lock.json is the same, else
\`npm ci\`; then tsc). Each round runs every scenario once on each side, in
ABBA order (base, head, head, base, ...) so a drift of the machine falls on
both alike; the sides never run at the same time. Scenarios are bundled
names or paths of scenario files (both sides read the same files).

The comparison is \`lbbench compare\`'s (Mann-Whitney U, Hodges-Lehmann
interval of the change); --repeat 5 (the default) reaches 95% confidence,
--repeat 4 too, 3 only 90%. The pooled results and the comparison are kept
in --reports-dir.

Exit codes: as compare (0, 1 a significant regression past
--fail-on-regression, 3 a run was INVALID or interrupted); 2 bad usage, an
unknown ref, or a build of the base that failed.

Examples:
  $ lbbench ab --base main --quick latency_percentiles throughput --fail-on-regression 15%
  $ lbbench ab --base HEAD~1 --quick latency_percentiles --repeat 6 --markdown comment.md
`;

interface AbFlags {
  base: string;
  repeat: string;
  quick: boolean;
  config?: string;
  failOnRegression?: string;
  confidence: string;
  metric: string[];
  format: 'terminal' | 'md' | 'json';
  markdown?: string;
  reportsDir?: string;
  verbose: boolean;
}

const DEFAULT_SCENARIOS = ['latency_percentiles', 'throughput'];
const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The `ab` verb. */
export function abCommand(deps: LongRunningDeps): Command {
  return new Command('ab')
    .description('A/B: build a base git revision, run the same scenarios on base and head interleaved, compare')
    .argument('[scenario...]', `scenario names or files (default: ${DEFAULT_SCENARIOS.join(' ')})`)
    .requiredOption('--base <ref>', 'the git revision to compare against, e.g. main, HEAD~1, a sha')
    .option('-n, --repeat <N>', 'rounds: runs of each scenario per side', '5')
    .option('--quick', 'quick scenario settings', false)
    .option('-c, --config <file>', 'config for both sides (default: each side its own bundled config.yaml)')
    .option('--fail-on-regression <pct>', 'exit 1 on a significant regression beyond this, e.g. 15%')
    .option('--confidence <c>', 'two-sided confidence of the intervals', '0.95')
    .option('-m, --metric <name>', "compare only this metric ('*' wildcard; repeatable)", collect, [] as string[])
    .addOption(new Option('-f, --format <format>', 'stdout format of the comparison').choices(['terminal', 'md', 'json']).default('terminal'))
    .option('--markdown <file>', 'also write the comparison as Markdown (a pull-request comment)')
    .option('--reports-dir <dir>', 'where the runs and the comparison are kept (default: reports/ab-<time>)')
    .option('-v, --verbose', "stream the runs' output", false)
    .addHelpText('after', HELP_AFTER)
    .action(async (scenarioArgs: string[], flags: AbFlags) => {
      const [{ execa }, { compareRuns }, render, { writeFileAtomic }, { readRunResult }, { poolRuns }] = await Promise.all([
        import('execa'),
        import('../compare/compare.js'),
        import('../compare/render.js'),
        import('../report/write.js'),
        import('../report/read.js'),
        import('../compare/pool.js'),
      ]);
      const repeat = Number(flags.repeat);
      if (!/^\s*\d+\s*$/.test(flags.repeat) || repeat < 1 || repeat > 50)
        throw new UsageError(`--repeat: ${JSON.stringify(flags.repeat)} (expected an integer from 1 to 50)`);
      const confidence = parseConfidence(flags.confidence);
      const limit = flags.failOnRegression !== undefined ? parsePercent(flags.failOnRegression, '--fail-on-regression') : undefined;
      const scenarios = (scenarioArgs.length > 0 ? scenarioArgs : DEFAULT_SCENARIOS).map((s) => (/\.ya?ml$/i.test(s) ? path.resolve(s) : s));
      const config = flags.config !== undefined ? path.resolve(flags.config) : undefined;
      if (config !== undefined && !existsSync(config)) throw new UsageError(`--config: ${config}: file not found`);

      const git = async (args: string[], what: string): Promise<string> => {
        const r = await execa('git', ['-C', PACKAGE_ROOT, ...args], { reject: false });
        if (r.exitCode !== 0) throw new UsageError(`${what}: git ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
        return String(r.stdout).trim();
      };
      await git(['rev-parse', '--show-toplevel'], 'lbbench ab needs a git checkout');
      const baseSha = await git(
        ['rev-parse', '--verify', '--quiet', `${flags.base}^{commit}`],
        `--base ${JSON.stringify(flags.base)} is not a known git revision`,
      );
      const headSha = await git(['rev-parse', 'HEAD'], 'HEAD');
      const dirty = (await git(['status', '--porcelain', '--untracked-files=no'], 'git status')) !== '';
      const out = (text: string): void => void process.stdout.write(text);
      out(`ab: BASE ${flags.base} = ${baseSha.slice(0, 12)}; HEAD ${headSha.slice(0, 12)}${dirty ? ' + uncommitted changes' : ''} (this checkout, as built)\n`);

      const signal = deps.interrupt();
      const reportsDir = path.resolve(
        flags.reportsDir ??
          path.join(
            'reports',
            `ab-${new Date()
              .toISOString()
              .replace(/\.\d{3}Z$/, 'Z')
              .replace(/:/g, '-')}`,
          ),
      );
      const worktree = mkdtempSync(path.join(os.tmpdir(), 'lbbench-ab-base-'));
      let added = false;
      try {
        await git(['worktree', 'add', '--detach', worktree, baseSha], 'could not create the base worktree');
        added = true;
        await buildBase(worktree, out, flags.verbose, signal, execa);
        const sides = { base: path.join(worktree, 'bin', 'lbbench.js'), head: path.join(PACKAGE_ROOT, 'bin', 'lbbench.js') } as const;
        const runs: Record<'base' | 'head', RunResult[]> = { base: [], head: [] };
        for (let i = 0; i < repeat; i++) {
          const order: ('base' | 'head')[] = i % 2 === 0 ? ['base', 'head'] : ['head', 'base'];
          for (const side of order) {
            if (signal.aborted) throw new InvalidRunError(ErrorCode.INTERRUPTED, 'ab interrupted; the runs so far are in ' + reportsDir);
            const dir = path.join(reportsDir, `${side}-${i + 1}`);
            const args = [sides[side], 'run', ...scenarios, '--reports-dir', dir, ...(flags.quick ? ['--quick'] : []), ...(config ? ['--config', config] : [])];
            const started = Date.now();
            const r = await execa(process.execPath, args, {
              cwd: side === 'base' ? worktree : PACKAGE_ROOT,
              reject: false,
              cancelSignal: signal,
              env: { NO_COLOR: '1' },
              ...(flags.verbose ? { stdout: 'inherit', stderr: 'inherit' } : {}),
            });
            const json = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.json')) : undefined;
            out(`ab: round ${i + 1}/${repeat} ${side}: exit ${r.exitCode ?? r.signal} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
            if (r.exitCode === ExitCode.BAD_INPUT || json === undefined) {
              if (signal.aborted) throw new InvalidRunError(ErrorCode.INTERRUPTED, 'ab interrupted');
              const tail = String(r.stderr ?? '')
                .trim()
                .split('\n')
                .slice(-5)
                .join('\n  ');
              throw new UsageError(`the ${side} run failed (exit ${r.exitCode}) and wrote no result${tail ? `:\n  ${tail}` : ''}`);
            }
            runs[side].push(readRunResult(path.join(dir, json)));
          }
        }
        const base = poolRuns(runs.base);
        const head = poolRuns(runs.head);
        base.environment = { ...base.environment, gitCommit: baseSha };
        head.environment = { ...head.environment, gitCommit: headSha };
        base.runId = `base ${flags.base}`;
        head.runId = dirty ? 'head (uncommitted)' : 'head';
        const comparison = compareRuns(base, head, {
          confidence,
          ...(limit !== undefined ? { failOnRegressionPct: limit } : {}),
          ...(flags.metric.length > 0 ? { metrics: flags.metric } : {}),
        });
        await writeFileAtomic(path.join(reportsDir, 'base.json'), `${JSON.stringify(base, null, 2)}\n`);
        await writeFileAtomic(path.join(reportsDir, 'head.json'), `${JSON.stringify(head, null, 2)}\n`);
        await writeFileAtomic(path.join(reportsDir, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
        const md = render.renderComparisonMarkdown(comparison);
        await writeFileAtomic(path.join(reportsDir, 'comparison.md'), md);
        if (flags.markdown !== undefined) await writeFileAtomic(path.resolve(flags.markdown), md);
        out(flags.format === 'json' ? `${JSON.stringify(comparison, null, 2)}\n` : flags.format === 'md' ? md : render.renderComparisonTerminal(comparison));
        out(`ab: results in ${reportsDir}\n`);
        requestExitCode(comparison.exitCode);
      } finally {
        if (added) await execa('git', ['-C', PACKAGE_ROOT, 'worktree', 'remove', '--force', worktree], { reject: false });
        rmSync(worktree, { recursive: true, force: true });
        await execa('git', ['-C', PACKAGE_ROOT, 'worktree', 'prune'], { reject: false });
      }
    });
}

/** Installs and builds the base checkout: node_modules linked from here
 * when the lock files match (no network, seconds), else `npm ci`; then tsc. */
async function buildBase(dir: string, out: (text: string) => void, verbose: boolean, signal: AbortSignal, execa: typeof import('execa').execa): Promise<void> {
  const lock = (root: string): string | undefined => {
    try {
      return readFileSync(path.join(root, 'package-lock.json'), 'utf8');
    } catch {
      return undefined;
    }
  };
  const io = verbose ? ({ stdout: 'inherit', stderr: 'inherit' } as const) : {};
  const started = Date.now();
  if (lock(dir) !== undefined && lock(dir) === lock(PACKAGE_ROOT) && existsSync(path.join(PACKAGE_ROOT, 'node_modules'))) {
    symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    out('ab: base has the same package-lock.json: its node_modules are linked from here\n');
  } else {
    out('ab: npm ci in the base worktree\n');
    const r = await execa('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, reject: false, cancelSignal: signal, ...io });
    if (r.exitCode !== 0)
      throw new UsageError(
        `npm ci of the base failed (exit ${r.exitCode}): ${String(r.stderr ?? '')
          .trim()
          .split('\n')
          .slice(-3)
          .join(' / ')}`,
      );
  }
  const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await execa(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, reject: false, cancelSignal: signal, ...io });
  if (r.exitCode !== 0)
    throw new UsageError(
      `building the base failed (tsc exit ${r.exitCode}): ${String(r.stdout ?? '')
        .trim()
        .split('\n')
        .slice(0, 5)
        .join(' / ')}`,
    );
  out(`ab: base built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
