/**
 * The `lbbench` CLI entry: builds the commander program, runs one verb, and
 * maps the outcome to an exit code. This is the only module that calls
 * `process.exit`:
 *
 * - a verb that completes: the code it requested (harness/cli/exit-status.ts), else 0;
 * - an LbbenchError: its `exitCode` (InputError and UsageError 2, InvalidRunError 3),
 *   printed as `lbbench: <message>` on stderr;
 * - a commander usage error (unknown verb or flag, missing argument): 2;
 * - `--help` and `--version`: 0;
 * - anything else is a bug: its stack on stderr, and 3.
 *
 * Only the verb being run is imported, so `lbbench backend` and `lbbench lb`
 * (spawned by the harness) start fast; `lbbench --help` loads them all.
 */
import { Command, CommanderError } from 'commander';
import { LbbenchError } from '../../common/errors.js';
import { ExitCode, type ExitCodeValue } from '../../common/exit-codes.js';
import { PACKAGE_VERSION } from '../../common/paths.js';
import { requestedExitCode } from './exit-status.js';
import type { LongRunningDeps } from './serve.js';
import { valueAt } from '../../common/checked.js';

/** Verbs in help order, each loaded only when needed. */
const VERBS: Record<string, (deps: LongRunningDeps) => Promise<Command>> = {
  serve: async (deps) => (await import('./serve.js')).serveCommand(deps),
  run: async (deps) => (await import('./run.js')).runCommand(deps),
  list: async () => (await import('./list.js')).listCommand(),
  validate: async () => (await import('./validate.js')).validateCommand(),
  lb: async () => (await import('./lb.js')).lbCommand(),
  backend: async () => (await import('./backend.js')).backendCommand(),
  load: async () => (await import('./load.js')).loadCommand(),
  report: async () => (await import('./report.js')).reportCommand(),
  targets: async () => (await import('./targets.js')).targetsCommand(),
  compare: async () => (await import('./compare.js')).compareCommand(),
  merge: async () => (await import('./merge.js')).mergeCommand(),
  ab: async (deps) => (await import('./ab.js')).abCommand(deps),
};

const HELP_AFTER = `
Exit codes:
  0  every threshold held (or the verb had nothing to judge)
  1  a threshold failed
  2  bad usage, config or scenario file; nothing was started
  3  the run was invalid: a port was busy, a service did not start or died,
     the generator saturated, connections were not established, errors
     exceeded the allowance, or the run was interrupted

Examples:
  $ lbbench serve                           # backends 8001-8003, balancer 8080, metrics 9090
  $ lbbench run all --quick                 # every scenario, ~5 minutes
  $ lbbench run latency_percentiles         # one scenario
  $ lbbench list
  $ lbbench validate
  $ lbbench load http://127.0.0.1:8080/echo --rate 2000 --duration 10s
  $ lbbench report reports/<run-id>.json > report.md
  $ lbbench compare base.json head.json --fail-on-regression 10%
  $ lbbench ab --base main --quick latency_percentiles --fail-on-regression 15%

Run \`lbbench <verb> --help\` for the options and examples of each verb.
`;

/**
 * Installs the handlers of the long-running verbs (serve, run): the first
 * SIGINT/SIGTERM aborts the returned signal, so the verb stops its children
 * and finishes (run writes a partial report); a second one kills every child
 * at once and exits 3. An uncaught exception also exits 3, after the
 * services' exit hook has killed the children.
 */
function interruptOnSignals(): AbortSignal {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received++;
    if (received === 1) {
      process.stderr.write(`\nlbbench: ${signal}: stopping (send it again to kill everything now)\n`);
      controller.abort(new Error(`interrupted by ${signal}`));
      return;
    }
    process.stderr.write(`lbbench: ${signal} again: killing every child process\n`);
    // The exit hook of harness/services/services.ts SIGKILLs the children.
    process.exit(ExitCode.INVALID_RUN);
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  process.on('uncaughtException', (err) => {
    process.stderr.write(`lbbench: internal error: ${err.stack ?? String(err)}\n`);
    process.exit(ExitCode.INVALID_RUN);
  });
  return controller.signal;
}

/** Applies exitOverride to a command and its subcommands (addCommand does
 * not copy the parent's settings). */
function overrideExits(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) overrideExits(sub);
}

async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('lbbench')
    .description('benchmark harness, HTTP/1.1 load balancer and test backends')
    .version(PACKAGE_VERSION, '-V, --version')
    .showSuggestionAfterError()
    .addHelpText('after', HELP_AFTER);
  let installed: AbortSignal | undefined;
  const deps: LongRunningDeps = { interrupt: () => (installed ??= interruptOnSignals()) };
  const verb = argv[2];
  // Only the verb asked for is loaded; help, typos and no verb load them all.
  const names = verb !== undefined && Object.hasOwn(VERBS, verb) ? [verb] : Object.keys(VERBS);
  for (const name of names) program.addCommand(await valueAt(VERBS, name, `the verb ${name}`)(deps));
  overrideExits(program);
  return program;
}

async function main(argv: readonly string[]): Promise<ExitCodeValue> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync([...argv]);
    return requestedExitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message already.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.BAD_INPUT;
    }
    if (err instanceof LbbenchError) {
      process.stderr.write(`lbbench: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`lbbench: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.INVALID_RUN;
  }
}

process.exit(await main(process.argv));
