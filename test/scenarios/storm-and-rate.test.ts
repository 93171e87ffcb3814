import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createBackendServer } from '../../backend/server.js';
import { createClosedLoopEngine } from '../../harness/engines/closed-loop.js';
import { runStorm } from '../../harness/scenarios/storm-client.js';

async function backend(t: TestContext, faults: Record<string, unknown> = {}) {
  const server = createBackendServer({ host: '127.0.0.1', name: 'storm', faults });
  t.after(() => server.close());
  const port = await server.listen();
  return { server, url: `http://127.0.0.1:${port}/echo` };
}

describe('connection storm client', () => {
  test('every fresh connection is served once, each timed from the burst start', async (t) => {
    const { server, url } = await backend(t);
    const r = await runStorm({ url, connections: 200, timeoutMs: 5000 });
    assert.equal(r.served, 200);
    assert.equal(r.servedUs.length, 200);
    assert.equal(r.timeouts, 0);
    assert.deepEqual(r.errors, {});
    assert.ok(r.allServedUs !== null && r.allServedUs >= Math.max(...r.servedUs) - 1);
    assert.equal(server.stats.connectionsTotal, 200, 'one connection per request');
  });

  test('connections a server never answers are cut at the timeout and counted; all-served stays null', async (t) => {
    const { url } = await backend(t, { hang: true });
    const t0 = performance.now();
    const r = await runStorm({ url, connections: 20, timeoutMs: 300 });
    assert.ok(performance.now() - t0 >= 290);
    assert.equal(r.served, 0);
    assert.equal(r.timeouts, 20);
    assert.equal(r.allServedUs, null);
  });

  test('a refused port counts connect errors, not timeouts', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await runStorm({ url: `http://127.0.0.1:${port}/echo`, connections: 5, timeoutMs: 2000 });
    assert.equal(r.errors['connect'], 5);
    assert.equal(r.timeouts, 0);
  });
});

describe('conn_rate premise: Connection: close makes the closed loop open one connection per request', () => {
  test('the backend accepts about as many connections as it answers requests', async (t) => {
    const { server, url } = await backend(t);
    const engine = createClosedLoopEngine({ generatorCpuLimitPercent: 100 });
    const r = await engine.run({ url, connections: 4, durationMs: 500, headers: { connection: 'close' } });
    assert.ok(r.requests > 20, `only ${r.requests} requests`);
    // Priming and the drain add a few; reuse would give about 4 in total.
    assert.ok(server.stats.connectionsTotal >= r.requests, `${server.stats.connectionsTotal} connections for ${r.requests} requests`);
  });
});
