/**
 * The balancer's Prometheus endpoint, kept by the process that owns health
 * (the cluster primary, or the single process of `startBalancer`). On each
 * scrape it asks its source for fresh worker snapshots, sums them with the
 * totals of workers that died (so counters stay monotonic), and renders the
 * contract names of common/metric-names.ts plus prom-client's process metrics.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { MetricName, ErrorKind } from '../../common/metric-names.js';
import { RETRY_REASONS } from '../error-status.js';
import { DURATION_BUCKETS_S, type WorkerSnapshot } from './worker-counters.js';

/** A worker's latest snapshot, labelled with its id. */
export interface LabelledSnapshot {
  /** Worker label, e.g. `1` (cluster worker id) or `main`. */
  worker: string;
  snapshot: WorkerSnapshot;
}

/** What LbMetrics reads on each scrape. */
export interface MetricsSource {
  /** Names of the configured backends, in config order. */
  backendNames(): readonly string[];
  /** Health per configured backend, same order. */
  health(): readonly boolean[];
  /** Fresh (or last known) snapshots of the live workers. */
  collect(): Promise<LabelledSnapshot[]>;
}

interface BackendSum {
  requests: Map<string, number>;
  buckets: number[];
  sumS: number;
  retries: Map<string, number>;
  activeRequests: number;
  queuedRequests: number;
  upstreamConnections: number;
  upstreamConnects: number;
}

interface Sum {
  activeConnections: number;
  bytesIn: number;
  bytesOut: number;
  errors: Map<string, number>;
  backends: Map<string, BackendSum>;
}

function emptySum(): Sum {
  return { activeConnections: 0, bytesIn: 0, bytesOut: 0, errors: new Map(), backends: new Map() };
}

function addTo(map: Map<string, number>, key: string, v: number): void {
  map.set(key, (map.get(key) ?? 0) + v);
}

function backendSum(sum: Sum, name: string): BackendSum {
  let b = sum.backends.get(name);
  if (b === undefined) {
    b = {
      requests: new Map(),
      buckets: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0),
      sumS: 0,
      retries: new Map(),
      activeRequests: 0,
      queuedRequests: 0,
      upstreamConnections: 0,
      upstreamConnects: 0,
    };
    sum.backends.set(name, b);
  }
  return b;
}

/** Adds `snap` into `sum`; gauges only when `withGauges` (a dead worker has none). */
function addSnapshot(sum: Sum, snap: WorkerSnapshot, withGauges: boolean): void {
  sum.bytesIn += snap.bytesIn;
  sum.bytesOut += snap.bytesOut;
  for (const [k, v] of Object.entries(snap.errors)) addTo(sum.errors, k, v);
  if (withGauges) sum.activeConnections += snap.activeConnections;
  for (const b of snap.backends) {
    const s = backendSum(sum, b.name);
    for (const [code, v] of Object.entries(b.requests)) addTo(s.requests, code, v);
    b.durationBuckets.forEach((v, i) => (s.buckets[i] = (s.buckets[i] ?? 0) + v));
    s.sumS += b.durationSumS;
    for (const [r, v] of Object.entries(b.retries)) addTo(s.retries, r, v);
    s.upstreamConnects += b.upstreamConnects;
    if (withGauges) {
      s.activeRequests += b.activeRequests;
      s.queuedRequests += b.queuedRequests;
      s.upstreamConnections += b.upstreamConnections;
    }
  }
}

function mergeSums(a: Sum, b: Sum): Sum {
  const out = emptySum();
  for (const src of [a, b]) {
    out.activeConnections += src.activeConnections;
    out.bytesIn += src.bytesIn;
    out.bytesOut += src.bytesOut;
    for (const [k, v] of src.errors) addTo(out.errors, k, v);
    for (const [name, s] of src.backends) {
      const o = backendSum(out, name);
      for (const [k, v] of s.requests) addTo(o.requests, k, v);
      s.buckets.forEach((v, i) => (o.buckets[i] = (o.buckets[i] ?? 0) + v));
      o.sumS += s.sumS;
      for (const [k, v] of s.retries) addTo(o.retries, k, v);
      o.activeRequests += s.activeRequests;
      o.queuedRequests += s.queuedRequests;
      o.upstreamConnections += s.upstreamConnections;
      o.upstreamConnects += s.upstreamConnects;
    }
  }
  return out;
}

interface MetricValue {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
}

/** A metric whose values are computed from the current scrape's view; it
 * has the shape prom-client's Registry expects of a metric. */
class ViewMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly values: () => MetricValue[],
  ) {}
  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }
  reset(): void {}
}

/** The metrics of one balancer. */
export class LbMetrics {
  /** Prometheus text content type. */
  readonly contentType: string;
  private readonly registry = new Registry();
  private retired = emptySum();
  private view = emptySum();
  private perWorkerRss: LabelledSnapshot[] = [];
  private readonly checks = new Map<string, { success: number; failure: number }>();
  /** Worker processes restarted after dying (counter). */
  workerRestarts = 0;
  /** Worker processes running now (gauge). */
  workers = 0;

  constructor(private readonly source: MetricsSource) {
    this.contentType = this.registry.contentType;
    collectDefaultMetrics({ register: this.registry });
    for (const m of this.buildMetrics()) this.registry.registerMetric(m as never);
  }

  /** Folds a dead worker's last snapshot into the retired totals. */
  retire(snap: WorkerSnapshot): void {
    addSnapshot(this.retired, snap, false);
  }

  /** Counts one active health check of backend `name`. */
  countCheck(name: string, ok: boolean): void {
    let c = this.checks.get(name);
    if (c === undefined) {
      c = { success: 0, failure: 0 };
      this.checks.set(name, c);
    }
    if (ok) c.success++;
    else c.failure++;
  }

  /** Collects fresh snapshots and renders the exposition text. */
  async render(): Promise<string> {
    const live = await this.source.collect();
    const sum = emptySum();
    for (const l of live) addSnapshot(sum, l.snapshot, true);
    this.view = mergeSums(sum, this.retired);
    this.perWorkerRss = live;
    return this.registry.metrics();
  }

  private perBackend(f: (name: string, s: BackendSum | undefined) => MetricValue[]): () => MetricValue[] {
    return () => {
      const out: MetricValue[] = [];
      const names = new Set([...this.source.backendNames(), ...this.view.backends.keys()]);
      for (const name of names) out.push(...f(name, this.view.backends.get(name)));
      return out;
    };
  }

  private buildMetrics(): ViewMetric[] {
    const current = () => this.source.backendNames();
    return [
      new ViewMetric(MetricName.activeConnections, 'Open client connections, summed over workers.', 'gauge', () => [{ value: this.view.activeConnections }]),
      new ViewMetric(MetricName.backendHealth, 'Backend health: 1 healthy, 0 not.', 'gauge', () => {
        const up = this.source.health();
        return current().map((name, i) => ({ value: up[i] ? 1 : 0, labels: { backend: name } }));
      }),
      new ViewMetric(MetricName.bytes, 'Body bytes from (in) and to (out) clients.', 'counter', () => [
        { value: this.view.bytesIn, labels: { direction: 'in' } },
        { value: this.view.bytesOut, labels: { direction: 'out' } },
      ]),
      new ViewMetric(
        MetricName.requests,
        'Responses sent to clients, by backend and status code.',
        'counter',
        this.perBackend((name, s) => (s ? [...s.requests].map(([code, v]) => ({ value: v, labels: { backend: name, code } })) : [])),
      ),
      new ViewMetric(
        MetricName.requestDuration,
        'Time from request received to response finished, seconds.',
        'histogram',
        this.perBackend((name, s) => {
          const out: MetricValue[] = [];
          const buckets = s?.buckets ?? new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0);
          let cum = 0;
          buckets.forEach((v, i) => {
            cum += v;
            const le = i < DURATION_BUCKETS_S.length ? String(DURATION_BUCKETS_S[i]) : '+Inf';
            out.push({ metricName: `${MetricName.requestDuration}_bucket`, value: cum, labels: { backend: name, le } });
          });
          out.push({ metricName: `${MetricName.requestDuration}_sum`, value: s?.sumS ?? 0, labels: { backend: name } });
          out.push({ metricName: `${MetricName.requestDuration}_count`, value: cum, labels: { backend: name } });
          return out;
        }),
      ),
      new ViewMetric(
        MetricName.backendActiveRequests,
        'Requests in flight to a backend.',
        'gauge',
        this.perBackend((name, s) => [{ value: s?.activeRequests ?? 0, labels: { backend: name } }]),
      ),
      new ViewMetric(
        MetricName.backendQueuedRequests,
        'Requests waiting for an upstream connection (every pool.maxConnections socket busy).',
        'gauge',
        this.perBackend((name, s) => [{ value: s?.queuedRequests ?? 0, labels: { backend: name } }]),
      ),
      new ViewMetric(
        MetricName.upstreamConnections,
        'Open upstream sockets.',
        'gauge',
        this.perBackend((name, s) => [{ value: s?.upstreamConnections ?? 0, labels: { backend: name } }]),
      ),
      new ViewMetric(
        MetricName.upstreamConnects,
        'New upstream connections opened (reuse ratio = 1 - connects / requests).',
        'counter',
        this.perBackend((name, s) => [{ value: s?.upstreamConnects ?? 0, labels: { backend: name } }]),
      ),
      new ViewMetric(
        MetricName.retries,
        'Retries on another backend, labelled with the backend that failed and why.',
        'counter',
        this.perBackend((name, s) => RETRY_REASONS.map((reason) => ({ value: s?.retries.get(reason) ?? 0, labels: { backend: name, reason } }))),
      ),
      new ViewMetric(MetricName.healthChecks, 'Active health checks, by backend and result.', 'counter', () => {
        const out: MetricValue[] = [];
        const names = new Set([...current(), ...this.checks.keys()]);
        for (const name of names) {
          const c = this.checks.get(name);
          out.push({ value: c?.success ?? 0, labels: { backend: name, result: 'success' } });
          out.push({ value: c?.failure ?? 0, labels: { backend: name, result: 'failure' } });
        }
        return out;
      }),
      new ViewMetric(MetricName.errors, 'Errors by kind.', 'counter', () => {
        const kinds = new Set<string>([...Object.values(ErrorKind), ...this.view.errors.keys()]);
        return [...kinds].map((kind) => ({ value: this.view.errors.get(kind) ?? 0, labels: { kind } }));
      }),
      new ViewMetric(MetricName.workerRestarts, 'Worker processes restarted after dying.', 'counter', () => [{ value: this.workerRestarts }]),
      new ViewMetric(MetricName.workers, 'Balancer worker processes running.', 'gauge', () => [{ value: this.workers }]),
      new ViewMetric('lb_worker_resident_memory_bytes', 'Resident memory of each worker process, bytes.', 'gauge', () =>
        this.perWorkerRss.map((l) => ({ value: l.snapshot.rssBytes, labels: { worker: l.worker } })),
      ),
    ];
  }
}

/**
 * Serves `GET /metrics` (anything else: 404) on host:port. Resolves once
 * listening; rejects with the listen error (e.g. EADDRINUSE).
 */
export async function startMetricsServer(metrics: LbMetrics, host: string, port: number): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (req.method !== 'GET' || (path !== '/metrics' && !path.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  return { server, port: (server.address() as AddressInfo).port };
}
