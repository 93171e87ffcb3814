/**
 * lat_conn: p99 and p50 against connections (open loop), one line per
 * target or repeat, the direct-to-backend p99 as its own line; and the
 * closed-loop capacity at each level. Reads `details.levels`
 * (`{ connections, p99Us, p50Us, directP99Us?, capacityRps? }[]`).
 */
import { asRecords, chartId, pointsOf, type Chart, type ChartSeries, type ScenarioVariant } from './chart.js';

const US_PER_MS = 1000;

export function latencyVsConnectionsCharts(scenario: string, variants: readonly ScenarioVariant[]): Chart[] {
  const withLevels = variants
    .map((v) => ({ v, levels: asRecords(v.details['levels']).filter((l) => typeof l['connections'] === 'number') }))
    .filter((x) => x.levels.length > 0);
  if (withLevels.length === 0) return [];
  const latency: ChartSeries[] = [];
  const capacity: ChartSeries[] = [];
  for (const { v, levels } of withLevels) {
    latency.push({
      name: `${v.label} p99`,
      kind: 'line',
      points: pointsOf(
        levels,
        (l) => l['connections'],
        (l) => ms(l['p99Us']),
      ),
    });
    latency.push({
      name: `${v.label} p50`,
      kind: 'line',
      points: pointsOf(
        levels,
        (l) => l['connections'],
        (l) => ms(l['p50Us']),
      ),
    });
    capacity.push({
      name: `${v.label} capacity`,
      kind: 'bar',
      points: pointsOf(
        levels,
        (l) => l['connections'],
        (l) => l['capacityRps'],
      ),
    });
  }
  // The direct baseline does not depend on the target: drawn once.
  const direct = withLevels
    .map(({ levels }) =>
      pointsOf(
        levels,
        (l) => l['connections'],
        (l) => ms(l['directP99Us']),
      ),
    )
    .find((p) => p.length > 0);
  if (direct) latency.push({ name: 'direct p99', kind: 'line', points: direct });

  const connections = [...new Set(withLevels.flatMap(({ levels }) => levels.map((l) => l['connections'] as number)))].sort((a, b) => a - b);
  const ticks = connections.map((c) => ({ x: c, label: String(c) }));
  const x = { label: 'connections', unit: '', scale: 'linear' as const };
  const charts: Chart[] = [
    {
      id: chartId(scenario, 'latency'),
      scenario,
      title: 'Latency against connections (open loop)',
      x,
      y: { label: 'latency', unit: 'ms' },
      series: latency,
      markers: [],
      ticks,
    },
  ];
  if (capacity.some((s) => s.points.length > 0)) {
    // Bars side by side per level: the levels become categories.
    const asCategories = capacity.map((s) => ({ ...s, points: s.points.map((p) => ({ x: connections.indexOf(p.x), y: p.y })) }));
    charts.push({
      id: chartId(scenario, 'capacity'),
      scenario,
      title: 'Capacity against connections (closed loop)',
      x: { ...x, scale: 'category', categories: connections.map(String) },
      y: { label: 'throughput', unit: 'req/s' },
      series: asCategories,
      markers: [],
    });
  }
  return charts;
}

function ms(us: unknown): number | undefined {
  return typeof us === 'number' ? us / US_PER_MS : undefined;
}
