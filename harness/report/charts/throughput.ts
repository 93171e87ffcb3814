/**
 * throughput: GB/s by target (and repeat), with the direct-to-backend
 * figure beside them. Reads the metrics `gigabytes_per_second` and
 * `direct_gigabytes_per_second`.
 */
import { chartId, type Chart, type ScenarioVariant } from './chart.js';
import { valueAt } from '../../../common/checked.js';

export function throughputCharts(scenario: string, variants: readonly ScenarioVariant[]): Chart[] {
  const bars = variants
    .filter((v) => v.metrics['gigabytes_per_second'] !== undefined)
    .map((v) => ({ label: v.label, value: valueAt(v.metrics, 'gigabytes_per_second', 'v.metrics.gigabytes_per_second') }));
  if (bars.length === 0) return [];
  const direct = variants.map((v) => v.metrics['direct_gigabytes_per_second']).find((d) => d !== undefined);
  if (direct !== undefined) bars.push({ label: 'direct', value: direct });
  return [
    {
      id: chartId(scenario, 'gbps'),
      scenario,
      title: 'Throughput by target',
      x: { label: 'target', unit: '', scale: 'category', categories: bars.map((b) => b.label) },
      y: { label: 'throughput', unit: 'GB/s' },
      series: [{ name: 'GB/s', kind: 'bar', points: bars.map((b, i) => ({ x: i, y: b.value })) }],
      markers: [],
    },
  ];
}
