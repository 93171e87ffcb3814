import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, quantile } from '../../common/stats.js';
import { metricStats } from '../../harness/judge/repeat-stats.js';

test('quantiles interpolate linearly between order statistics (numpy default)', () => {
  const cases: { values: number[]; q: number; want: number }[] = [
    { values: [1], q: 0.25, want: 1 },
    { values: [3, 1, 2], q: 0.5, want: 2 },
    { values: [1, 2, 3, 4], q: 0.5, want: 2.5 },
    { values: [1, 2, 3, 4], q: 0.25, want: 1.75 },
    { values: [1, 2, 3, 4], q: 0.75, want: 3.25 },
    { values: [1.7, 1.8, 2.3, 9.4], q: 0.5, want: 2.05 },
    { values: [5, 1], q: 0, want: 1 },
    { values: [5, 1], q: 1, want: 5 },
  ];
  for (const c of cases) assert.ok(Math.abs(quantile(c.values, c.q) - c.want) < 1e-12, JSON.stringify(c));
  assert.ok(Number.isNaN(median([])));
});

test('metricStats: median, min/max, IQR and CV; non-finite samples are left out; input untouched', () => {
  const values = [10, 12, NaN, 11, 9, 13];
  const s = metricStats(values)!;
  assert.deepEqual(values, [10, 12, NaN, 11, 9, 13]);
  assert.equal(s.n, 5);
  assert.equal(s.median, 11);
  assert.deepEqual([s.min, s.max, s.q1, s.q3, s.iqr], [9, 13, 10, 12, 2]);
  // sample sd of 9..13 is sqrt(2.5); mean 11.
  assert.ok(Math.abs(s.cv - Math.sqrt(2.5) / 11) < 1e-12);
  assert.equal(metricStats([0, 0])!.cv, 0);
  assert.equal(metricStats([NaN]), undefined);
});
