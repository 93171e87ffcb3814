/**
 * `lbbench lb`: the balancer alone, in the foreground. SIGTERM/SIGINT drain
 * and stop it; SIGHUP reloads the config file (an invalid one is logged and
 * refused, the running config stays).
 */
import { loadConfig } from '../common/config.js';
import { logLine } from './log.js';
import { startCluster } from './primary.js';

/** Options of runBalancer. */
export interface RunBalancerOptions {
  /** Path of the config file (`config.yaml`); re-read on SIGHUP. */
  configPath: string;
  /** Worker count, overriding `lb.workers`. */
  workers?: number;
}

/**
 * Runs the clustered balancer until SIGTERM or SIGINT, then drains (up to
 * `lb.timeouts.drainMs`) and resolves. A bad config throws InputError (exit
 * 2) before anything listens; a port that cannot be bound throws
 * InvalidRunError (exit 3).
 */
export async function runBalancer(opts: RunBalancerOptions): Promise<void> {
  const config = loadConfig(opts.configPath);
  const lb = config.lb;
  const handle = await startCluster(lb, { configPath: opts.configPath, workers: opts.workers });
  logLine(
    `listening on http://${lb.listen.host}:${handle.port} (metrics http://${lb.metrics.host}:${handle.metricsPort}/metrics, ` +
      `${handle.workerCount} worker(s), accept ${handle.acceptMode}, ${lb.algorithm}, ${lb.backends.length} backend(s), node ${process.versions.node})`,
  );
  await new Promise<void>((resolve) => {
    const onStop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      process.off('SIGHUP', onHup);
      logLine(`${signal}: draining (up to ${lb.timeouts.drainMs}ms)`);
      handle.stop().then(resolve, resolve);
    };
    const onHup = () => {
      logLine(`SIGHUP: reloading ${opts.configPath}`);
      handle.reload();
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onHup);
  });
  logLine('stopped');
}
