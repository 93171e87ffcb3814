import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createBackendServer, type BackendServer } from '../../backend/server.js';
import { BYTES_CHUNK } from '../../backend/traffic.js';
import type { BackendStatsSnapshot } from '../../backend/stats.js';
import { parsePrometheusText, sumSamples } from '../../harness/sampling/prom-text.js';
import { waitFor } from '../wait-for.js';

/** One request with node:http (no keep-alive pool), body collected. */
function request(
  port: number,
  path: string,
  opts: { method?: string; body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('backend endpoints', () => {
  let server: BackendServer;
  let port: number;
  before(async () => {
    server = createBackendServer({ host: '127.0.0.1', port: 0, name: 'backend-test' });
    port = await server.listen();
  });
  after(() => server.close());

  it('names itself backend-<port> when no name is given', async (t) => {
    const anon = createBackendServer({ host: '127.0.0.1' });
    t.after(() => anon.close());
    const p = await anon.listen();
    assert.equal(anon.name, `backend-${p}`);
    const res = await request(p, '/echo');
    assert.equal(res.body.toString(), `backend-${p}\n`);
    assert.equal(res.headers['x-backend'], `backend-${p}`);
  });

  it('GET /echo answers the name with x-backend and content-length', async () => {
    const res = await request(port, '/echo?x=1');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'backend-test\n');
    assert.equal(res.headers['x-backend'], 'backend-test');
    assert.equal(res.headers['content-length'], String('backend-test\n'.length));
  });

  it('POST and PUT /echo echo the body, with its content-length', async () => {
    for (const method of ['POST', 'PUT']) {
      const res = await request(port, '/echo', { method, body: 'hello, echo' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hello, echo');
      assert.equal(res.headers['content-length'], '11');
      assert.equal(res.headers['x-backend'], 'backend-test');
    }
    const empty = await request(port, '/echo', { method: 'POST', body: '' });
    assert.equal(empty.status, 200);
    assert.equal(empty.body.length, 0);
  });

  it('/bytes/:n sends exactly n bytes with content-length, small and chunked', async () => {
    for (const n of [0, 1, 1000, BYTES_CHUNK - 1, BYTES_CHUNK, BYTES_CHUNK + 1, 3 * BYTES_CHUNK + 7]) {
      const res = await request(port, `/bytes/${n}`);
      assert.equal(res.status, 200, `n=${n}`);
      assert.equal(res.headers['content-length'], String(n));
      assert.equal(res.body.length, n);
      assert.equal(res.headers['x-backend'], 'backend-test');
    }
  });

  it('/bytes/:n rejects what is not a non-negative integer with 400', async () => {
    for (const bad of ['/bytes/', '/bytes/-1', '/bytes/1.5', '/bytes/abc', '/bytes/12x', '/bytes/1234567890123456']) {
      const res = await request(port, bad);
      assert.equal(res.status, 400, bad);
      assert.match(res.body.toString(), /bad byte count/);
    }
  });

  it('HEAD /bytes/:n sends headers only', async () => {
    const res = await request(port, '/bytes/5000000', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '5000000');
    assert.equal(res.body.length, 0);
  });

  it('/delay/:ms answers after at least ms', async () => {
    const t0 = performance.now();
    const res = await request(port, '/delay/120');
    assert.ok(performance.now() - t0 >= 115, 'answered too early');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'backend-test\n');
    assert.equal((await request(port, '/delay/x')).status, 400);
    assert.equal((await request(port, '/delay/3600001')).status, 400);
  });

  it('/delay/:ms clears its timer when the client goes away', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = timers();
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/delay/600000', agent: false });
      req.on('error', () => resolve());
      setTimeout(() => req.destroy(), 100);
    });
    // The server sees the close when it sees it (late on a busy runner): wait for
    // the timer to go, a hang bound; a /delay that keeps its timer never gets there.
    await waitFor(() => timers() <= baseline, 5_000, { what: () => `timers ${timers()} <= baseline ${baseline}` });
  });

  it('/status/:code answers that status; 204/304 have no body', async () => {
    for (const code of [200, 201, 301, 404, 418, 500, 503, 599]) {
      const res = await request(port, `/status/${code}`);
      assert.equal(res.status, code);
      assert.equal(res.headers['x-backend'], 'backend-test');
    }
    for (const code of [204, 304]) {
      const res = await request(port, `/status/${code}`);
      assert.equal(res.status, code);
      assert.equal(res.body.length, 0);
    }
    const noLength = await request(port, '/status/204');
    assert.equal(noLength.headers['content-length'], undefined);
  });

  it('/status/:code sends 100, 102 and 103 as interim responses before a 200', async () => {
    for (const code of [100, 102, 103]) {
      const interim = await new Promise<number[]>((resolve, reject) => {
        const seen: number[] = [];
        const req = http.get({ host: '127.0.0.1', port, path: `/status/${code}`, agent: false }, (res) => {
          seen.push(res.statusCode!);
          res.resume();
          res.on('end', () => resolve(seen));
        });
        req.on('information', (info) => seen.unshift(info.statusCode));
        req.on('error', reject);
      });
      assert.deepEqual(interim, [code, 200]);
    }
  });

  it('/status/:code rejects codes outside 100..599 and unsendable 1xx with 400', async () => {
    for (const bad of ['/status/99', '/status/600', '/status/abc', '/status/', '/status/101', '/status/150']) {
      const res = await request(port, bad);
      assert.equal(res.status, 400, bad);
      assert.match(res.body.toString(), /bad status/);
    }
  });

  it('/health answers 200', async () => {
    const res = await request(port, '/health');
    assert.equal(res.status, 200);
  });

  it('unknown paths answer 404 with x-backend', async () => {
    for (const p of ['/', '/echo/', '/echoes', '/bytes', '/nope', '/controls']) {
      const res = await request(port, p);
      assert.equal(res.status, 404, p);
      assert.equal(res.headers['x-backend'], 'backend-test');
    }
  });

  it('/stats counts requests by family, bytes and connections; admin stays out of the total', async () => {
    const reset = await request(port, '/control/reset?stats=1', { method: 'POST' });
    assert.equal(reset.status, 200);
    await request(port, '/echo');
    await request(port, '/echo');
    await request(port, '/echo', { method: 'POST', body: 'abcde' });
    await request(port, '/bytes/100');
    await request(port, '/delay/1');
    await request(port, '/status/201');
    await request(port, '/health');
    await request(port, '/missing');
    await request(port, '/control');
    const res = await request(port, '/stats');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    const stats = JSON.parse(res.body.toString()) as BackendStatsSnapshot;
    assert.equal(stats.name, 'backend-test');
    assert.equal(stats.port, port);
    assert.equal(stats.pid, process.pid);
    assert.equal(stats.requests.total, 8);
    assert.deepEqual(stats.requests.byFamily, { echo: 3, bytes: 1, delay: 1, status: 1, health: 1, notFound: 1, admin: 2 });
    const name = 'backend-test\n'.length;
    // echo x2 + post 5 + bytes 100 + delay + status + health (name bodies) + 404 body
    assert.equal(stats.bytes.out, name * 2 + 5 + 100 + name * 3 + 'not found\n'.length);
    assert.equal(stats.bytes.in, 5);
    assert.ok(stats.connections.total >= 10, `connections.total ${stats.connections.total}`);
    assert.ok(stats.connections.open >= 1);
    assert.ok(stats.uptimeMs >= 0);
    assert.deepEqual(stats.faults, { latencyMs: 0, errorRate: 0, unhealthy: false, hang: false, closeRate: 0, concurrencyLimit: 0, serviceTimeMs: 0 });
    assert.equal(server.stats.requestsTotal, 8);
  });

  it('/metrics serves Prometheus text filled from the counters', async () => {
    await request(port, '/control/reset?stats=1', { method: 'POST' });
    await request(port, '/echo');
    await request(port, '/echo');
    await request(port, '/bytes/10');
    const res = await request(port, '/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/plain/);
    const samples = parsePrometheusText(res.body.toString());
    assert.equal(sumSamples(samples, 'backend_requests_total', { family: 'echo', backend: 'backend-test' }), 2);
    assert.equal(sumSamples(samples, 'backend_requests_total', { family: 'bytes' }), 1);
    assert.equal(sumSamples(samples, 'backend_bytes_total', { direction: 'out' }), 2 * 'backend-test\n'.length + 10);
    assert.equal(sumSamples(samples, 'backend_healthy'), 1);
    assert.ok(sumSamples(samples, 'backend_connections') >= 1);
    // A second scrape reports the same counters, not doubled ones.
    const again = parsePrometheusText((await request(port, '/metrics')).body.toString());
    assert.equal(sumSamples(again, 'backend_requests_total', { family: 'echo' }), 2);
    assert.equal((await request(port, '/metrics', { method: 'POST' })).status, 405);
  });
});
