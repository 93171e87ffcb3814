/**
 * failover: requests and errors per bucket (100 ms), and the p99 per
 * bucket, with the kill, detection, restart and recovery marked. Reads
 * `details.timeline` (`{ tMs, requests, errors, p99Us }[]`) and
 * `details.events` (`{ tMs, label }[]`), times from the start of the load.
 */
import { asNumber, asRecords, chartId, pointsOf, type Chart, type ChartMarker, type ChartSeries, type ScenarioVariant } from './chart.js';

export function failoverTimelineCharts(scenario: string, variants: readonly ScenarioVariant[]): Chart[] {
  const counts: ChartSeries[] = [];
  const p99: ChartSeries[] = [];
  const markers: ChartMarker[] = [];
  let bucketMs: number | undefined;
  const many = variants.length > 1;
  for (const v of variants) {
    const timeline = asRecords(v.details['timeline']);
    if (timeline.length === 0) continue;
    const t = (r: Record<string, unknown>): number | undefined => {
      const tMs = asNumber(r['tMs']);
      return tMs === undefined ? undefined : tMs / 1000;
    };
    const t0 = asNumber(timeline[0]?.['tMs']);
    const t1 = asNumber(timeline[1]?.['tMs']);
    if (bucketMs === undefined && t0 !== undefined && t1 !== undefined) bucketMs = t1 - t0;
    counts.push({ name: `${v.label} requests`, kind: 'line', points: pointsOf(timeline, t, (r) => r['requests']) });
    counts.push({ name: `${v.label} errors`, kind: 'bar', reduce: 'max', points: pointsOf(timeline, t, (r) => r['errors']) });
    p99.push({
      name: `${v.label} p99`,
      kind: 'line',
      reduce: 'max',
      points: pointsOf(timeline, t, (r) => (typeof r['p99Us'] === 'number' && (r['requests'] as number) > 0 ? r['p99Us'] / 1000 : undefined)),
    });
    for (const e of asRecords(v.details['events'])) {
      const x = t(e);
      if (x !== undefined && typeof e['label'] === 'string') markers.push({ x, label: many ? `${v.label}: ${e['label']}` : e['label'] });
    }
  }
  if (counts.length === 0) return [];
  const per = bucketMs === undefined ? 'bucket' : `${Math.round(bucketMs)} ms`;
  const x = { label: 'time since load start', unit: 's', scale: 'linear' as const };
  return [
    {
      id: chartId(scenario, 'requests'),
      scenario,
      title: `Requests and errors per ${per}`,
      x,
      y: { label: `responses per ${per}`, unit: '' },
      series: counts,
      markers,
    },
    { id: chartId(scenario, 'p99'), scenario, title: `p99 latency per ${per}`, x, y: { label: 'p99', unit: 'ms' }, series: p99, markers },
  ];
}
