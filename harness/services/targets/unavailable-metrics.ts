/**
 * Which scenario metrics a target cannot provide. Scenarios compute some
 * of their figures from the balancer's own metrics (README's "Metrics" names); when
 * the target under test does not expose one of those (nginx open source has
 * no health gauge), the figures built on it mean nothing, so they are taken
 * out of `metrics` and listed in `ScenarioOutcome.unavailable` with the
 * reason, and their thresholds are judged N/A, never PASS.
 */
import { MetricName } from '../../../common/metric-names.js';
import { valueAt } from '../../../common/checked.js';

/** Scenario metrics (by pattern) and the balancer metrics they are computed from. */
export const SCENARIO_METRIC_SOURCES: readonly { metric: RegExp; needs: readonly string[] }[] = [
  // failover: the time to the health gauge's drop and back.
  { metric: /^(detection_ms|recovery_ms)$/, needs: [MetricName.backendHealth] },
  // stability: worker restarts counted by the balancer.
  { metric: /^worker_restarts$/, needs: [MetricName.workerRestarts] },
  // connections, stability, lat_conn, memory_profile: connections the balancer held.
  { metric: /^(active_connections_peak|max_conn_c\d+|rss_per_connection_kb.*)$/, needs: [MetricName.activeConnections] },
  // throughput: the balancer's byte counter against the client's.
  { metric: /^(prometheus_bytes_total|bytes_disagreement_pct)$/, needs: [MetricName.bytes] },
  // connection_pooling: upstream connections opened per request.
  { metric: /^(reuse_ratio|requests_per_upstream_connection).*$/, needs: [MetricName.upstreamConnects, MetricName.requests] },
  // distribution: requests per backend.
  { metric: /^deviation_pct.*$/, needs: [MetricName.requests] },
];

/**
 * The metrics among `names` that a target missing `missing` (balancer
 * metric -> reason) cannot provide, each with the reason; pure.
 */
export function unavailableMetrics(names: Iterable<string>, missing: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  if (Object.keys(missing).length === 0) return out;
  for (const name of names) {
    const rule = SCENARIO_METRIC_SOURCES.find((r) => r.metric.test(name));
    const lacking = rule?.needs.find((n) => Object.hasOwn(missing, n));
    if (lacking !== undefined) out[name] = valueAt(missing, lacking, `the reason ${lacking} is missing`);
  }
  return out;
}

/**
 * `metrics` without those a target cannot provide, and the reasons; the
 * names judged include the thresholds' own (a metric the scenario did not
 * produce is still N/A, not "not measured"). Pure.
 */
export function withoutUnavailable(
  metrics: Readonly<Record<string, number>>,
  thresholdMetrics: readonly string[],
  missing: Readonly<Record<string, string>>,
): { metrics: Record<string, number>; unavailable: Record<string, string> } {
  const unavailable = unavailableMetrics(new Set([...Object.keys(metrics), ...thresholdMetrics]), missing);
  const kept: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) if (!Object.hasOwn(unavailable, k)) kept[k] = v;
  return { metrics: kept, unavailable };
}
