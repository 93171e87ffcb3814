import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeightedRoundRobinBalancer } from '../../../lb/balancers/weighted-round-robin.js';
import type { BalancerBackend, PickContext } from '../../../lb/balancers/balancer.js';
import { itemAt } from '../../../common/checked.js';
import { tally } from './tally.js';

function makeBackends(...weights: number[]): BalancerBackend[] {
  return weights.map((weight, index) => ({ index, name: String.fromCharCode(97 + index), weight }));
}
const ctx: PickContext = { clientIp: '127.0.0.1', hashKey: undefined, inFlight: new Int32Array(8) };

function sequence(b: WeightedRoundRobinBalancer, mask: Uint8Array, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const id = b.pick(ctx, mask);
    s += id < 0 ? '-' : String.fromCharCode(97 + id);
  }
  return s;
}

test('weighted_round_robin gives nginx smooth sequence for weights 5,1,1', () => {
  const b = new WeightedRoundRobinBalancer(makeBackends(5, 1, 1));
  // nginx's documented sequence, then it repeats.
  assert.equal(sequence(b, Uint8Array.of(1, 1, 1), 14), 'aabacaa'.repeat(2));
});

test('weighted_round_robin with equal weights is plain round robin', () => {
  const b = new WeightedRoundRobinBalancer(makeBackends(1, 1, 1));
  assert.equal(sequence(b, Uint8Array.of(1, 1, 1), 6), 'abcabc');
});

test('weighted_round_robin 5,3,2: exact shares, within one pick at every prefix', () => {
  const weights = [5, 3, 2];
  const b = new WeightedRoundRobinBalancer(makeBackends(...weights));
  const mask = Uint8Array.of(1, 1, 1);
  const counts = [0, 0, 0];
  for (let n = 1; n <= 10_000; n++) {
    tally(counts, b.pick(ctx, mask));
    for (let i = 0; i < 3; i++) {
      const exact = (n * itemAt(weights, i, 'weights[i]')) / 10;
      assert.ok(Math.abs(itemAt(counts, i, 'counts[i]') - exact) < 1, `prefix ${n}: backend ${i} has ${counts[i]}, exact share ${exact}`);
    }
  }
  assert.deepEqual(counts, [5000, 3000, 2000]);
});

test('weighted_round_robin: an ineligible backend sits out and the rest keep exact shares', () => {
  const b = new WeightedRoundRobinBalancer(makeBackends(5, 3, 2));
  const mask = Uint8Array.of(1, 1, 0);
  const counts = [0, 0, 0];
  for (let n = 0; n < 8000; n++) tally(counts, b.pick(ctx, mask));
  assert.deepEqual(counts, [5000, 3000, 0]);
  assert.equal(b.pick(ctx, Uint8Array.of(0, 0, 0)), -1);
});

test('weighted_round_robin retry with tried backends masked visits each backend once', () => {
  const b = new WeightedRoundRobinBalancer(makeBackends(5, 3, 2));
  for (let round = 0; round < 20; round++) {
    const mask = Uint8Array.of(1, 1, 1);
    const seen = new Set<number>();
    for (let id = b.pick(ctx, mask); id !== -1; id = b.pick(ctx, mask)) {
      assert.equal(mask[id], 1);
      seen.add(id);
      mask[id] = 0;
    }
    assert.equal(seen.size, 3);
  }
});
