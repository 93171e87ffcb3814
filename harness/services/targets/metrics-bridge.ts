/**
 * A small HTTP server in the harness that answers `GET /metrics` in
 * Prometheus text with lbbench's metric names, filled on each request by a
 * MetricsAdapter from what a foreign target exposes (HAProxy's exporter,
 * nginx's stub_status) and from the test backends' own counters. The
 * scenarios and the sampler scrape it exactly like our balancer's
 * /metrics, so they run unchanged against every target. Listens on
 * 127.0.0.1 on a free port; never started for targets that speak our names.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PromSample } from '../../result/scenario-api.js';
import { valueAt } from '../../../common/checked.js';

/** Maps what a target exposes onto lbbench's metric names. */
export interface MetricsAdapter {
  /** One scrape, as samples named as in README's "Metrics" (`lb_requests_total{backend,code}`, ...).
   * Rejects when the target's own endpoint does not answer. */
  collect(signal: AbortSignal): Promise<PromSample[]>;
}

/** How long one bridged scrape may take before it answers 503, ms. */
const COLLECT_TIMEOUT_MS = 1_800;

/** Renders samples as Prometheus text (no HELP/TYPE lines). */
export function renderPrometheusText(samples: readonly PromSample[]): string {
  const lines = samples.map((s) => {
    const keys = Object.keys(s.labels);
    const labels =
      keys.length === 0
        ? ''
        : `{${keys.map((k) => `${k}="${valueAt(s.labels, k, `label ${k}`).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
    return `${s.name}${labels} ${Number.isFinite(s.value) ? s.value : s.value > 0 ? '+Inf' : '-Inf'}`;
  });
  return lines.join('\n') + '\n';
}

/** A running bridge. Its URL stays the same for its life, so a sampler
 * started before a balancer restart keeps working after it. */
export interface MetricsBridge {
  /** e.g. `http://127.0.0.1:41234/metrics`. */
  readonly url: string;
  /** What the next scrapes serve; undefined answers 503. */
  adapter: MetricsAdapter | undefined;
  close(): Promise<void>;
}

/** Starts a bridge (serving nothing until `adapter` is set); resolves once it listens. */
export async function startMetricsBridge(): Promise<MetricsBridge> {
  let current: MetricsAdapter | undefined;
  const server = http.createServer((req, res) => {
    const adapter = current;
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
      return;
    }
    if (!adapter) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no target is running\n');
      return;
    }
    adapter.collect(AbortSignal.timeout(COLLECT_TIMEOUT_MS)).then(
      (samples) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderPrometheusText(samples)),
      (err: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`the target's metrics did not answer: ${(err as Error).message}\n`),
    );
  });
  // Scrapes are few and short; never keep the harness alive for one.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    get adapter() {
      return current;
    },
    set adapter(a: MetricsAdapter | undefined) {
      current = a;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GETs `url` and returns its body text; rejects on a non-2xx status. */
export async function fetchText(url: string, signal: AbortSignal): Promise<string> {
  const res = await fetch(url, { signal, headers: { connection: 'close' } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return text;
}
