/**
 * Prometheus view of a backend's counters. The request path never touches
 * prom-client: every metric is filled from the plain counters in `collect()`,
 * which runs only when `/metrics` is scraped.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { FaultSettings } from './options.js';
import type { BackendStats, FaultKind, RequestFamily } from './stats.js';

/** Names of the backend's own metrics; each series carries `backend="<name>"`. */
export const BackendMetricName = {
  /** counter{family}: requests by path family (see RequestFamily). */
  requests: 'backend_requests_total',
  /** counter{direction="in"|"out"}: body bytes. */
  bytes: 'backend_bytes_total',
  /** counter{kind}: injected faults (latency, error, close, hang). */
  faultsInjected: 'backend_faults_injected_total',
  /** gauge: open client connections. */
  connections: 'backend_connections',
  /** counter: client connections accepted. */
  connectionsAccepted: 'backend_connections_accepted_total',
  /** gauge: 1 when `/health` answers 200, 0 when 503. */
  healthy: 'backend_healthy',
  /** gauge: added latency, seconds. */
  faultLatency: 'backend_fault_latency_seconds',
  /** gauge: configured error rate, 0..1. */
  faultErrorRate: 'backend_fault_error_ratio',
  /** gauge: configured close rate, 0..1. */
  faultCloseRate: 'backend_fault_close_ratio',
  /** gauge: 1 while hanging every request. */
  faultHang: 'backend_fault_hang',
} as const;

/** Renders `/metrics`. */
export interface BackendMetrics {
  readonly contentType: string;
  render(): Promise<string>;
}

/**
 * Creates the registry of one backend. `name` becomes the default label
 * `backend`; `processMetrics` adds prom-client's process metrics.
 */
export function createBackendMetrics(stats: BackendStats, faults: FaultSettings, name: string, processMetrics: boolean): BackendMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ backend: name });
  const registers = [registry];

  new Counter({
    name: BackendMetricName.requests,
    help: 'Requests by path family (admin = /stats, /metrics, /control).',
    labelNames: ['family'],
    registers,
    collect() {
      this.reset();
      for (const family of Object.keys(stats.byFamily) as RequestFamily[]) this.inc({ family }, stats.byFamily[family]);
    },
  });
  new Counter({
    name: BackendMetricName.bytes,
    help: 'Body bytes: in = read from echo requests, out = handed to the socket.',
    labelNames: ['direction'],
    registers,
    collect() {
      this.reset();
      this.inc({ direction: 'in' }, stats.bytesIn);
      this.inc({ direction: 'out' }, stats.bytesOut);
    },
  });
  new Counter({
    name: BackendMetricName.faultsInjected,
    help: 'Injected faults by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const kind of Object.keys(stats.faultsInjected) as FaultKind[]) this.inc({ kind }, stats.faultsInjected[kind]);
    },
  });
  new Counter({
    name: BackendMetricName.connectionsAccepted,
    help: 'Client connections accepted.',
    registers,
    collect() {
      this.reset();
      this.inc(stats.connectionsTotal);
    },
  });
  const gauge = (metricName: string, help: string, read: () => number): void => {
    new Gauge({
      name: metricName,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  gauge(BackendMetricName.connections, 'Open client connections.', () => stats.connectionsOpen);
  gauge(BackendMetricName.healthy, '1 when /health answers 200, 0 when 503.', () => (faults.unhealthy ? 0 : 1));
  gauge(BackendMetricName.faultLatency, 'Added latency, seconds.', () => faults.latencyMs / 1000);
  gauge(BackendMetricName.faultErrorRate, 'Fraction of requests answered 500.', () => faults.errorRate);
  gauge(BackendMetricName.faultCloseRate, 'Fraction of responses cut mid-body.', () => faults.closeRate);
  gauge(BackendMetricName.faultHang, '1 while every request hangs.', () => (faults.hang ? 1 : 0));

  if (processMetrics) collectDefaultMetrics({ register: registry });

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
  };
}
