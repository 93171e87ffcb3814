import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsistentHashBalancer, hash32 } from '../../../lb/balancers/consistent-hash.js';
import type { BalancerBackend, PickContext } from '../../../lb/balancers/balancer.js';
import { itemAt } from '../../../common/checked.js';

const four: BalancerBackend[] = ['b0', 'b1', 'b2', 'b3'].map((name, index) => ({ index, name, weight: 1 }));
const keys = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

function owners(b: ConsistentHashBalancer, mask: Uint8Array, list: readonly BalancerBackend[] = four): string[] {
  const ctx: PickContext = { clientIp: '', hashKey: undefined, inFlight: new Int32Array(list.length) };
  return keys.map((ip) => {
    ctx.clientIp = ip;
    const id = b.pick(ctx, mask);
    return id < 0 ? '-' : itemAt(list, id, `backend ${id}`).name;
  });
}

function shares(names: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of names) m.set(n, (m.get(n) ?? 0) + 1 / names.length);
  return m;
}

test('hash32 is a deterministic unsigned 32-bit hash', () => {
  assert.equal(hash32('backend-8001#0'), hash32('backend-8001#0'));
  assert.notEqual(hash32('backend-8001#0'), hash32('backend-8001#1'));
  for (const s of ['', 'a', '127.0.0.1', 'é€']) {
    const h = hash32(s);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32, `${s} -> ${h}`);
  }
});

test('consistent_hash: same key, same backend, across instances', () => {
  const all = Uint8Array.of(1, 1, 1, 1);
  const first = owners(new ConsistentHashBalancer(four), all);
  assert.deepEqual(owners(new ConsistentHashBalancer(four), all), first);
  assert.deepEqual(owners(new ConsistentHashBalancer(four), all), first);
});

test('consistent_hash spreads keys over backends, by weight', () => {
  const even = shares(owners(new ConsistentHashBalancer(four), Uint8Array.of(1, 1, 1, 1)));
  for (const [name, share] of even) assert.ok(share > 0.17 && share < 0.33, `${name}: ${share}`);
  const weighted = four.map((b, i) => ({ ...b, weight: i === 0 ? 3 : 1 }));
  const skewed = shares(owners(new ConsistentHashBalancer(weighted), Uint8Array.of(1, 1, 1, 1), weighted));
  // b0 has 3 of 6 weight units.
  assert.ok(skewed.get('b0')! > 0.4 && skewed.get('b0')! < 0.6, `b0: ${skewed.get('b0')}`);
});

test('consistent_hash: hashKey wins over clientIp; undefined falls back to clientIp', () => {
  const b = new ConsistentHashBalancer(four);
  const all = Uint8Array.of(1, 1, 1, 1);
  const byKey = (hashKey: string | undefined, clientIp: string) => b.pick({ clientIp, hashKey, inFlight: new Int32Array(4) }, all);
  for (let i = 0; i < 200; i++) {
    assert.equal(byKey(`user-${i}`, '10.0.0.1'), byKey(`user-${i}`, '10.0.0.2'));
    assert.equal(byKey(undefined, `user-${i}`), byKey(`user-${i}`, 'x'));
  }
});

test('consistent_hash: when a backend leaves only its keys move, and they return with it', () => {
  const b = new ConsistentHashBalancer(four);
  const before = owners(b, Uint8Array.of(1, 1, 1, 1));
  const during = owners(b, Uint8Array.of(1, 1, 0, 1));
  let moved = 0;
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === 'b2') {
      assert.notEqual(during[i], 'b2');
      moved++;
    } else assert.equal(during[i], before[i], `key ${keys[i]} moved off ${before[i]}`);
  }
  assert.ok(moved / keys.length > 0.17 && moved / keys.length < 0.33, `moved ${moved}`);
  assert.deepEqual(owners(b, Uint8Array.of(1, 1, 1, 1)), before);

  // Removing b2 from the list (a rebuild) gives the same mapping as masking it.
  const three = four.filter((x) => x.name !== 'b2').map((x, index) => ({ ...x, index }));
  assert.deepEqual(owners(new ConsistentHashBalancer(three), Uint8Array.of(1, 1, 1), three), during);
});

test('consistent_hash returns -1 when nothing is eligible, and honours virtualNodes', () => {
  const b = new ConsistentHashBalancer(four, { virtualNodes: 1 });
  const ctx: PickContext = { clientIp: '10.0.0.1', hashKey: undefined, inFlight: new Int32Array(4) };
  assert.equal(b.pick(ctx, Uint8Array.of(0, 0, 0, 0)), -1);
  for (let i = 0; i < 4; i++) {
    const mask = Uint8Array.of(0, 0, 0, 0);
    mask[i] = 1;
    assert.equal(b.pick(ctx, mask), i);
  }
});
