/**
 * The `haproxy` target: HAProxy in the foreground from a rendered config
 * (harness/services/targets/haproxy-config.ts), metrics from its built-in Prometheus
 * exporter on the metrics address, mapped onto lbbench's names.
 */
import path from 'node:path';
import type { LbConfig } from '../../../common/config.js';
import { MetricName } from '../../../common/metric-names.js';
import type { ManagedChild } from '../managed-child.js';
import { parsePrometheusText } from '../../sampling/prom-text.js';
import type { PromSample } from '../../result/scenario-api.js';
import { BackendCounters } from './backend-counters.js';
import { INSTALL_HINT, ForeignTarget, locateProgram, programOutput } from './foreign-target.js';
import { HAPROXY_BACKEND, HAPROXY_FRONTEND, haproxyNotes, renderHaproxyConfig } from './haproxy-config.js';
import { fetchText, type MetricsAdapter } from './metrics-bridge.js';
import { lbMetricsUrl, waitUntilProxying } from './target-helpers.js';
import type { Availability, RenderedConfig, TargetHost, TargetMetrics } from './target.js';

/** What HAProxy's exporter cannot give. */
export const HAPROXY_MISSING: Readonly<Record<string, string>> = {
  [MetricName.workerRestarts]: 'HAProxy runs threads in one process and exposes no worker restarts',
};

/**
 * lbbench names from HAProxy exporter samples (pure):
 * `haproxy_frontend_current_sessions` -> `lb_active_connections`,
 * `haproxy_frontend_bytes_{in,out}_total` -> `lb_bytes_total{direction}`,
 * `haproxy_server_status{state="UP"}` -> `lb_backend_health{backend}`,
 * `haproxy_server_http_responses_total{code}` -> `lb_requests_total{backend,code}`.
 */
export function mapHaproxySamples(samples: readonly PromSample[], frontend = HAPROXY_FRONTEND, backend = HAPROXY_BACKEND): PromSample[] {
  const out: PromSample[] = [];
  const health = new Map<string, number>();
  for (const s of samples) {
    const proxy = s.labels['proxy'];
    if (proxy === frontend) {
      if (s.name === 'haproxy_frontend_current_sessions') out.push({ name: MetricName.activeConnections, labels: {}, value: s.value });
      else if (s.name === 'haproxy_frontend_bytes_in_total') out.push({ name: MetricName.bytes, labels: { direction: 'in' }, value: s.value });
      else if (s.name === 'haproxy_frontend_bytes_out_total') out.push({ name: MetricName.bytes, labels: { direction: 'out' }, value: s.value });
    } else if (proxy === backend && s.labels['server'] !== undefined) {
      const server = s.labels['server'];
      if (s.name === 'haproxy_server_status') {
        // HAProxy 2.4+: one series per state, 1 for the current one.
        if (s.labels['state'] === 'UP') health.set(server, s.value > 0 ? 1 : 0);
        else if (!health.has(server)) health.set(server, 0);
      } else if (s.name === 'haproxy_server_http_responses_total') {
        out.push({ name: MetricName.requests, labels: { backend: server, code: s.labels['code'] ?? 'other' }, value: s.value });
      }
    }
  }
  for (const [server, value] of health) out.push({ name: MetricName.backendHealth, labels: { backend: server }, value });
  return out;
}

/** lbbench metrics from HAProxy's exporter (and upstream connections from the backends). */
export class HaproxyExporterAdapter implements MetricsAdapter {
  constructor(
    private readonly exporterUrl: string,
    private readonly counters: BackendCounters,
  ) {}

  async collect(signal: AbortSignal): Promise<PromSample[]> {
    const [text, counted] = await Promise.all([fetchText(this.exporterUrl, signal), this.counters.collect(signal)]);
    return [...mapHaproxySamples(parsePrometheusText(text)), ...counted];
  }
}

/** HAProxy as a target. */
export class HaproxyTarget extends ForeignTarget {
  constructor(name = 'haproxy', binary = 'haproxy') {
    super(name, 'haproxy', binary);
  }

  async available(): Promise<Availability> {
    if (!locateProgram(this.binary)) return { ok: false, reason: `${this.binary} is not on PATH`, hint: INSTALL_HINT };
    const out = await programOutput(locateProgram(this.binary)!, ['-v']);
    const version = /HAProxy version (\S+)/.exec(out ?? '')?.[1];
    return version ? { ok: true, version: `HAProxy ${version}` } : { ok: true };
  }

  renderConfig(lb: LbConfig, dir: string): RenderedConfig {
    return { file: path.join(dir, 'haproxy.cfg'), text: renderHaproxyConfig(lb) };
  }

  protected args(_lb: LbConfig, file: string): string[] {
    return ['-f', file, '-db'];
  }

  protected async waitReady(lb: LbConfig, child: ManagedChild, host: TargetHost): Promise<void> {
    await waitUntilProxying(lb, child, host, lbMetricsUrl(lb));
  }

  metrics(lb: LbConfig, host: TargetHost): TargetMetrics {
    // Requests and bytes are HAProxy's own; only upstream connections come from the backends.
    return { adapter: new HaproxyExporterAdapter(lbMetricsUrl(lb), new BackendCounters(() => host.backends(), { requests: false, bytes: false })) };
  }

  missingMetrics(): Readonly<Record<string, string>> {
    return HAPROXY_MISSING;
  }

  notes(lb: LbConfig): string[] {
    return haproxyNotes(lb);
  }
}
