/**
 * The open-loop engine's edges: bad input, abort, errors by kind, the live
 * series, and that no generator process outlives a run.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createOpenLoopEngine, type GeneratorReport } from '../../harness/engines/open-loop.js';
import { itemAt } from '../../common/checked.js';
import type { SeriesBucket } from '../../harness/engines/engine.js';
import { UsageError } from '../../common/errors.js';
import { generatorChildren, startBackend } from './open-loop-fixtures.js';

after(() => {
  assert.deepEqual(generatorChildren(), [], 'no generator process is left behind');
});

test('bad input is a UsageError and starts nothing', async () => {
  const engine = createOpenLoopEngine();
  const base = { url: 'http://127.0.0.1:1/', connections: 1, durationMs: 100, rate: 10 };
  await assert.rejects(engine.run({ ...base, rate: undefined }), UsageError);
  await assert.rejects(engine.run({ ...base, url: 'http://10.0.0.1/' }), UsageError);
  await assert.rejects(engine.run({ ...base, url: 'https://127.0.0.1/' }), UsageError);
  await assert.rejects(engine.run({ ...base, connections: 2, processes: 3 }), UsageError);
  await assert.rejects(engine.run({ ...base, connections: 40_000 }), /processes >= 3/);
  assert.deepEqual(generatorChildren(), []);
});

test('abort kills the generator processes and rejects', async () => {
  const backend = await startBackend();
  after(() => backend.close());
  const ac = new AbortController();
  const run = createOpenLoopEngine().run({ url: backend.url, rate: 200, connections: 4, durationMs: 20_000, processes: 2 }, ac.signal);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(generatorChildren().length, 2, 'two generator processes while running');
  ac.abort();
  await assert.rejects(run, { name: 'AbortError' });
  assert.deepEqual(generatorChildren(), []);
});

test('live 100 ms series via onBucket; non-2xx counted by status and as non2xx', async (t) => {
  const backend = await startBackend({ status: 503 });
  t.after(() => backend.close());
  const live: SeriesBucket[] = [];
  const r = await createOpenLoopEngine().run({
    url: backend.url,
    rate: 300,
    connections: 5,
    durationMs: 1000,
    seriesIntervalMs: 100,
    onBucket: (b) => live.push(b),
  });
  assert.equal(r.seriesIntervalMs, 100);
  assert.deepEqual(live, r.series);
  assert.deepEqual(
    live.map((b) => b.tMs),
    [0, 100, 200, 300, 400, 500, 600, 700, 800, 900],
  );
  assert.equal(r.statusCounts['503'], r.requests);
  assert.equal(r.errors['non2xx'], r.requests);
  assert.equal(
    r.series.reduce((s, b) => s + b.errors, 0),
    r.requests,
  );
});

test('connection resets are counted as reset errors, and the connections come back', async (t) => {
  const backend = await startBackend({ resetEvery: 10 });
  t.after(() => backend.close());
  let parts: readonly GeneratorReport[] = [];
  const r = await createOpenLoopEngine({ onProcessReports: (p) => (parts = p) }).run({ url: backend.url, rate: 500, connections: 10, durationMs: 1000 });
  // Exact accounting, not counts of what fitted in the window (a busy
  // machine fits fewer). The 10 primers of connection set-up reach the
  // backend first; the 10th of them is reset, so that connection is not
  // established and is reopened in the run, unprimed.
  const primers = 10;
  const resets = r.errors['reset'] ?? 0;
  assert.equal(r.connectionsEstablished, primers - 1);
  assert.deepEqual(Object.keys(r.errors), ['reset'], JSON.stringify(r.errors));
  assert.equal(backend.resets, Math.floor(backend.hits / 10), 'the backend reset every 10th request');
  // Every reset the backend did after set-up is counted as one reset error ...
  assert.equal(resets, backend.resets - 1, `resets ${resets}, backend ${backend.resets}`);
  // ... and every other request it saw was answered and counted.
  assert.equal(r.requests + resets, backend.hits - primers, `requests ${r.requests} + resets ${resets} vs ${backend.hits} hits`);
  // The schedule's 500 sends all went out (on connections reopened after each
  // reset) or were dropped, and each one sent was answered or reset.
  const p = itemAt(parts, 0, 'the process report');
  assert.equal(parts.length, 1);
  assert.equal(p.sent + (p.schedule?.dropped ?? Number.NaN), 500);
  assert.equal(r.requests + resets, p.sent);
  assert.ok(resets > 0 && r.requests > 0, `requests ${r.requests}, resets ${resets}`);
});

test('a port nobody listens on: connections not established, connect errors counted, no crash', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const r = await createOpenLoopEngine().run({ url: `http://127.0.0.1:${port}/`, rate: 50, connections: 3, durationMs: 500, timeoutMs: 300 });
  assert.equal(r.connectionsEstablished, 0);
  assert.equal(r.requests, 0);
  assert.ok((r.errors['connect'] ?? 0) > 0, JSON.stringify(r.errors));
  assert.ok(r.schedule!.dropped > 0, 'sends with no connection are dropped');
});
