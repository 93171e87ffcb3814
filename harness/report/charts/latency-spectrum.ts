/**
 * latency_percentiles: the percentile spectrum, drawn as HdrHistogram's
 * plotter draws it (x: percentile on a log scale of 1/(1-p)). Reads
 * `details.spectrum`: a map from `lb` (the target) or `direct` to
 * `{ percentile, valueUs }[]`.
 */
import { asRecord, asRecords, chartId, pointsOf, type Chart, type ChartSeries, type ScenarioVariant } from './chart.js';

/** The percentiles a category renderer (Mermaid) shows, evenly spaced on the 1/(1-p) scale from p90. */
const TICKS = [
  { x: 50, label: 'p50' },
  { x: 90, label: 'p90' },
  { x: 99, label: 'p99' },
  { x: 99.9, label: 'p99.9' },
  { x: 99.99, label: 'p99.99' },
  { x: 99.999, label: 'p99.999' },
  { x: 100, label: 'max' },
];

export function latencySpectrumCharts(scenario: string, variants: readonly ScenarioVariant[]): Chart[] {
  const series: ChartSeries[] = [];
  let direct: ChartSeries | undefined;
  for (const v of variants) {
    const spectrum = asRecord(v.details['spectrum']);
    if (!spectrum) continue;
    for (const [key, value] of Object.entries(spectrum)) {
      const points = pointsOf(
        asRecords(value),
        (p) => p['percentile'],
        (p) => (typeof p['valueUs'] === 'number' ? p['valueUs'] / 1000 : undefined),
      );
      if (points.length === 0) continue;
      if (key === 'direct') direct ??= { name: 'direct', kind: 'line', points };
      else series.push({ name: key === 'lb' ? v.label : `${v.label} ${key}`, kind: 'line', points });
    }
  }
  if (direct) series.push(direct);
  if (series.length === 0) return [];
  const top = Math.max(...series.flatMap((s) => s.points.map((p) => p.x)));
  return [
    {
      id: chartId(scenario, 'spectrum'),
      scenario,
      title: 'Latency by percentile (open loop)',
      x: { label: 'percentile', unit: '%', scale: 'percentile' },
      y: { label: 'latency', unit: 'ms' },
      series,
      markers: [],
      ticks: TICKS.filter((t) => t.x <= top),
    },
  ];
}
