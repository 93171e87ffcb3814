/**
 * lbbench's per-backend metrics from the test backends' own counters
 * (`GET /stats`, backend/stats.ts), for targets that cannot give them:
 * requests, upstream connections opened and open, and body bytes. So
 * distribution, pooling and failover work through any balancer.
 *
 * Counters stay monotonic across a backend's restart (failover kills and
 * restarts one): when a backend answers with a new PID, what its previous
 * process counted is carried over. A backend that does not answer keeps its
 * last values.
 */
import type { BackendStatsSnapshot } from '../../../backend/stats.js';
import { MetricName } from '../../../common/metric-names.js';
import type { PromSample } from '../../result/scenario-api.js';

/** What one backend process counted (the part we export). */
interface Counted {
  requests: number;
  connects: number;
  bytesIn: number;
  bytesOut: number;
}

const ZERO: Counted = { requests: 0, connects: 0, bytesIn: 0, bytesOut: 0 };

function add(a: Counted, b: Counted): Counted {
  return { requests: a.requests + b.requests, connects: a.connects + b.connects, bytesIn: a.bytesIn + b.bytesIn, bytesOut: a.bytesOut + b.bytesOut };
}

/** The counted part of a `/stats` answer. Health checks are not traffic. */
export function countedOf(stats: Pick<BackendStatsSnapshot, 'requests' | 'connections' | 'bytes'>): Counted {
  return {
    requests: stats.requests.total - stats.requests.byFamily.health,
    connects: stats.connections.total,
    bytesIn: stats.bytes.in,
    bytesOut: stats.bytes.out,
  };
}

interface BackendState {
  pid: number;
  /** Carried over from earlier processes of this backend. */
  carried: Counted;
  last: Counted;
  open: number;
}

/** Which families of metrics BackendCounters exports. */
export interface BackendCounterOptions {
  /** `lb_requests_total{backend,code="any"}`. Default true. */
  requests?: boolean;
  /** `lb_bytes_total{direction}` summed over backends. Default true. */
  bytes?: boolean;
}

/** Per-backend counters from `/stats`, monotonic across restarts. */
export class BackendCounters {
  private readonly state = new Map<string, BackendState>();

  constructor(
    private readonly backends: () => ReadonlyMap<string, string>,
    private readonly options: BackendCounterOptions = {},
  ) {}

  /** Reads every backend's `/stats` (in parallel) and returns the samples. */
  async collect(signal: AbortSignal): Promise<PromSample[]> {
    const entries = [...this.backends().entries()];
    await Promise.all(entries.map(([name, url]) => this.update(name, url, signal)));
    const out: PromSample[] = [];
    let bytesIn = 0;
    let bytesOut = 0;
    for (const [name] of entries) {
      const s = this.state.get(name);
      const total = s ? add(s.carried, s.last) : ZERO;
      bytesIn += total.bytesIn;
      bytesOut += total.bytesOut;
      if (this.options.requests ?? true) out.push({ name: MetricName.requests, labels: { backend: name, code: 'any' }, value: total.requests });
      out.push({ name: MetricName.upstreamConnects, labels: { backend: name }, value: total.connects });
      out.push({ name: MetricName.upstreamConnections, labels: { backend: name }, value: s?.open ?? 0 });
    }
    if (this.options.bytes ?? true) {
      out.push({ name: MetricName.bytes, labels: { direction: 'in' }, value: bytesIn });
      out.push({ name: MetricName.bytes, labels: { direction: 'out' }, value: bytesOut });
    }
    return out;
  }

  private async update(name: string, url: string, signal: AbortSignal): Promise<void> {
    let stats: BackendStatsSnapshot;
    try {
      const res = await fetch(new URL('/stats', url), { signal, headers: { connection: 'close' } });
      if (!res.ok) {
        await res.body?.cancel();
        return;
      }
      stats = (await res.json()) as BackendStatsSnapshot;
    } catch {
      // Down (killed in failover) or slow: keep the last values; open is 0.
      const s = this.state.get(name);
      if (s) s.open = 0;
      return;
    }
    const counted = countedOf(stats);
    const s = this.state.get(name);
    if (!s) {
      this.state.set(name, { pid: stats.pid, carried: ZERO, last: counted, open: stats.connections.open });
      return;
    }
    if (s.pid !== stats.pid) {
      s.carried = add(s.carried, s.last);
      s.pid = stats.pid;
    }
    s.last = counted;
    s.open = stats.connections.open;
  }
}
