import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createBackendServer, type BackendServer } from '../../backend/server.js';
import type { BackendOptions } from '../../backend/options.js';
import { UsageError } from '../../common/errors.js';
import { itemAt } from '../../common/checked.js';

/** GET `path`; resolves with the time the answer took, ms. */
function timedGet(port: number, path = '/echo', signal?: AbortSignal): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, signal }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', reject);
  });
}

async function start(t: TestContext, opts: BackendOptions): Promise<{ server: BackendServer; port: number }> {
  const server = createBackendServer({ host: '127.0.0.1', name: 'fixed', ...opts });
  t.after(() => server.close());
  return { server, port: await server.listen() };
}

describe('backend fixed-capacity fault', () => {
  it('serves at most concurrencyLimit requests at a time, the rest wait their turn', async (t) => {
    const { server, port } = await start(t, { faults: { concurrencyLimit: 2, serviceTimeMs: 100 } });
    const times = (await Promise.all([1, 2, 3, 4, 5].map(() => timedGet(port)))).sort((a, b) => a - b);
    // Two at a time, 100 ms each: answers come in three waves.
    assert.ok(itemAt(times, 0, 'times[0]') >= 95, `first answer after ${times[0]} ms`);
    assert.ok(itemAt(times, 2, 'times[2]') >= 195, `third answer after ${times[2]} ms, before a slot was free`);
    assert.ok(itemAt(times, 4, 'times[4]') >= 295, `fifth answer after ${times[4]} ms`);
    assert.equal(server.stats.requestsTotal, 5);
    assert.equal(server.faults.concurrencyLimit, 2);
  });

  it('a client that gives up while waiting frees its place for the next', async (t) => {
    const { port } = await start(t, { faults: { concurrencyLimit: 1, serviceTimeMs: 150 } });
    const first = timedGet(port);
    const ac = new AbortController();
    const quitter = timedGet(port, '/echo', ac.signal).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 30));
    const third = timedGet(port);
    ac.abort();
    assert.equal(await quitter, 'aborted');
    assert.ok((await first) >= 145);
    // Served right after the first: the abandoned request took no slot.
    const t3 = await third;
    assert.ok(t3 >= 245 && t3 < 2000, `third answered after ${t3} ms`);
  });

  it('can be set and lifted at run time; a bad value is refused', async (t) => {
    const { server, port } = await start(t, {});
    server.setFaults({ serviceTimeMs: 80 });
    assert.ok((await timedGet(port)) >= 75);
    server.reset();
    assert.equal(server.faults.serviceTimeMs, 0);
    assert.throws(() => server.setFaults({ concurrencyLimit: -1 }), UsageError);
    assert.throws(() => server.setFaults({ serviceTimeMs: 1.5 }), UsageError);
  });
});
