/**
 * The whole balancer in the current process, with one proxy (no cluster):
 * proxy server, health registry and metrics endpoint. Tests and embedders
 * use it; `lbbench lb` uses the cluster (lb/primary.ts).
 */
import type { AddressInfo } from 'node:net';
import type { LbConfig } from '../common/config.js';
import { InvalidRunError } from '../common/errors.js';
import { HealthHub, mergeReloadedConfig } from './health-hub.js';
import { LbMetrics, startMetricsServer } from './metrics/lb-metrics.js';
import { ProxyCore } from './proxy.js';
import { ErrorCode } from '../common/error-codes.js';

/** A balancer running in this process. */
export interface RunningBalancer {
  /** Actual client port (0 in config picks a free one). */
  readonly port: number;
  /** Actual metrics port. */
  readonly metricsPort: number;
  /** The proxy (counters, local health copy). */
  readonly core: ProxyCore;
  /** Applies a new validated config (listen/metrics/workers are kept). */
  reload(lb: LbConfig): void;
  /** Drains (up to `timeouts.drainMs`, or `drainMs`), then stops health and metrics. */
  close(drainMs?: number): Promise<void>;
}

/**
 * Starts a single-process balancer for `lb` on `lb.listen` and
 * `lb.metrics`. Throws InvalidRunError (exit 3) when a port cannot be bound.
 */
export async function startBalancer(lb: LbConfig): Promise<RunningBalancer> {
  let current = lb;
  let generation = 1;
  let hub: HealthHub;
  const core = new ProxyCore({
    reportPassiveFailure(gen, index, reason) {
      if (hub.reportPassiveFailure(gen, index, reason)) core.setHealth(gen, index, true);
    },
  });
  const metrics = new LbMetrics({
    backendNames: () => current.backends.map((b) => b.name),
    health: () => hub.states(),
    collect: async () => [{ worker: 'main', snapshot: core.counters.snapshot() }],
  });
  metrics.workers = 1;
  const newHub = (cfg: LbConfig, gen: number) => new HealthHub(cfg, gen, metrics, (g, i, up) => core.setHealth(g, i, up));
  hub = newHub(lb, generation);
  core.applyConfig(lb, generation, hub.states());

  const server = core.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(lb.listen.port, lb.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: Error) => {
    throw new InvalidRunError(ErrorCode.LISTEN, `listen ${lb.listen.host}:${lb.listen.port}: ${err.message}`, { cause: err });
  });
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    metricsServer = await startMetricsServer(metrics, lb.metrics.host, lb.metrics.port);
  } catch (err) {
    server.close();
    await core.closePools(0);
    throw new InvalidRunError(ErrorCode.LISTEN, `metrics port ${lb.metrics.host}:${lb.metrics.port}: ${(err as Error).message}`, { cause: err });
  }
  hub.start();
  let closing: Promise<void> | null = null;

  return {
    port: (server.address() as AddressInfo).port,
    metricsPort: metricsServer.port,
    core,
    reload(next: LbConfig) {
      current = mergeReloadedConfig(current, next);
      hub.stop();
      generation++;
      hub = newHub(current, generation);
      core.applyConfig(current, generation, hub.states());
      hub.start();
    },
    close(drainMs?: number) {
      closing ??= (async () => {
        await core.drain(server, drainMs ?? current.timeouts.drainMs);
        hub.stop();
        metricsServer.server.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
