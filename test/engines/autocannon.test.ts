import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAutocannonEngine } from '../../harness/engines/autocannon.js';
import { classifyError } from '../../harness/engines/autocannon-protocol.js';
import type { LoadResult } from '../../harness/engines/engine.js';
import { decodeHistogram } from '../../harness/result/histogram.js';
import { childPids } from '../../harness/sampling/proc-stats.js';
import { UsageError } from '../../common/errors.js';
import { startScriptedServer, type ScriptedServer } from './scripted-server.js';
import { waitFor } from '../wait-for.js';

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function autocannonChildren(): number[] {
  return childPids(process.pid);
}

describe('autocannon engine', () => {
  let server: ScriptedServer;
  let result: LoadResult;
  /** Wall-clock ms the run() call took: the measured window lies inside it. */
  let runMs = 0;
  const buckets: unknown[] = [];

  before(async () => {
    server = await startScriptedServer({ status503Every: 5 });
    const t0 = performance.now();
    result = await createAutocannonEngine().run({
      url: server.url,
      method: 'post',
      headers: { 'x-lbbench-test': 'yes' },
      body: 'ping',
      connections: 10,
      durationMs: 2000,
      warmupMs: 200,
      onBucket: (b) => buckets.push(b),
    });
    runMs = performance.now() - t0;
  });
  after(() => server.close());

  test('returns a well-formed closed-loop LoadResult', () => {
    assert.equal(result.engine, 'autocannon');
    assert.equal(result.loadModel, 'closed');
    assert.match(result.engineVersion, /^\d+\.\d+\.\d+/);
    assert.ok(result.latencyResolutionUs > 0);
    assert.ok(result.requests > 0, 'requests > 0');
    // The window is the requested 2 s (less timer slack) and lies inside the run() call.
    assert.ok(result.durationMs >= 1900 && result.durationMs <= runMs, `window ${result.durationMs} ms of a ${Math.round(runMs)} ms run`);
    assert.ok(result.bytes > 0 && result.bytesPerSecond > 0);
    assert.ok(Math.abs(result.achievedRate - result.requests / (result.durationMs / 1000)) < 1e-6);
    assert.deepEqual(result.spec, { url: server.url, method: 'POST', connections: 10, durationMs: 2000, processes: 1 });
    assert.equal(result.connectionsEstablished, 10);
    assert.ok(result.connectRampMs >= 0);
    assert.equal(result.generator.processes, 1);
    assert.ok(result.generator.cpuPercent > 0, 'generator CPU is metered');
    assert.equal(result.schedule, undefined);
  });

  test('histogram decodes and holds one latency per response', () => {
    const h = decodeHistogram(result.histogram);
    assert.equal(h.totalCount, result.requests);
    assert.equal(result.latency.count, result.requests);
    assert.ok(result.latency.p50Us > 0 && result.latency.p50Us <= result.latency.p99Us && result.latency.p99Us <= result.latency.maxUs);
  });

  test('series has one bucket per second, summing to the totals, streamed via onBucket', () => {
    assert.equal(result.seriesIntervalMs, 1000);
    assert.ok(result.series.length >= 2 && result.series.length <= 3, `${result.series.length} buckets`);
    assert.deepEqual(
      result.series.map((b) => b.tMs),
      result.series.map((_, i) => i * 1000),
    );
    assert.equal(sum(result.series.map((b) => b.requests)), result.requests);
    assert.equal(sum(result.series.map((b) => b.bytes)), result.bytes);
    assert.equal(buckets.length, result.series.length);
  });

  test('statusCounts count every response; 503s are non2xx errors', () => {
    assert.equal(sum(Object.values(result.statusCounts)), result.requests);
    const n503 = result.statusCounts['503'] ?? 0;
    assert.equal(result.errors.non2xx, n503);
    // The server answers every 5th request with 503.
    assert.ok(Math.abs(n503 / result.requests - 0.2) < 0.05, `503 share ${n503 / result.requests}`);
  });

  test('sends the method, headers and body', () => {
    assert.ok(server.seen.length > 0);
    for (const s of server.seen) assert.deepEqual(s, { method: 'POST', header: 'yes', body: 'ping' });
  });

  test('the generator child has exited', () => {
    assert.deepEqual(autocannonChildren(), []);
  });
});

describe('autocannon engine: errors and limits', () => {
  test('connection resets are counted as reset errors', async (t) => {
    const server = await startScriptedServer({ rstEvery: 10 });
    t.after(() => server.close());
    const r = await createAutocannonEngine().run({ url: server.url, connections: 5, durationMs: 1000 });
    assert.ok(r.requests > 0);
    assert.ok((r.errors.reset ?? 0) > 0, `errors ${JSON.stringify(r.errors)}`);
    assert.equal(sum(r.series.map((b) => b.errors)), sum(Object.values(r.errors)));
  });

  test('rate caps the requests and the connections (autocannon overallRate)', async (t) => {
    const server = await startScriptedServer();
    t.after(() => server.close());
    const r = await createAutocannonEngine().run({ url: server.url, connections: 10, durationMs: 2000, rate: 5 });
    assert.equal(r.spec.rate, 5);
    assert.equal(r.spec.connections, 5, 'autocannon opens at most `rate` connections');
    assert.ok(r.requests > 0 && r.requests <= 5 * 3, `${r.requests} requests at 5 req/s over 2 s`);
  });

  test('flags a generator over its CPU limit as saturated', async (t) => {
    const server = await startScriptedServer();
    t.after(() => server.close());
    const r = await createAutocannonEngine({ generatorCpuLimitPercent: 1 }).run({ url: server.url, connections: 5, durationMs: 1000 });
    assert.equal(r.generator.saturated, true);
    assert.match(r.generator.saturatedReason ?? '', /% of a core/);
  });

  test('an abort rejects and stops the child', async (t) => {
    const server = await startScriptedServer();
    t.after(() => server.close());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await assert.rejects(createAutocannonEngine().run({ url: server.url, connections: 2, durationMs: 10_000 }, controller.signal), {
      name: 'AbortError',
    });
    // The child is killed on abort but exits when the OS gets to it: wait for
    // that (5 s bounds a hang, not a speed), then it must be gone.
    await waitFor(() => autocannonChildren().length === 0, 5000, { what: () => `autocannon children to exit: ${autocannonChildren().join(', ')}` });
    assert.deepEqual(autocannonChildren(), []);
  });

  test('bad specs are UsageErrors', async () => {
    const engine = createAutocannonEngine();
    await assert.rejects(engine.run({ url: 'nope', connections: 1, durationMs: 1000 }), UsageError);
    await assert.rejects(engine.run({ url: 'https://127.0.0.1/', connections: 1, durationMs: 1000 }), UsageError);
    await assert.rejects(engine.run({ url: 'http://127.0.0.1:1/', connections: 0, durationMs: 1000 }), UsageError);
    await assert.rejects(engine.run({ url: 'http://127.0.0.1:1/', connections: 1, durationMs: 0 }), UsageError);
    await assert.rejects(engine.run({ url: 'http://127.0.0.1:1/', connections: 1, durationMs: 1000, rate: -1 }), UsageError);
  });

  test('classifyError maps error codes to kinds', () => {
    const withCode = (code: string): Error => Object.assign(new Error(code), { code });
    assert.equal(classifyError(withCode('ECONNREFUSED')), 'connect');
    assert.equal(classifyError(withCode('ECONNRESET')), 'reset');
    assert.equal(classifyError(withCode('EPIPE')), 'reset');
    assert.equal(classifyError(new Error('request timed out')), 'timeout');
    assert.equal(classifyError(withCode('EWHAT')), 'other');
  });
});
