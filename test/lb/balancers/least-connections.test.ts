import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeastConnectionsBalancer } from '../../../lb/balancers/least-connections.js';
import { WeightedRoundRobinBalancer } from '../../../lb/balancers/weighted-round-robin.js';
import type { BalancerBackend, PickContext } from '../../../lb/balancers/balancer.js';
import { tally } from './tally.js';

function makeBackends(...weights: number[]): BalancerBackend[] {
  return weights.map((weight, index) => ({ index, name: String.fromCharCode(97 + index), weight }));
}
function makeCtx(...inFlight: number[]): PickContext {
  return { clientIp: '127.0.0.1', hashKey: undefined, inFlight: Int32Array.from(inFlight) };
}

test('least_connections with equal load per weight picks exactly like smooth WRR', () => {
  // Equal load per weight means a full tie: idle backends, or equal weights
  // with equal counts. (Equal counts with unequal weights are not a tie: the
  // heavier backend has the lower inFlight/weight.)
  const cases: { weights: number[]; inFlight: number[] }[] = [
    { weights: [5, 3, 2], inFlight: [0, 0, 0] },
    { weights: [1, 1, 1], inFlight: [4, 4, 4] },
    { weights: [4, 2, 1], inFlight: [8, 4, 2] },
  ];
  for (const c of cases) {
    const lc = new LeastConnectionsBalancer(makeBackends(...c.weights));
    const wrr = new WeightedRoundRobinBalancer(makeBackends(...c.weights));
    const ctx = makeCtx(...c.inFlight);
    const mask = Uint8Array.of(1, 1, 1);
    for (let i = 0; i < 1000; i++) assert.equal(lc.pick(ctx, mask), wrr.pick(ctx, mask), `${JSON.stringify(c)} pick ${i}`);
  }
});

test('least_connections picks the lowest inFlight/weight', () => {
  const mask = Uint8Array.of(1, 1, 1);
  const cases: { weights: number[]; inFlight: number[]; expected: number }[] = [
    { weights: [1, 1, 1], inFlight: [3, 0, 2], expected: 1 },
    { weights: [1, 1, 1], inFlight: [0, 5, 5], expected: 0 },
    // 7/4 < 2/1 < 3/1: weight scales capacity.
    { weights: [4, 1, 1], inFlight: [7, 2, 3], expected: 0 },
    { weights: [4, 1, 1], inFlight: [9, 2, 3], expected: 1 },
  ];
  for (const c of cases) {
    const b = new LeastConnectionsBalancer(makeBackends(...c.weights));
    assert.equal(b.pick(makeCtx(...c.inFlight), mask), c.expected, JSON.stringify(c));
  }
});

test('least_connections breaks ties with smooth WRR among the tied only', () => {
  const b = new LeastConnectionsBalancer(makeBackends(1, 2, 1));
  // a is busier; b (weight 2) and c tie at 0, so b,c share 2:1 smoothly.
  const ctx = makeCtx(5, 0, 0);
  const mask = Uint8Array.of(1, 1, 1);
  let s = '';
  for (let i = 0; i < 6; i++) s += 'abc'[b.pick(ctx, mask)];
  assert.equal(s, 'bcbbcb');
});

test('least_connections never picks an ineligible backend, even the least loaded', () => {
  const b = new LeastConnectionsBalancer(makeBackends(1, 1, 1));
  assert.equal(b.pick(makeCtx(0, 5, 3), Uint8Array.of(0, 1, 1)), 2);
  assert.equal(b.pick(makeCtx(0, 5, 3), Uint8Array.of(0, 0, 0)), -1);
});

test('least_connections keeps in-flight per weight level when the proxy tracks it', () => {
  const b = new LeastConnectionsBalancer(makeBackends(5, 3, 2));
  const ctx = makeCtx(0, 0, 0);
  const mask = Uint8Array.of(1, 1, 1);
  // Open 100 requests without completing any: load follows the weights.
  for (let i = 0; i < 100; i++) tally(ctx.inFlight, b.pick(ctx, mask));
  assert.deepEqual(Array.from(ctx.inFlight), [50, 30, 20]);
});
