import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomBalancer } from '../../../lb/balancers/random.js';
import { mulberry32 } from '../../../lb/balancers/seeded-random.js';
import type { BalancerBackend, PickContext } from '../../../lb/balancers/balancer.js';
import { itemAt } from '../../../common/checked.js';
import { tally } from './tally.js';

const backends: BalancerBackend[] = [
  { index: 0, name: 'a', weight: 5 },
  { index: 1, name: 'b', weight: 3 },
  { index: 2, name: 'c', weight: 2 },
];
const ctx: PickContext = { clientIp: '127.0.0.1', hashKey: undefined, inFlight: new Int32Array(3) };

/** A random source that returns the given values in turn. */
function scripted(values: number[]): () => number {
  let i = 0;
  return () => itemAt(values, i++ % values.length, 'values[i++ % values.length]');
}

test('random maps the draw onto cumulative weights', () => {
  const draws = [0, 0.49, 0.5, 0.79, 0.8, 0.9999];
  const b = new RandomBalancer(backends, { random: scripted(draws) });
  const all = Uint8Array.of(1, 1, 1);
  assert.deepEqual(
    draws.map(() => b.pick(ctx, all)),
    [0, 0, 1, 1, 2, 2],
  );
});

test('random draws only over eligible weights', () => {
  // a masked: b and c share 3:2, so 0.59 -> b and 0.6 -> c.
  const b = new RandomBalancer(backends, { random: scripted([0, 0.59, 0.6, 0.99]) });
  const mask = Uint8Array.of(0, 1, 1);
  assert.deepEqual(
    [0, 1, 2, 3].map(() => b.pick(ctx, mask)),
    [1, 1, 2, 2],
  );
  assert.equal(b.pick(ctx, Uint8Array.of(0, 0, 0)), -1);
});

test('random with a seeded RNG follows the weights within 1.5 points', () => {
  const b = new RandomBalancer(backends, { random: mulberry32(42) });
  const all = Uint8Array.of(1, 1, 1);
  const counts = [0, 0, 0];
  const n = 100_000;
  for (let i = 0; i < n; i++) tally(counts, b.pick(ctx, all));
  const shares = counts.map((c) => (100 * c) / n);
  [50, 30, 20].forEach((expected, i) => assert.ok(Math.abs(itemAt(shares, i, 'shares[i]') - expected) < 1.5, `shares ${shares.join(', ')}`));
});

test('random never picks a masked backend', () => {
  const b = new RandomBalancer(backends, { random: mulberry32(7) });
  const mask = Uint8Array.of(1, 0, 1);
  for (let i = 0; i < 10_000; i++) assert.notEqual(b.pick(ctx, mask), 1);
});
