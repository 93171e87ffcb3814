import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALGORITHMS, type AlgorithmName } from '../../../common/config.js';
import { LbbenchError } from '../../../common/errors.js';
import { BALANCERS, createBalancer } from '../../../lb/balancers/index.js';
import { mulberry32 } from '../../../lb/balancers/seeded-random.js';
import type { BalancerBackend, PickContext } from '../../../lb/balancers/balancer.js';

const backends: BalancerBackend[] = [
  { index: 0, name: 'backend-8001', weight: 5 },
  { index: 1, name: 'backend-8002', weight: 3 },
  { index: 2, name: 'backend-8003', weight: 2 },
];

test('BALANCERS holds exactly the configurable algorithms', () => {
  assert.deepEqual(Object.keys(BALANCERS).sort(), [...ALGORITHMS].sort());
  assert.ok(Object.isFrozen(BALANCERS));
});

test('every algorithm: masked backends are never picked; retry by masking reaches each backend once', () => {
  const rng = mulberry32(99);
  for (const name of ALGORITHMS) {
    const b = createBalancer(name, backends, { random: rng });
    const ctx: PickContext = { clientIp: '', hashKey: undefined, inFlight: new Int32Array(3) };
    for (let i = 0; i < 2000; i++) {
      ctx.clientIp = `10.0.${i >> 8}.${i & 255}`;
      ctx.inFlight[i % 3] = i % 5;
      const mask = Uint8Array.of(1, 1, 1);
      mask[i % 3] = 0;
      const id = b.pick(ctx, mask);
      assert.ok(id >= 0 && mask[id] === 1, `${name}: picked ${id} with mask ${mask.join('')}`);
      // A retry loop: each attempt masks what was tried.
      const retry = Uint8Array.of(1, 1, 1);
      const tried: number[] = [];
      for (let t = b.pick(ctx, retry); t !== -1; t = b.pick(ctx, retry)) {
        assert.equal(retry[t], 1, `${name}: retried ${t} twice`);
        retry[t] = 0;
        tried.push(t);
      }
      assert.equal(tried.length, 3, `${name}: tried ${tried.join(',')}`);
    }
    assert.equal(b.pick(ctx, Uint8Array.of(0, 0, 0)), -1, name);
  }
});

test('every algorithm returns -1 with no backends', () => {
  const ctx: PickContext = { clientIp: '127.0.0.1', hashKey: undefined, inFlight: new Int32Array(0) };
  for (const name of ALGORITHMS) assert.equal(createBalancer(name, []).pick(ctx, new Uint8Array(0)), -1, name);
});

test('createBalancer rejects an unknown algorithm and a bad weight with typed errors', () => {
  assert.throws(
    () => createBalancer('fastest' as AlgorithmName, backends),
    (err: unknown) => err instanceof LbbenchError && err.code === 'LBB_ERR_UNKNOWN_ALGORITHM' && err.exitCode === 2,
  );
  assert.throws(
    () => createBalancer('toString' as AlgorithmName, backends),
    (err: unknown) => err instanceof LbbenchError && err.code === 'LBB_ERR_UNKNOWN_ALGORITHM',
  );
  assert.throws(
    () => createBalancer('round_robin', [{ index: 0, name: 'x', weight: 0 }]),
    (err: unknown) => err instanceof LbbenchError && err.code === 'LBB_ERR_BAD_BACKEND',
  );
});
