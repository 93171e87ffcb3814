/**
 * `lbbench lb --config FILE`: runs the load balancer alone, in the
 * foreground, until SIGTERM or Ctrl-C (which drain in-flight requests).
 */
import { Command } from 'commander';

/** The `lb` verb. lb/ is imported only when the verb runs (fast CLI start). */
export function lbCommand(): Command {
  return new Command('lb')
    .description('run the load balancer alone, in the foreground (SIGTERM/Ctrl-C drain and stop it, SIGHUP reloads the config)')
    .option('--config <file>', 'config file (the lb section is used)', './config.yaml')
    .addHelpText(
      'after',
      `
Examples:
  $ lbbench lb                          # ./config.yaml: :8080, metrics on :9090/metrics
  $ lbbench lb --config my-config.yaml
  $ kill -HUP <pid>                     # reload backends, weights, algorithm, health, pool, retries
  $ curl localhost:9090/metrics         # Prometheus metrics, summed over workers

A bad config exits with code 2 and starts nothing; a port already in use exits with 3.`,
    )
    .action(async (opts: { config: string }) => {
      const { runBalancer } = await import('../../lb/main.js');
      await runBalancer({ configPath: opts.config });
    });
}
