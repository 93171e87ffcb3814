/**
 * Overload on the upstream side: the queue of requests waiting for an
 * upstream socket (`pool.maxQueue`) is bounded, a request beyond it gets 503
 * at once, and the wait in the queue is bounded by the request deadline.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { MetricName } from '../../common/metric-names.js';
import { startBalancer, type RunningBalancer } from '../../lb/standalone.js';
import { itemAt } from '../../common/checked.js';
import { captureLogs, httpRequest, lbConfigFor, scrape, startBackend, waitFor, type Handler } from './lb-helpers.js';

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

/**
 * Starts GET /0, waits until the backend has it (so it holds the only upstream
 * socket: a fixed 10 ms sleep did not ensure that on a busy runner), then
 * starts GETs /1../n-1; resolves status and time (from the first send) of each.
 */
async function afterFirstHit(port: number, n: number, hits: () => number): Promise<{ status: number; ms: number }[]> {
  const t0 = performance.now();
  const send = (i: number) => httpRequest(`http://127.0.0.1:${port}/${i}`).then((r) => ({ status: r.status, ms: performance.now() - t0 }));
  const all = [send(0)];
  await waitFor(() => hits() >= 1, 10_000, { what: 'the first request at the backend' });
  for (let i = 1; i < n; i++) all.push(send(i));
  return Promise.all(all);
}

describe('upstream wait queue', () => {
  it('full queue: 503 at once with lb_errors_total{kind="overload"}; the queued requests are served', async (t) => {
    const slow: Handler = (_req, res) => setTimeout(() => res.end('done'), 300);
    const { lb, hits } = await oneBackend(t, slow, { pool: { maxConnections: 1, maxQueue: 1 } });
    const results = await afterFirstHit(lb.port, 3, hits);
    // One on the socket, one queued, one shed: which of /1 and /2 got the queue
    // place is up to their race to the balancer.
    assert.equal(itemAt(results, 0, 'results[0]').status, 200);
    assert.deepEqual(
      results
        .slice(1)
        .map((r) => r.status)
        .sort(),
      [200, 503],
    );
    // "At once" as an order, not a time: the 503 comes before the request on the
    // socket (held 300 ms by the backend) is answered, so it never waited.
    const shed = results.find((r) => r.status === 503);
    const holderMs = itemAt(results, 0, 'results[0]').ms;
    assert.ok(shed !== undefined && shed.ms < holderMs, `503 after ${shed?.ms.toFixed(0)} ms, the first 200 after ${holderMs.toFixed(0)} ms`);
    assert.equal(hits(), 2);
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.errors, { kind: 'overload' }), 1);
    assert.equal(m.get(MetricName.requests, { code: '503', backend: 'b' }), 1);
  });

  it('lb_backend_queued_requests counts the requests waiting for a socket, a client leaving the queue included', async (t) => {
    const held: (() => void)[] = [];
    const gated: Handler = (_req, res) => held.push(() => res.end('done'));
    const { lb, hits } = await oneBackend(t, gated, { pool: { maxConnections: 1, maxQueue: 10 } });
    const queued = async () => (await scrape(lb.metricsPort)).get(MetricName.backendQueuedRequests, { backend: 'b' });
    assert.equal(await queued(), 0);
    const first = httpRequest(`http://127.0.0.1:${lb.port}/0`);
    await waitFor(() => hits() >= 1, 10_000, { what: 'the first request at the backend' });
    const waiting = [1, 2, 3].map((i) => httpRequest(`http://127.0.0.1:${lb.port}/${i}`));
    // One more that goes away while it waits.
    const leaver = net.connect(lb.port, '127.0.0.1');
    leaver.on('error', () => {});
    leaver.write('GET /gone HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(async () => (await queued()) === 4, 10_000, { what: 'four requests queued' });
    leaver.destroy();
    await waitFor(async () => (await queued()) === 3, 10_000, { what: 'the leaver out of the queue' });
    // Let each response go as its request reaches the backend.
    const release = setInterval(() => held.splice(0).forEach((end) => end()), 10);
    t.after(() => clearInterval(release));
    const statuses = (await Promise.all([first, ...waiting])).map((r) => r.status);
    clearInterval(release);
    assert.deepEqual(statuses, [200, 200, 200, 200]);
    assert.equal(await queued(), 0);
    assert.equal(hits(), 4);
  });

  it('maxQueue 0: no waiting at all', async (t) => {
    const slow: Handler = (_req, res) => setTimeout(() => res.end('done'), 200);
    const { lb, hits } = await oneBackend(t, slow, { pool: { maxConnections: 1, maxQueue: 0 } });
    const results = await afterFirstHit(lb.port, 2, hits);
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
    const results = await afterFirstHit(lb.port, 2, hits);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 504],
    );
    // Bounded by the deadline as an order: the 504 comes before the socket is
    // freed (the holder's body ends after 1,200 ms), not when it is; and not
    // before the 400 ms deadline of the queued request (sent after the first).
    const queued = itemAt(results, 1, 'results[1]');
    const holderMs = itemAt(results, 0, 'results[0]').ms;
    assert.ok(queued.ms >= 380 && queued.ms < holderMs, `queued request ended after ${queued.ms.toFixed(0)} ms, the holder after ${holderMs.toFixed(0)} ms`);
    // The queued request left the queue: it never reached the backend once the socket was free.
    assert.equal(hits(), 1);
    assert.equal((await scrape(lb.metricsPort)).get(MetricName.errors, { kind: 'deadline' }), 1);
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/again`)).body, 'ok');
  });
});
