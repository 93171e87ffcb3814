/**
 * distribution: the expected share of each backend (from its weight) against
 * the observed share, one chart per algorithm. Reads `details.algorithms`
 * (`{ algorithm, backends: { name, expectedShare, observedShare }[] }[]`,
 * shares as fractions).
 */
import { asNumber, asRecords, chartId, type Chart, type ChartSeries, type ScenarioVariant } from './chart.js';

export function distributionCharts(scenario: string, variants: readonly ScenarioVariant[]): Chart[] {
  const byAlgorithm = new Map<string, { backends: string[]; expected: Map<string, number>; observed: { label: string; shares: Map<string, number> }[] }>();
  for (const v of variants) {
    for (const a of asRecords(v.details['algorithms'])) {
      if (typeof a['algorithm'] !== 'string') continue;
      let entry = byAlgorithm.get(a['algorithm']);
      if (!entry) byAlgorithm.set(a['algorithm'], (entry = { backends: [], expected: new Map(), observed: [] }));
      const shares = new Map<string, number>();
      for (const b of asRecords(a['backends'])) {
        if (typeof b['name'] !== 'string') continue;
        if (!entry.backends.includes(b['name'])) entry.backends.push(b['name']);
        const expected = asNumber(b['expectedShare']);
        const observed = asNumber(b['observedShare']);
        if (expected !== undefined && !entry.expected.has(b['name'])) entry.expected.set(b['name'], expected * 100);
        if (observed !== undefined) shares.set(b['name'], observed * 100);
      }
      entry.observed.push({ label: v.label, shares });
    }
  }
  const charts: Chart[] = [];
  for (const [algorithm, e] of byAlgorithm) {
    const at = (m: Map<string, number>): { x: number; y: number }[] => e.backends.flatMap((name, i) => (m.has(name) ? [{ x: i, y: m.get(name)! }] : []));
    const series: ChartSeries[] = e.observed.map((o) => ({ name: `${o.label} observed`, kind: 'bar', points: at(o.shares) }));
    series.push({ name: 'expected', kind: 'line', points: at(e.expected) });
    charts.push({
      id: chartId(scenario, algorithm),
      scenario,
      title: `Share per backend: ${algorithm}`,
      x: { label: 'backend', unit: '', scale: 'category', categories: e.backends },
      y: { label: 'share of requests', unit: '%' },
      series,
      markers: [],
    });
  }
  return charts;
}
