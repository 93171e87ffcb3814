/**
 * `lbbench lb --config FILE`: runs the load balancer alone, in the
 * foreground, until SIGTERM or Ctrl-C (which drain in-flight requests).
 * Without --config it takes ./config.yaml, else the bundled one, as every
 * verb does (harness/cli/config-path.ts), and says which on stderr.
 */
import { Command } from 'commander';
import { CONFIG_OPTION_HELP, describeConfigChoice, resolveConfigFile } from './config-path.js';

/** The `lb` verb. lb/ is imported only when the verb runs (fast CLI start). */
export function lbCommand(): Command {
  return new Command('lb')
    .description('run the load balancer alone, in the foreground (SIGTERM/Ctrl-C drain and stop it, SIGHUP reloads the config)')
    .option('-c, --config <file>', `${CONFIG_OPTION_HELP}; its lb section is used`)
    .addHelpText(
      'after',
      `
Examples:
  $ lbbench lb                          # ./config.yaml (else the bundled one): :8080, metrics on :9090/metrics
  $ lbbench lb --config my-config.yaml
  $ kill -HUP <pid>                     # reload backends, weights, algorithm, health, pool, retries
  $ curl localhost:9090/metrics         # Prometheus metrics, summed over workers

A bad config exits with code 2 and starts nothing; a port already in use exits with 3.`,
    )
    .action(async (opts: { config?: string }) => {
      const choice = resolveConfigFile(opts.config);
      // The harness always passes --config; a person starting it by hand is told which file it took.
      if (choice.source !== 'option') process.stderr.write(`${describeConfigChoice(choice)}\n`);
      const { runBalancer } = await import('../../lb/main.js');
      await runBalancer({ configPath: choice.file });
    });
}
