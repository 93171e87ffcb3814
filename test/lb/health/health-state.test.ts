import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthState } from '../../../lb/health/health-state.js';

/**
 * Steps: S = success, F = failure, D = markDown, U = markUp. Expected: the
 * state after each step (u/d), upper-case where that step changed it.
 */
const cases: { rise: number; fall: number; steps: string; expected: string }[] = [
  { rise: 2, fall: 2, steps: 'SSS', expected: 'uuu' },
  { rise: 2, fall: 2, steps: 'FF', expected: 'uD' },
  { rise: 2, fall: 2, steps: 'FSFSF', expected: 'uuuuu' },
  { rise: 2, fall: 2, steps: 'FFSS', expected: 'uDdU' },
  { rise: 2, fall: 2, steps: 'FFSFSS', expected: 'uDdddU' },
  { rise: 1, fall: 1, steps: 'FSFS', expected: 'DUDU' },
  { rise: 3, fall: 2, steps: 'FFSSFSSS', expected: 'uDdddddU' },
  { rise: 2, fall: 2, steps: 'D', expected: 'D' },
  { rise: 2, fall: 2, steps: 'DD', expected: 'Dd' },
  { rise: 2, fall: 2, steps: 'DSS', expected: 'DdU' },
  // A passive failure while down restarts the count toward rise.
  { rise: 2, fall: 2, steps: 'DSDSS', expected: 'DdddU' },
  { rise: 2, fall: 2, steps: 'FDSS', expected: 'uDdU' },
  { rise: 2, fall: 2, steps: 'DU', expected: 'DU' },
  { rise: 2, fall: 2, steps: 'U', expected: 'u' },
];

test('HealthState follows rise/fall and passive markDown', () => {
  for (const c of cases) {
    const h = new HealthState(c.rise, c.fall);
    assert.equal(h.up, true, 'starts up');
    let got = '';
    for (const step of c.steps) {
      const changed = step === 'S' ? h.recordSuccess() : step === 'F' ? h.recordFailure() : step === 'D' ? h.markDown() : h.markUp();
      const letter = h.up ? 'u' : 'd';
      got += changed ? letter.toUpperCase() : letter;
    }
    assert.equal(got, c.expected, JSON.stringify(c));
  }
});

test('HealthState counts consecutive results toward the next flip', () => {
  const h = new HealthState(3, 3);
  h.recordFailure();
  h.recordFailure();
  assert.equal(h.consecutive, 2);
  h.recordSuccess();
  assert.equal(h.consecutive, 0);
});
