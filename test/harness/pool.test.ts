import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolRuns } from '../../harness/compare/pool.js';
import { fixtureRun, fixtureScenario } from './report-fixture.js';
import { itemAt } from '../../common/checked.js';

test('poolRuns: one sample per run (or each run repeat), medians, worst status', () => {
  const run = (p99: number, status: 'ok' | 'invalid' = 'ok') =>
    fixtureRun({ scenarios: [fixtureScenario({ name: 'lat', metrics: { p99_ms: p99 }, status, invalidReasons: status === 'ok' ? [] : ['saturated'] })] });
  const repeated = fixtureRun({
    scenarios: [
      fixtureScenario({
        name: 'lat',
        metrics: { p99_ms: 5 },
        repeats: [4, 5, 9].map((v) => ({ loads: [], lines: [], metrics: { p99_ms: v }, details: {} })),
      }),
    ],
  });
  const pooled = poolRuns([run(3), run(1), repeated, run(2, 'invalid')]);
  const s = itemAt(pooled.scenarios, 0, 'pooled.scenarios[0]');
  assert.deepEqual(s.samples, { p99_ms: [3, 1, 4, 5, 9, 2] });
  assert.equal(s.metrics['p99_ms'], 3.5);
  assert.equal(s.stats!['p99_ms']?.n, 6);
  assert.equal(s.status, 'invalid');
  assert.deepEqual(s.invalidReasons, ['run 4: saturated']);
  assert.equal(pooled.repeat, 4);
});
