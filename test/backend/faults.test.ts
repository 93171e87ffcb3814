import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createBackendServer, type BackendServer } from '../../backend/server.js';
import type { BackendOptions } from '../../backend/options.js';
import { UsageError } from '../../common/errors.js';
import { within } from '../wait-for.js';
import { itemAt } from '../../common/checked.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, opts: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    if (opts.timeoutMs !== undefined) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function start(t: TestContext, opts: BackendOptions = {}): Promise<{ server: BackendServer; port: number }> {
  const server = createBackendServer({ host: '127.0.0.1', name: 'faulty', ...opts });
  t.after(() => server.close());
  return { server, port: await server.listen() };
}

/** A random source returning `values` in order, then failing the test. */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('random source exhausted');
    return itemAt(values, i++, 'the next random value');
  };
}

describe('backend faults', () => {
  it('latencyMs delays every traffic answer, but not /stats', async (t) => {
    const { server, port } = await start(t, { faults: { latencyMs: 150 } });
    const t0 = performance.now();
    const res = await request(port, '/echo');
    assert.ok(performance.now() - t0 >= 145, 'answered before the added latency');
    assert.equal(res.status, 200);
    // Ten minutes of added latency: /stats answering at all shows it is exempt.
    const slow = await start(t, { faults: { latencyMs: 600_000 } });
    assert.equal((await request(slow.port, '/stats', { timeoutMs: 30_000 })).status, 200, '/stats was delayed');
    assert.equal(slow.server.stats.faultsInjected.latency, 0);
    assert.equal(server.stats.faultsInjected.latency, 1);
  });

  it('errorRate answers 500 exactly where the random source falls below it', async (t) => {
    const { server, port } = await start(t, { faults: { errorRate: 0.3 }, random: sequence([0.05, 0.5, 0.29, 0.3, 0.99]) });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(port, '/echo');
      statuses.push(res.status);
      assert.equal(res.headers['x-backend'], 'faulty');
    }
    assert.deepEqual(statuses, [500, 200, 500, 200, 200]);
    assert.equal(server.stats.faultsInjected.error, 2);
    assert.equal(server.stats.byFamily.echo, 5);
  });

  it('errorRate 1 fails everything and 0 draws nothing', async (t) => {
    const { server, port } = await start(t, { faults: { errorRate: 1 }, random: () => 0.999999 });
    assert.equal((await request(port, '/bytes/10')).status, 500);
    assert.equal((await request(port, '/health')).status, 500);
    assert.equal(server.stats.faultsInjected.error, 2);
    // A source that throws proves no draw happens when the rates are 0.
    const quiet = await start(t, { random: sequence([]) });
    assert.equal((await request(quiet.port, '/echo')).status, 200);
  });

  it('closeRate cuts the response after headers and part of the body', async (t) => {
    const { server, port } = await start(t, { faults: { closeRate: 0.5 }, random: sequence([0.1, 0.9]) });
    const cut = await new Promise<{ status: number; bytes: number; declared: number; error: boolean }>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/bytes/100000', agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        const done = (error: boolean) => resolve({ status: res.statusCode!, bytes, declared: Number(res.headers['content-length']), error });
        res.on('end', () => done(false));
        res.on('error', () => done(true));
        res.on('aborted', () => done(true));
      });
      req.on('error', () => resolve({ status: 0, bytes: 0, declared: 0, error: true }));
    });
    assert.equal(cut.status, 200);
    assert.ok(cut.error, 'the response should end in an error');
    assert.ok(cut.bytes > 0 && cut.bytes < cut.declared, `got ${cut.bytes} of ${cut.declared} bytes`);
    const whole = await request(port, '/bytes/100000');
    assert.equal(whole.body.length, 100000);
    assert.equal(server.stats.faultsInjected.close, 1);
    assert.deepEqual(server.stats.cutsByMethod, { GET: 1 });
  });

  it('cutsByMethod counts cut client requests by method, not cut health checks', async (t) => {
    const { server, port } = await start(t, { faults: { closeRate: 1 } });
    await assert.rejects(request(port, '/echo'));
    await assert.rejects(request(port, '/health'));
    await assert.rejects(request(port, '/echo', { method: 'POST', body: 'x' }));
    assert.equal(server.stats.faultsInjected.close, 3);
    assert.deepEqual(server.stats.cutsByMethod, { GET: 1, POST: 1 });
  });

  it('errorRate is drawn before closeRate, and closeRate only when no error', async (t) => {
    const { server, port } = await start(t, { faults: { errorRate: 0.5, closeRate: 0.5 }, random: sequence([0.1, 0.7, 0.2, 0.7, 0.7]) });
    assert.equal((await request(port, '/echo')).status, 500);
    await assert.rejects(request(port, '/echo'));
    assert.equal((await request(port, '/echo')).status, 200);
    assert.deepEqual(server.stats.faultsInjected, { latency: 0, error: 1, close: 1, hang: 0 });
  });

  it('hang accepts and never answers; admin endpoints still answer; close ends it', async (t) => {
    // A drain of ten minutes: close() returning soon shows it destroyed the hung request instead of draining it.
    const { server, port } = await start(t, { faults: { hang: true }, drainMs: 600_000 });
    await assert.rejects(request(port, '/echo', { timeoutMs: 200 }), /client timeout/);
    const control = await request(port, '/control');
    assert.equal(control.status, 200);
    assert.equal((JSON.parse(control.body) as { hang: unknown }).hang, true);
    assert.equal((await request(port, '/stats')).status, 200);
    assert.equal((await request(port, '/metrics')).status, 200);
    assert.equal(server.stats.faultsInjected.hang, 1);
    // A hung request in flight does not hold up close(). (Its client gives up after 60 s, so a failure here ends.)
    const pending = request(port, '/echo', { timeoutMs: 60_000 }).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 50));
    await within(server.close(), 30_000, 'close() with a hung request in flight');
    const err = await pending;
    assert.ok(
      err instanceof Error && !/client timeout/.test(err.message),
      `the hung request was cut by close(): ${err instanceof Error ? err.message : 'it answered'}`,
    );
  });

  it('unhealthy turns /health into 503 and nothing else', async (t) => {
    const { port } = await start(t);
    const set = await request(port, '/control', { method: 'POST', body: '{"unhealthy": true}' });
    assert.equal(set.status, 200);
    assert.equal((JSON.parse(set.body) as { unhealthy: unknown }).unhealthy, true);
    assert.equal((await request(port, '/health')).status, 503);
    assert.equal((await request(port, '/echo')).status, 200);
    await request(port, '/control', { method: 'PUT', body: '{"unhealthy": false}' });
    assert.equal((await request(port, '/health')).status, 200);
  });

  it('POST /control merges fields; /control/reset clears faults and, when asked, stats', async (t) => {
    const { server, port } = await start(t);
    await request(port, '/control', { method: 'POST', body: '{"latencyMs": 5}' });
    const both = await request(port, '/control', { method: 'POST', body: '{"errorRate": 0.25, "closeRate": 0.5}' });
    assert.deepEqual(JSON.parse(both.body), {
      latencyMs: 5,
      errorRate: 0.25,
      unhealthy: false,
      hang: false,
      closeRate: 0.5,
      concurrencyLimit: 0,
      serviceTimeMs: 0,
    });
    assert.equal(server.faults.errorRate, 0.25);
    server.setFaults({ errorRate: 0, closeRate: 0 });
    await request(port, '/echo');
    const keep = await request(port, '/control/reset', { method: 'POST' });
    assert.deepEqual(JSON.parse(keep.body), {
      faults: { latencyMs: 0, errorRate: 0, unhealthy: false, hang: false, closeRate: 0, concurrencyLimit: 0, serviceTimeMs: 0 },
      statsReset: false,
    });
    assert.equal(server.stats.byFamily.echo, 1);
    const wipe = await request(port, '/control/reset', { method: 'POST', body: '{"stats": true}' });
    assert.equal((JSON.parse(wipe.body) as { statsReset: unknown }).statsReset, true);
    assert.equal(server.stats.byFamily.echo, 0);
    assert.equal(server.stats.requestsTotal, 0);
  });

  it('/control rejects bad input with 400 and a message naming the field', async (t) => {
    const { server, port } = await start(t);
    const cases: [string, RegExp][] = [
      ['{"errorRate": 1.5}', /errorRate.*1\.5/],
      ['{"closeRate": -0.1}', /closeRate/],
      ['{"latencyMs": 2.5}', /latencyMs/],
      ['{"latencyMs": 3600001}', /latencyMs/],
      ['{"latencyMs": "10"}', /latencyMs/],
      ['{"hang": "yes"}', /hang/],
      ['{"bogus": 1}', /bogus/],
      ['[1, 2]', /faults/],
      ['not json', /not JSON/],
      ['', /faults/],
    ];
    for (const [body, message] of cases) {
      const res = await request(port, '/control', { method: 'POST', body });
      assert.equal(res.status, 400, body);
      const parsed = JSON.parse(res.body) as { error: { code: string; message: string } };
      assert.match(parsed.error.message, message, body);
      assert.ok(parsed.error.code.startsWith('LBB_ERR_'), parsed.error.code);
    }
    const reset = await request(port, '/control/reset', { method: 'POST', body: '{"stats": "yes"}' });
    assert.equal(reset.status, 400);
    assert.equal((await request(port, '/control', { method: 'DELETE' })).status, 405);
    assert.equal((await request(port, '/control/reset', { method: 'GET' })).status, 405);
    assert.equal((await request(port, '/control/other', { method: 'POST' })).status, 404);
    const big = await request(port, '/control', { method: 'POST', body: `{"pad": "${'x'.repeat(70_000)}"}` });
    assert.equal(big.status, 413);
    // Nothing was applied by the rejected requests.
    assert.deepEqual({ ...server.faults }, { latencyMs: 0, errorRate: 0, unhealthy: false, hang: false, closeRate: 0, concurrencyLimit: 0, serviceTimeMs: 0 });
  });

  it('setFaults and the options validate like /control', async () => {
    const server = createBackendServer({ host: '127.0.0.1' });
    assert.throws(() => server.setFaults({ errorRate: 2 }), UsageError);
    assert.throws(() => createBackendServer({ faults: { closeRate: 7 } }), UsageError);
    assert.throws(() => createBackendServer({ name: 'bad name' }), UsageError);
    assert.throws(() => createBackendServer({ port: 70000 }), UsageError);
    await server.close();
  });
});
