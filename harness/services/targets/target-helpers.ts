/**
 * Small pieces every target uses: the URLs of an `lb` section and the
 * readiness wait ("metrics answer, then a proxied GET answers below 500").
 */
import type { LbConfig } from '../../../common/config.js';
import type { ManagedChild } from '../managed-child.js';
import { connectHost } from '../ports.js';
import { probeHttp, waitUntil } from '../readiness.js';
import type { TargetHost } from './target.js';

/** Base URL of the balancer's listen address, e.g. `http://127.0.0.1:8080`. */
export function lbBaseUrl(lb: LbConfig): string {
  return `http://${connectHost(lb.listen.host)}:${lb.listen.port}`;
}

/** The balancer's metrics URL, e.g. `http://127.0.0.1:9090/metrics`. */
export function lbMetricsUrl(lb: LbConfig): string {
  return `http://${connectHost(lb.metrics.host)}:${lb.metrics.port}/metrics`;
}

/**
 * Waits until `metricsUrl` answers 200 (skipped when undefined) and a GET of
 * `readyPath` (default the health-check path) through the balancer answers
 * below 500: metrics can answer before the proxy listens or before any
 * backend is marked up, so only a proxied answer means "ready".
 */
export async function waitUntilProxying(
  lb: LbConfig,
  child: ManagedChild | undefined,
  host: Pick<TargetHost, 'harness' | 'signal'>,
  metricsUrl: string | undefined,
  readyPath: string = lb.health.active.path,
  baseUrl: string = lbBaseUrl(lb),
): Promise<void> {
  const deadlineMs = host.harness.startTimeoutMs;
  const common = { deadlineMs, signal: host.signal, ...(child ? { child } : {}) };
  if (metricsUrl !== undefined) {
    await waitUntil(async () => (await probeHttp(metricsUrl)) === 200, { what: `the balancer's metrics endpoint ${metricsUrl}`, ...common });
  }
  await waitUntil(
    async () => {
      const status = await probeHttp(new URL(readyPath, baseUrl).href);
      return status !== undefined && status < 500;
    },
    { what: `the balancer at ${baseUrl} (proxied GET ${readyPath})`, ...common },
  );
}
