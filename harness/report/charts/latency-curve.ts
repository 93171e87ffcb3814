/**
 * latency_curve: p99 against the offered rate, one line per curve (`direct`
 * and each target), with each curve's knee marked. Reads `details.curves`
 * (`{ label, kneeRps, points: { offeredRps, p50Ms, p99Ms }[] }[]`, see
 * CONTRACT.md).
 */
import { asNumber, asRecords, chartId, pointsOf, type Chart, type ChartMarker, type ChartSeries, type ScenarioVariant } from './chart.js';

export function latencyCurveCharts(scenario: string, variants: readonly ScenarioVariant[]): Chart[] {
  const series: ChartSeries[] = [];
  const markers: ChartMarker[] = [];
  const seen = new Set<string>();
  for (const v of variants) {
    for (const c of asRecords(v.details['curves'])) {
      const curve = typeof c['label'] === 'string' ? c['label'] : v.label;
      // Every target's run measures `direct` again; with repeats each repeat is its own line.
      const name = v.repeat === undefined ? curve : `${curve} #${v.repeat}`;
      if (seen.has(name)) continue;
      seen.add(name);
      const points = pointsOf(
        asRecords(c['points']),
        (p) => p['offeredRps'],
        (p) => p['p99Ms'],
      );
      if (points.length === 0) continue;
      series.push({ name: `${name} p99`, kind: 'line', points });
      const knee = asNumber(c['kneeRps']);
      if (knee !== undefined) markers.push({ x: knee, label: `knee ${name}` });
    }
  }
  if (series.length === 0) return [];
  return [
    {
      id: chartId(scenario, 'curve'),
      scenario,
      title: 'p99 latency against offered rate',
      x: { label: 'offered rate', unit: 'req/s', scale: 'linear' },
      y: { label: 'p99', unit: 'ms' },
      series,
      markers,
    },
  ];
}
