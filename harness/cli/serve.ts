/**
 * `lbbench serve`: the backends and the balancer in the foreground, with
 * their logs prefixed by name, until Ctrl-C or SIGTERM stops them all.
 */
import { Command } from 'commander';
import { InvalidRunError } from '../../common/errors.js';
import { CONFIG_OPTION_HELP } from './config-path.js';
import { ErrorCode } from '../../common/error-codes.js';

/** What the CLI entry hands to the verbs that run until interrupted. */
export interface LongRunningDeps {
  /** Installs the SIGINT/SIGTERM handlers and returns the signal they abort.
   * Call once, when the verb starts its work. */
  interrupt: () => AbortSignal;
  /** Terminal output. Default process.stdout / process.stderr. */
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
}

const HELP_AFTER = `
Starts every backend of lb.backends whose URL is on loopback (one
\`lbbench backend\` process each), then the balancer, waits until each one
answers (never a fixed sleep), prints their URLs and PIDs, and streams their
logs prefixed with their names. Ctrl-C or SIGTERM stops them all and waits
until they have exited, so the ports are free again. A busy port is named and
exits 3; so does a service that does not start or a balancer that dies.

Examples:
  $ lbbench serve
  $ curl localhost:8080/echo            # (in another terminal)
  $ curl localhost:9090/metrics
  $ lbbench serve --config my-topology.yaml
`;

/** The `serve` verb. */
export function serveCommand(deps: LongRunningDeps): Command {
  return new Command('serve')
    .description('start the test backends and the balancer in the foreground; Ctrl-C stops all')
    .option('-c, --config <file>', CONFIG_OPTION_HELP)
    .option('-q, --quiet', "do not stream the services' stdout (stderr is always shown)", false)
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: { config?: string; quiet: boolean }) => {
      const stdout = deps.stdout ?? process.stdout;
      const stderr = deps.stderr ?? process.stderr;
      const [{ resolveConfigFile, describeConfigChoice }, { loadConfig }] = await Promise.all([import('./config-path.js'), import('../../common/config.js')]);
      const choice = resolveConfigFile(opts.config);
      const config = loadConfig(choice.file);
      stderr.write(`${describeConfigChoice(choice)}\n`);

      const signal = deps.interrupt();
      const [{ startServices }, { renderServiceTable }] = await Promise.all([import('../services/services.js'), import('../report/terminal.js')]);
      const services = await startServices(config, {
        signal,
        log: (line, stream) => {
          if (stream === 'stderr') stderr.write(`${line}\n`);
          else if (!opts.quiet) stdout.write(`${line}\n`);
        },
      });

      let lbDied: string | undefined;
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
        services.onUnexpectedExit((e) => {
          // A terminal's Ctrl-C reaches the children too; their exits are then expected.
          if (signal.aborted) return;
          const how = e.signal ? `was killed by ${e.signal}` : `exited with code ${e.exitCode}`;
          stderr.write(`lbbench: ${e.name} (pid ${e.pid}) ${how}\n`);
          // A dead backend is something to watch (failover), a dead balancer ends the session.
          if (e.role === 'lb') {
            lbDied = `the balancer (pid ${e.pid}) ${how}`;
            resolve();
          }
        });
        stdout.write(
          `${renderServiceTable(services.list())}\n` + `balancer: ${services.lbUrl}\nmetrics:  ${services.metricsUrl}\n` + `ready; press Ctrl-C to stop\n`,
        );
      });

      stderr.write('lbbench: stopping services...\n');
      await services.stop();
      stderr.write('lbbench: all services stopped\n');
      if (lbDied) throw new InvalidRunError(ErrorCode.SERVICE_DIED, `${lbDied}; stopped the other services`);
    });
}
