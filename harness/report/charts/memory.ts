/**
 * memory_profile and stability: the balancer's RSS (all its processes)
 * over time, with the phases marked, and against connections. Reads
 * `details.rssSamples` (`{ atMs, rssBytes, phase? }[]`) and the metrics
 * `rss_idle_mb` (0 connections) and `rss_mb_c<N>` (N connections).
 */
import { asNumber, asRecords, chartId, type Chart, type ChartMarker, type ChartPoint, type ChartSeries, type ScenarioVariant } from './chart.js';
import { itemAt } from '../../../common/checked.js';

const BYTES_PER_MIB = 1024 * 1024;

export function memoryCharts(scenario: string, variants: readonly ScenarioVariant[]): Chart[] {
  const overTime: ChartSeries[] = [];
  const markers: ChartMarker[] = [];
  const againstConnections: ChartSeries[] = [];
  for (const v of variants) {
    const samples = asRecords(v.details['rssSamples']).filter((r) => asNumber(r['atMs']) !== undefined && asNumber(r['rssBytes']) !== undefined);
    if (samples.length > 0) {
      const t0 = itemAt(samples, 0, 'samples[0]')['atMs'] as number;
      overTime.push({
        name: `${v.label} RSS`,
        kind: 'line',
        points: samples.map((r) => ({ x: ((r['atMs'] as number) - t0) / 1000, y: (r['rssBytes'] as number) / BYTES_PER_MIB })),
      });
      // Phase changes of the first variant only: the others' phases are at
      // nearly the same times and would double every marker.
      if (overTime.length === 1) {
        let phase: unknown;
        for (const r of samples) {
          if (typeof r['phase'] === 'string' && r['phase'] !== phase) markers.push({ x: ((r['atMs'] as number) - t0) / 1000, label: r['phase'] });
          phase = r['phase'];
        }
      }
    }
    const points: ChartPoint[] = [];
    const idle = v.metrics['rss_idle_mb'];
    if (idle !== undefined) points.push({ x: 0, y: idle });
    for (const [key, value] of Object.entries(v.metrics)) {
      const m = /^rss_mb_c(\d+)$/.exec(key);
      if (m) points.push({ x: Number(m[1]), y: value });
    }
    if (points.length > 1) againstConnections.push({ name: `${v.label} RSS`, kind: 'line', points: points.sort((a, b) => a.x - b.x) });
  }
  const charts: Chart[] = [];
  if (overTime.length > 0) {
    charts.push({
      id: chartId(scenario, 'rss-time'),
      scenario,
      title: 'Balancer RSS over time',
      x: { label: 'time since first sample', unit: 's', scale: 'linear' },
      y: { label: 'RSS', unit: 'MiB' },
      series: overTime,
      markers,
    });
  }
  if (againstConnections.length > 0) {
    const xs = [...new Set(againstConnections.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
    charts.push({
      id: chartId(scenario, 'rss-connections'),
      scenario,
      title: 'Balancer RSS against connections',
      x: { label: 'connections', unit: '', scale: 'linear' },
      y: { label: 'RSS', unit: 'MiB' },
      series: againstConnections,
      markers: [],
      ticks: xs.map((x) => ({ x, label: String(x) })),
    });
  }
  return charts;
}
