/**
 * The scenario kinds: an explicit map from the `kind` of a scenario file to
 * its settings schema, runner and the metrics it produces. One file per
 * kind, named after it (`lat-conn.ts` for `lat_conn`).
 */
import { chaosKind } from './chaos.js';
import { connectionPoolingKind } from './connection-pooling.js';
import { connRateKind } from './conn-rate.js';
import { connStormKind } from './conn-storm.js';
import { connectionsKind } from './connections.js';
import { distributionKind } from './distribution.js';
import { failoverKind } from './failover.js';
import { latConnKind } from './lat-conn.js';
import { latencyCurveKind } from './latency-curve.js';
import { latencyPercentilesKind } from './latency-percentiles.js';
import { memoryProfileKind } from './memory-profile.js';
import type { ScenarioKind } from './shared.js';
import { stabilityKind } from './stability.js';
import { throughputKind } from './throughput.js';

export type { ScenarioKind } from './shared.js';

/** Every scenario kind by name. */
export const SCENARIO_KINDS: Readonly<Record<string, ScenarioKind>> = Object.freeze({
  lat_conn: latConnKind,
  throughput: throughputKind,
  failover: failoverKind,
  distribution: distributionKind,
  memory_profile: memoryProfileKind,
  connection_pooling: connectionPoolingKind,
  latency_percentiles: latencyPercentilesKind,
  stability: stabilityKind,
  connections: connectionsKind,
  latency_curve: latencyCurveKind,
  conn_rate: connRateKind,
  conn_storm: connStormKind,
  chaos: chaosKind,
});

/**
 * Whether scenarios of `kind` produce the metric `name` (patterns with
 * `{n}` match any number, e.g. `p99_ms_c{n}` matches `p99_ms_c1000`). False
 * for an unknown kind. Lets validation reject a threshold on a metric that
 * can never exist, instead of a silent SKIP after the run.
 */
export function kindProducesMetric(kind: string, name: string): boolean {
  const k = Object.hasOwn(SCENARIO_KINDS, kind) ? SCENARIO_KINDS[kind] : undefined;
  if (!k) return false;
  return k.metrics.some((m) => (m.includes('{n}') ? metricPattern(m).test(name) : m === name));
}

function metricPattern(pattern: string): RegExp {
  const escaped = pattern.split('{n}').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('\\d+')}$`);
}
