import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PowerOfTwoChoicesBalancer } from '../../../lb/balancers/power-of-two-choices.js';
import { mulberry32 } from '../../../lb/balancers/seeded-random.js';
import type { BalancerBackend, PickContext } from '../../../lb/balancers/balancer.js';
import { itemAt } from '../../../common/checked.js';
import { tally } from './tally.js';

function makeBackends(...weights: number[]): BalancerBackend[] {
  return weights.map((weight, index) => ({ index, name: String.fromCharCode(97 + index), weight }));
}
function makeCtx(...inFlight: number[]): PickContext {
  return { clientIp: '127.0.0.1', hashKey: undefined, inFlight: Int32Array.from(inFlight) };
}
function scripted(values: number[]): () => number {
  let i = 0;
  return () => itemAt(values, i++ % values.length, 'values[i++ % values.length]');
}

test('power_of_two_choices: the less loaded of the two draws wins, the first on a tie', () => {
  // Draw 1: 0 -> a. Draw 2 over b,c (a excluded): 0.99 -> c.
  const cases: { inFlight: number[]; expected: number }[] = [
    { inFlight: [5, 0, 0], expected: 2 },
    { inFlight: [0, 0, 5], expected: 0 },
    { inFlight: [3, 0, 3], expected: 0 },
  ];
  for (const c of cases) {
    const b = new PowerOfTwoChoicesBalancer(makeBackends(1, 1, 1), { random: scripted([0, 0.99]) });
    assert.equal(b.pick(makeCtx(...c.inFlight), Uint8Array.of(1, 1, 1)), c.expected, JSON.stringify(c));
  }
});

test('power_of_two_choices compares inFlight per unit of weight', () => {
  // a (weight 4) with 6 in flight is less loaded than c (weight 1) with 2.
  const b = new PowerOfTwoChoicesBalancer(makeBackends(4, 1, 1), { random: scripted([0, 0.99]) });
  assert.equal(b.pick(makeCtx(6, 0, 2), Uint8Array.of(1, 1, 1)), 0);
});

test('power_of_two_choices draws two distinct backends', () => {
  // Both draws 0: the second cannot be a again, so it is b.
  const b = new PowerOfTwoChoicesBalancer(makeBackends(1, 1, 1), { random: scripted([0]) });
  assert.equal(b.pick(makeCtx(9, 0, 0), Uint8Array.of(1, 1, 1)), 1);
});

test('power_of_two_choices with one or no eligible backend', () => {
  const b = new PowerOfTwoChoicesBalancer(makeBackends(1, 1, 1), { random: mulberry32(1) });
  for (let i = 0; i < 100; i++) assert.equal(b.pick(makeCtx(9, 0, 0), Uint8Array.of(1, 0, 0)), 0);
  assert.equal(b.pick(makeCtx(0, 0, 0), Uint8Array.of(0, 0, 0)), -1);
});

test('power_of_two_choices steers load away from a slow backend (seeded)', () => {
  const b = new PowerOfTwoChoicesBalancer(makeBackends(1, 1, 1), { random: mulberry32(3) });
  const ctx = makeCtx(0, 0, 0);
  const mask = Uint8Array.of(1, 1, 1);
  const counts = [0, 0, 0];
  // Backend a never completes; b and c complete at once. a gets picked only
  // when it was not drawn against a less loaded rival, which stops after its
  // first request.
  for (let i = 0; i < 3000; i++) {
    const id = b.pick(ctx, mask);
    tally(counts, id);
    if (id === 0) tally(ctx.inFlight, 0);
  }
  assert.ok(itemAt(counts, 0, 'counts[0]') <= 2, `counts ${counts.join(', ')}`);
  assert.ok(Math.abs(itemAt(counts, 1, 'counts[1]') - itemAt(counts, 2, 'counts[2]')) < 300, `counts ${counts.join(', ')}`);
});

test('power_of_two_choices never picks a masked backend (seeded)', () => {
  const b = new PowerOfTwoChoicesBalancer(makeBackends(5, 3, 2, 1), { random: mulberry32(11) });
  const ctx = makeCtx(0, 0, 0, 0);
  const mask = Uint8Array.of(1, 0, 1, 1);
  for (let i = 0; i < 10_000; i++) {
    ctx.inFlight[i % 4] = i % 7;
    assert.notEqual(b.pick(ctx, mask), 1);
  }
});
