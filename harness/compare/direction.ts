/**
 * Which way is better for a metric: `lower` (latency, errors, memory,
 * deviation), `higher` (rates, throughput, reuse, connections held) or
 * `none` (counts that follow the settings, e.g. `requests_total`). Decided
 * by the metric's own thresholds first (`<` means lower is better), then by
 * the name rules below, in order. `speed` says whether a worse value is
 * "slower" (latency, rates) or merely "worse".
 */
import { parseThresholdExpr } from '../../common/threshold-expr.js';
import type { ThresholdConfig } from '../../common/config.js';

export type Direction = 'lower' | 'higher' | 'none';

export interface MetricDirection {
  better: Direction;
  /** A latency or a rate: worse reads "slower", better "faster". */
  speed: boolean;
}

/** Name rules, first match wins. */
const RULES: readonly { pattern: RegExp; better: Direction; speed: boolean }[] = [
  { pattern: /(^|_)(requests|bytes|gigabytes)_per_second|(^|_)rps(_|$)|capacity_rps|throughput_ratio/, better: 'higher', speed: true },
  { pattern: /reuse_ratio|connections_peak|connections_established|(^|_)max_conn_/, better: 'higher', speed: false },
  { pattern: /(^|_)p\d+(_\d+)?_ms|(^|_)p\d+_ratio|latency|_ms_c\d+$|(^|_)(mean|max|min)_ms/, better: 'lower', speed: true },
  { pattern: /detection_ms|recovery_ms|ramp_ms|boot_ms|drift_ratio/, better: 'lower', speed: true },
  { pattern: /error|restarts|deviation|disagreement|rss|_kb|_mb(_|$)|cpu/, better: 'lower', speed: false },
];

/** The direction of `metric`, from `thresholds` naming it, else the name rules. */
export function metricDirection(metric: string, thresholds: readonly ThresholdConfig[] = []): MetricDirection {
  const rule = RULES.find((r) => r.pattern.test(metric));
  const speed = rule?.speed ?? false;
  for (const t of thresholds) {
    const expr = parseThresholdExpr(t.target);
    if ('error' in expr || expr.metric !== metric) continue;
    if (expr.op === '<' || expr.op === '<=') return { better: 'lower', speed };
    if (expr.op === '>' || expr.op === '>=') return { better: 'higher', speed };
  }
  return rule ? { better: rule.better, speed } : { better: 'none', speed: false };
}
