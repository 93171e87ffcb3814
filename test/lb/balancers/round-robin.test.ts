import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinBalancer } from '../../../lb/balancers/round-robin.js';
import type { BalancerBackend, PickContext } from '../../../lb/balancers/balancer.js';

const backends: BalancerBackend[] = [
  { index: 0, name: 'a', weight: 5 },
  { index: 1, name: 'b', weight: 3 },
  { index: 2, name: 'c', weight: 2 },
];
const ctx: PickContext = { clientIp: '127.0.0.1', hashKey: undefined, inFlight: new Int32Array(3) };
const names = (ids: number[]) => ids.map((i) => (i < 0 ? '-' : backends[i]?.name)).join('');

function picks(b: RoundRobinBalancer, mask: Uint8Array, n: number): number[] {
  return Array.from({ length: n }, () => b.pick(ctx, mask));
}

test('round_robin cycles in order and ignores weights', () => {
  const b = new RoundRobinBalancer(backends);
  assert.equal(names(picks(b, Uint8Array.of(1, 1, 1), 7)), 'abcabca');
});

test('round_robin skips ineligible backends and returns -1 when none is eligible', () => {
  const b = new RoundRobinBalancer(backends);
  assert.equal(names(picks(b, Uint8Array.of(1, 0, 1), 4)), 'acac');
  assert.equal(b.pick(ctx, Uint8Array.of(0, 0, 0)), -1);
});

test('round_robin does not advance when it returns -1', () => {
  const b = new RoundRobinBalancer(backends);
  assert.equal(b.pick(ctx, Uint8Array.of(1, 1, 1)), 0);
  assert.equal(b.pick(ctx, Uint8Array.of(0, 0, 0)), -1);
  assert.equal(b.pick(ctx, Uint8Array.of(1, 1, 1)), 1);
});

test('round_robin retry with the tried backend masked gets the next one', () => {
  const b = new RoundRobinBalancer(backends);
  const mask = Uint8Array.of(1, 1, 1);
  const first = b.pick(ctx, mask);
  mask[first] = 0;
  const second = b.pick(ctx, mask);
  mask[second] = 0;
  const third = b.pick(ctx, mask);
  mask[third] = 0;
  assert.deepEqual([first, second, third].sort(), [0, 1, 2]);
  assert.equal(b.pick(ctx, mask), -1);
});
