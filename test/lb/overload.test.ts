/**
 * Overload on the upstream side: the queue of requests waiting for an
 * upstream socket (`pool.maxQueue`) is bounded, a request beyond it gets 503
 * at once, and the wait in the queue is bounded by the request deadline.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { MetricName } from '../../common/metric-names.js';
import { startBalancer, type RunningBalancer } from '../../lb/standalone.js';
import { captureLogs, httpRequest, lbConfigFor, scrape, startBackend, type Handler } from './lb-helpers.js';

captureLogs();

async function oneBackend(
  t: { after(fn: () => Promise<void> | void): void },
  handler: Handler,
  extra: Record<string, unknown>,
): Promise<{ lb: RunningBalancer; hits: () => number }> {
  const b = await startBackend('b', handler);
  t.after(() => b.close());
  const lb = await startBalancer(lbConfigFor([b], { retries: { max: 0 }, ...extra }));
  t.after(() => lb.close(200));
  return { lb, hits: () => b.hits };
}

/** Starts `n` GETs 10 ms apart (so they queue in that order); resolves status and time of each. */
async function staggered(port: number, n: number): Promise<{ status: number; ms: number }[]> {
  const t0 = performance.now();
  const all: Promise<{ status: number; ms: number }>[] = [];
  for (let i = 0; i < n; i++) {
    all.push(httpRequest(`http://127.0.0.1:${port}/${i}`).then((r) => ({ status: r.status, ms: performance.now() - t0 })));
    await new Promise((r) => setTimeout(r, 10));
  }
  return Promise.all(all);
}

describe('upstream wait queue', () => {
  it('full queue: 503 at once with lb_errors_total{kind="overload"}; the queued requests are served', async (t) => {
    const slow: Handler = (_req, res) => setTimeout(() => res.end('done'), 300);
    const { lb, hits } = await oneBackend(t, slow, { pool: { maxConnections: 1, maxQueue: 1 } });
    const results = await staggered(lb.port, 3);
    // One on the socket, one queued, the third shed.
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 503],
    );
    const shed = results[2];
    assert.ok(shed !== undefined && shed.ms < 200, `503 after ${shed?.ms.toFixed(0)} ms; expected at once`);
    assert.equal(hits(), 2);
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.errors, { kind: 'overload' }), 1);
    assert.equal(m.get(MetricName.requests, { code: '503', backend: 'b' }), 1);
  });

  it('maxQueue 0: no waiting at all', async (t) => {
    const slow: Handler = (_req, res) => setTimeout(() => res.end('done'), 200);
    const { lb } = await oneBackend(t, slow, { pool: { maxConnections: 1, maxQueue: 0 } });
    const results = await staggered(lb.port, 2);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 503],
    );
  });

  it('the wait in the queue is bounded by the request deadline: 504, and the queue place is given up', async (t) => {
    // The first request holds the only socket with a slow body (its head came in time).
    let first = true;
    const holder: Handler = (_req, res) => {
      if (first) {
        first = false;
        res.write('slow ');
        setTimeout(() => res.end('body'), 1_200);
      } else res.end('ok');
    };
    const { lb, hits } = await oneBackend(t, holder, { pool: { maxConnections: 1, maxQueue: 1 }, timeouts: { headersMs: 5_000, requestMs: 400 } });
    const results = await staggered(lb.port, 2);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 504],
    );
    const queued = results[1];
    assert.ok(queued !== undefined && queued.ms >= 380 && queued.ms < 1_000, `queued request ended after ${queued?.ms.toFixed(0)} ms`);
    // The queued request left the queue: it never reached the backend once the socket was free.
    assert.equal(hits(), 1);
    assert.equal((await scrape(lb.metricsPort)).get(MetricName.errors, { kind: 'deadline' }), 1);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/again`)).body, 'ok');
  });
});
