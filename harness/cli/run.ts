/**
 * `lbbench run <scenario...|all>`: validate, boot, run, judge, report.
 * The loop itself is harness/run/run-loop.ts; this verb parses flags and sets the
 * exit status.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../../common/errors.js';
import { CONFIG_OPTION_HELP } from './config-path.js';
import type { EngineName } from '../engines/engine.js';
import { engineOption } from './engine-flags.js';
import { requestExitCode } from './exit-status.js';
import type { LongRunningDeps } from './serve.js';
import { invalidOnlyBySaturation } from '../result/invalid-reasons.js';

/** Export formats (harness/report/export/index.ts), listed here so --help needs no import. */
export const EXPORT_CHOICES = ['bmf', 'github-action-benchmark'];

const HELP_AFTER = `
Checks the config, the scenario files and every threshold first (exit 2
before anything starts), boots the backends and the balancer (or uses running
ones with --attach), runs each scenario, prints its tables and the summary,
and writes reports/<run-id>.json (the source of truth) and .md.

Repeats: --repeat N runs each scenario N times (loop order scenario, then
repeat, then target) and judges the median of each metric. The report gives
per metric the median, min/max, IQR and coefficient of variation, and the
JSON keeps every sample. A verdict is NOISY when the target holds at one end
of the repeats' interquartile range and not at the other: neither PASS nor
FAIL. NOISY exits 0 with a warning, or 1 with --noisy-fails.

Saturation: a scenario whose load generator could not keep up (send-loop
lag or CPU over its limits) is INVALID (exit 3): its figures are the
generator's. On shared CI runners, where a noisy neighbour starves the
generator, --judge-saturated judges such a scenario on its verdicts instead
(PASS 0, FAIL 1) and warns; every other INVALID reason still exits 3.

Thresholds: every threshold (config, profile, scenario file) must name a
known scenario and a metric its kind produces (exit 2 otherwise). A
threshold whose metric was not measured makes the scenario INVALID (exit 3)
unless it says optional: true (then N/A).

Exit codes:
  0  every threshold held (N/A and, without --noisy-fails, NOISY do not fail)
  1  a threshold failed (or was NOISY, with --noisy-fails)
  2  bad usage, config or scenario file; nothing was started
  3  the run is INVALID: a port was busy, a service did not start or died,
     the generator saturated, the connections were not established, the
     errors exceeded the scenario's allowance, a scenario errored, a gated
     threshold could not be measured, or Ctrl-C
     interrupted the run (a partial report of the finished scenarios is
     still written)

Examples:
  $ lbbench run all                       # every scenario, full settings
  $ lbbench run all --quick --profile ci  # the CI gate (~5 minutes)
  $ lbbench run latency_percentiles --quick --repeat 5
  $ lbbench run all --quick --export bmf --export github-action-benchmark
  $ lbbench run latency_percentiles throughput --quick
  $ lbbench run failover --reports-dir /tmp/reports
  $ lbbench run ./my-scenario.yaml --scenarios-dir ./my-scenarios
  $ lbbench serve & lbbench run distribution --attach
  $ lbbench run distribution throughput --quick --targets lbbench,nginx,haproxy
`;

/** Options of the `run` verb as commander parses them. */
interface RunFlags {
  config?: string;
  quick: boolean;
  profile?: string;
  attach: boolean;
  targets?: string;
  engine?: EngineName;
  reportsDir?: string;
  scenariosDir?: string;
  verbose: boolean;
  repeat: string;
  noisyFails: boolean;
  judgeSaturated: boolean;
  export: string[];
  wide: boolean;
  quiet: boolean;
}

/** Parses `--repeat`: an integer 1..100. */
export function parseRepeat(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || n < 1 || n > 100) throw new UsageError(`--repeat: ${JSON.stringify(text)} (expected an integer from 1 to 100)`);
  return n;
}

/** The `run` verb. */
export function runCommand(deps: LongRunningDeps): Command {
  return new Command('run')
    .description('run scenarios (or `all`) against the balancer and write reports')
    .argument('<scenario...>', 'scenario names (see `lbbench list`), `all`, or paths of scenario files (*.yaml)')
    .option('-c, --config <file>', CONFIG_OPTION_HELP)
    .option('--quick', 'quick settings: at most ~20 s of load per scenario', false)
    .option('-p, --profile <name>', 'threshold profile from the config, e.g. `ci`')
    .option('--attach', 'use services that are already running at the configured URLs', false)
    .option(
      '-t, --targets <list>',
      'balancers to run each scenario against, in turn: lbbench, nginx, haproxy or a name under targets: in the config (see `lbbench targets`)',
      'lbbench',
    )
    .addOption(engineOption('run every load with this engine'))
    .option('--reports-dir <dir>', 'where reports are written (default: harness.reportsDir of the config)')
    .option('--scenarios-dir <dir>', 'where scenario names are looked up (default: the bundled scenarios/)')
    .option('-v, --verbose', "stream the services' stdout too (stderr is always shown)", false)
    .option('-n, --repeat <N>', 'run each scenario N times; verdicts on the medians, NOISY when the repeats straddle a target', '1')
    .option('--noisy-fails', 'a NOISY verdict fails the run (exit 1) instead of a warning', false)
    .option(
      '--judge-saturated',
      'a scenario INVALID only because the load generator was saturated is judged on its verdicts, with a warning, instead of exit 3 (for shared CI runners)',
      false,
    )
    .addOption(
      new Option('--export <format>', 'also write the metrics for another tool, next to the report (repeatable)')
        .choices(EXPORT_CHOICES)
        .argParser((v: string, prev: string[] | undefined) => {
          if (!EXPORT_CHOICES.includes(v)) throw new InvalidArgumentError(`Allowed choices are ${EXPORT_CHOICES.join(', ')}.`);
          return [...(prev ?? []), v];
        })
        .default([]),
    )
    .option('--wide', 'terminal tables with every column, however wide (default: fitted to 80 columns)', false)
    .option('-q, --quiet', 'no live progress (a status line on a terminal, else a line every 10 s on stderr)', false)
    .addHelpText('after', HELP_AFTER)
    .action(async (names: string[], flags: RunFlags) => {
      const stdout = deps.stdout ?? process.stdout;
      const stderr = deps.stderr ?? process.stderr;
      const [{ resolveConfigFile, describeConfigChoice }, { loadConfig }, { runBenchmark }, { planScenarios, selectScenarios }, { listScenarios }] =
        await Promise.all([
          import('./config-path.js'),
          import('../../common/config.js'),
          import('../run/run-loop.js'),
          import('../plan/plan.js'),
          import('../plan/scenario-file.js'),
        ]);
      // Everything that can be wrong with the input is found before a
      // process starts: config, scenario files, thresholds, engine.
      const choice = resolveConfigFile(flags.config);
      const config = loadConfig(choice.file);
      const scenarios = selectScenarios(names, flags.scenariosDir);
      const repeat = parseRepeat(flags.repeat);
      const runOpts = {
        config,
        scenarios,
        knownScenarios: [...listScenarios(), ...(flags.scenariosDir !== undefined ? listScenarios(flags.scenariosDir) : []), ...scenarios],
        quick: flags.quick,
        repeat,
        noisyFails: flags.noisyFails,
        judgeSaturated: flags.judgeSaturated,
        ...(flags.profile !== undefined ? { thresholdProfile: flags.profile } : {}),
        ...(flags.engine !== undefined ? { engine: flags.engine } : {}),
      };
      await planScenarios(runOpts);
      const { resolveTargets } = await import('../services/targets/index.js');
      const explicitTargets = flags.targets !== undefined && flags.targets !== 'lbbench';
      if (flags.attach && explicitTargets)
        throw new UsageError('--attach and --targets exclude each other: --attach runs against what is already running at the configured addresses');
      // A target whose program is missing is bad usage: exit 2 before anything starts.
      const targets = flags.attach ? [] : await resolveTargets(flags.targets ?? 'lbbench', config);
      stderr.write(`${describeConfigChoice(choice)}\n`);

      const signal = deps.interrupt();
      const { createProgress } = await import('../run/progress.js');
      const tty = (stdout as { isTTY?: boolean }).isTTY === true;
      const progress = flags.quiet
        ? undefined
        : createProgress({
            mode: tty ? 'tty' : 'plain',
            write: (text) => void (tty ? stdout : stderr).write(text),
            columns: (stdout as { columns?: number }).columns ?? 80,
          });
      // On a terminal every other write erases the status line first and draws it again after.
      const guard = <T extends unknown[]>(fn: (...a: T) => void): ((...a: T) => void) => (progress ? progress.wrap(fn) : fn);
      const out = guard((text: string): void => void stdout.write(text));
      const outcome = await runBenchmark({
        ...runOpts,
        attach: flags.attach,
        targets,
        reportsDir: flags.reportsDir ?? config.harness.reportsDir,
        command: ['lbbench', 'run', ...process.argv.slice(3)].join(' '),
        wide: flags.wide,
        ...(progress ? { progress } : {}),
        signal,
        out,
        serviceLog: guard((line: string, stream: 'stdout' | 'stderr') => {
          if (stream === 'stderr') stderr.write(`${line}\n`);
          else if (flags.verbose) stdout.write(`${line}\n`);
        }),
      });
      if (flags.export.length > 0) {
        const { writeExports } = await import('../report/export/index.js');
        for (const file of await writeExports(outcome.run, flags.export, outcome.jsonPath.replace(/\.json$/, ''))) stdout.write(`export: ${file}\n`);
      }
      if (outcome.run.interrupted) stderr.write('lbbench: interrupted; the report holds the scenarios that finished (exit 3)\n');
      for (const v of outcome.run.scenarios.flatMap((sc) => sc.verdicts).filter((x) => x.verdict === 'NOISY')) {
        stderr.write(
          `lbbench: ${flags.noisyFails ? 'error' : 'warning'}: ${v.scenario} "${v.name}" is NOISY: ${v.reason ?? ''}; ` +
            `${flags.noisyFails ? 'failing (--noisy-fails)' : 'not failing (pass --noisy-fails to fail)'}; more --repeat narrows it\n`,
        );
      }
      if (flags.judgeSaturated) {
        for (const sc of outcome.run.scenarios.filter((x) => x.status === 'invalid' && invalidOnlyBySaturation(x.invalidReasons))) {
          stderr.write(
            `lbbench: warning: ${sc.name} is INVALID only because the load generator was saturated; judged on its verdicts (--judge-saturated). ` +
              'A starved generator inflates latencies on both sides of a ratio: read its latencies as upper bounds\n',
          );
        }
      }
      requestExitCode(outcome.exitCode);
    });
}
