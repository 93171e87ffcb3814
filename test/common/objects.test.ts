import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { deepMerge, isPlainObject } from '../../common/objects.js';

describe('deepMerge: table', () => {
  const cases: { base: Record<string, unknown>; over: Record<string, unknown>; want: Record<string, unknown> }[] = [
    { base: { a: 1, b: 2 }, over: { b: 3 }, want: { a: 1, b: 3 } },
    { base: { a: { x: 1, y: 2 } }, over: { a: { y: 3 } }, want: { a: { x: 1, y: 3 } } },
    { base: { levels: [1, 2, 3] }, over: { levels: [4] }, want: { levels: [4] } },
    { base: { a: { x: 1 } }, over: { a: null }, want: { a: null } },
    { base: {}, over: { a: { b: 1 } }, want: { a: { b: 1 } } },
  ];
  for (const [i, c] of cases.entries()) {
    it(`case ${i}`, () => assert.deepEqual(deepMerge(c.base, c.over), c.want));
  }
});

test('deepMerge merges mappings deeply, replaces arrays, and leaves the base alone', () => {
  const base: { a: number; pool: { keepAlive: boolean; maxConnections: number }; list: number[] } = {
    a: 1,
    pool: { keepAlive: true, maxConnections: 128 },
    list: [1, 2],
  };
  Object.freeze(base.pool);
  const merged = deepMerge(base, { pool: { keepAlive: false }, list: [3] });
  assert.deepEqual(merged, { a: 1, pool: { keepAlive: false, maxConnections: 128 }, list: [3] });
  assert.equal(base.pool.keepAlive, true);
  assert.deepEqual(deepMerge(base, {}), base);
  assert.notEqual(deepMerge(base, {}).pool, base.pool);
});

test('deepMerge skips undefined in the overrides and shares no object with its arguments', () => {
  const base = { a: 1, nested: { b: [1, 2] } };
  const over = { a: undefined, nested: { c: { d: 1 } } };
  const merged = deepMerge<Record<string, unknown>>(base, over);
  assert.deepEqual(merged, { a: 1, nested: { b: [1, 2], c: { d: 1 } } });
  assert.notEqual((merged['nested'] as { b: number[] }).b, base.nested.b);
  assert.notEqual((merged['nested'] as { c: object }).c, over.nested.c);
  assert.deepEqual(base, { a: 1, nested: { b: [1, 2] } });
});

test('isPlainObject: mappings only', () => {
  assert.equal(isPlainObject({}), true);
  assert.equal(isPlainObject({ a: 1 }), true);
  for (const v of [null, undefined, [], [1], 'x', 1, true]) assert.equal(isPlainObject(v), false, String(v));
});
