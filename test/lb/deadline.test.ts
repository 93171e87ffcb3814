/**
 * Deadlines and budgets over real sockets: the per-try timeout
 * (`timeouts.headersMs`) retried on another backend, the request deadline
 * (`timeouts.requestMs`) that bounds every attempt together, an upload the
 * deadline does not cut, and the retry budget (`retries.budgetPercent`,
 * `retries.minConcurrency`) with its exemption for connections that never
 * came up. Short timeouts keep it fast.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseConfigText } from '../../common/config.js';
import { MetricName } from '../../common/metric-names.js';
import { RetryBudget } from '../../lb/retry-budget.js';
import { startBalancer, type RunningBalancer } from '../../lb/standalone.js';
import { captureLogs, closedPort, httpRequest, lbConfigFor, scrape, startBackend, waitFor, type TestBackend } from './lb-helpers.js';

captureLogs();

async function balancerFor(
  t: { after(fn: () => Promise<void> | void): void },
  backends: { name: string; url: string }[],
  extra: Record<string, unknown> = {},
): Promise<RunningBalancer> {
  const lb = await startBalancer(lbConfigFor(backends, extra));
  t.after(() => lb.close(200));
  return lb;
}

/** A backend that reads the request and never answers (its sockets are cut at close). */
async function hangingBackend(name: string): Promise<TestBackend> {
  return startBackend(name, () => {});
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

describe('per-try timeout and request deadline', () => {
  it('one hanging backend of three: a GET is retried after the per-try timeout and answered 200', async (t) => {
    const hang = await hangingBackend('hang');
    const b = await startBackend('b');
    const c = await startBackend('c');
    t.after(() => Promise.all([hang.close(), b.close(), c.close()]));
    const lb = await balancerFor(t, [hang, b, c], { timeouts: { headersMs: 300, requestMs: 800 } });
    // Round robin starts at the hanging backend.
    const { value: res, ms } = await timed(() => httpRequest(`http://127.0.0.1:${lb.port}/`));
    assert.equal(res.status, 200);
    // A 200 at all proves the retry (the deadline is 800 ms, the first try hangs);
    // the floor proves the first try waited out its per-try timeout.
    assert.ok(ms >= 280, `answered after ${ms.toFixed(0)} ms; expected one per-try timeout (300 ms) first`);
    assert.equal(hang.hits, 1);
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.retries, { backend: 'hang', reason: 'timeout' }), 1);
    assert.equal(m.get(MetricName.errors), 0);
  });

  it('every backend hanging: 504 at the deadline, not after every try in turn', async (t) => {
    const hangs = await Promise.all(['h1', 'h2', 'h3'].map((n) => hangingBackend(n)));
    t.after(() => Promise.all(hangs.map((h) => h.close())));
    // Three tries of 2 s would take 6 s (two, unbounded by the deadline, 4 s); the
    // deadline ends it at 2.5 s. The bound sits far from both wrong outcomes, so
    // a busy runner's lateness does not reach it (500 ms and 800 ms did: 1.3 s
    // was close to the buggy 1.5 s).
    const lb = await balancerFor(t, hangs, { timeouts: { headersMs: 2_000, requestMs: 2_500 } });
    const { value: res, ms } = await timed(() => httpRequest(`http://127.0.0.1:${lb.port}/`));
    assert.equal(res.status, 504);
    assert.ok(ms >= 2_480 && ms < 3_800, `504 after ${ms.toFixed(0)} ms; expected the 2,500 ms deadline`);
    assert.equal(
      hangs.reduce((n, h) => n + h.hits, 0),
      2,
      'the second try gets what the deadline leaves (500 ms), and no third one starts',
    );
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.errors, { kind: 'deadline' }), 1);
    assert.equal(m.get(MetricName.retries, { reason: 'timeout' }), 1);
    assert.equal(m.get(MetricName.requests, { code: '504' }), 1);
  });

  it('a POST that timed out is not replayed: 504 after one try', async (t) => {
    const hang = await hangingBackend('hang');
    const b = await startBackend('b');
    t.after(() => Promise.all([hang.close(), b.close()]));
    const lb = await balancerFor(t, [hang, b], { timeouts: { headersMs: 300, requestMs: 2_000 } });
    const { value: res, ms } = await timed(() => httpRequest(`http://127.0.0.1:${lb.port}/`, { method: 'POST', body: 'once' }));
    assert.equal(res.status, 504);
    assert.ok(ms < 1_500, `504 after ${ms.toFixed(0)} ms`);
    assert.equal(b.hits, 0);
    assert.equal((await scrape(lb.metricsPort)).get(MetricName.errors, { kind: 'timeout' }), 1);
  });

  it('an upload slower than the deadline is not cut: the deadline starts again once the body is sent', async (t) => {
    const b = await startBackend('b');
    t.after(() => b.close());
    const lb = await balancerFor(t, [b], { timeouts: { headersMs: 300, requestMs: 400 } });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ port: lb.port, host: '127.0.0.1', method: 'PUT', path: '/up', agent: false }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (body += d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      let sent = 0;
      const tick = setInterval(() => {
        if (sent++ < 6) req.write(`part${sent};`);
        else {
          clearInterval(tick);
          req.end();
        }
      }, 100);
    });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { body: string }).body, 'part1;part2;part3;part4;part5;part6;');
  });
});

describe('retry budget', () => {
  it('arithmetic: max(minConcurrency, budgetPercent of active requests), places given back', () => {
    const budget = new RetryBudget();
    budget.active = 10;
    assert.equal(budget.tryAcquire(20, 1), true);
    assert.equal(budget.tryAcquire(20, 1), true);
    assert.equal(budget.tryAcquire(20, 1), false, '20% of 10 is 2');
    budget.release();
    assert.equal(budget.tryAcquire(20, 1), true);
    const idle = new RetryBudget();
    idle.active = 1;
    assert.equal(idle.tryAcquire(20, 3), true);
    assert.equal(idle.tryAcquire(20, 3), true);
    assert.equal(idle.tryAcquire(20, 3), true);
    assert.equal(idle.tryAcquire(20, 3), false, 'the minimum is 3');
    assert.equal(new RetryBudget().tryAcquire(0, 0), false);
  });

  it('exhausted: a reset GET is not retried, gets its own 502 and lb_errors_total{kind="retry_budget"}', async (t) => {
    const resetter = await startBackend('resetter', (req) => req.socket.destroy());
    const good = await startBackend('good');
    t.after(() => Promise.all([resetter.close(), good.close()]));
    const lb = await balancerFor(t, [resetter, good], {
      retries: { max: 2, budgetPercent: 0, minConcurrency: 0 },
      health: { active: { enabled: false }, passive: { enabled: false } },
    });
    const res = await httpRequest(`http://127.0.0.1:${lb.port}/`);
    assert.equal(res.status, 502);
    assert.equal(good.hits, 0);
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.errors, { kind: 'retry_budget' }), 1);
    assert.equal(m.get(MetricName.retries), 0);
  });

  it('a reset that marks its backend down (passive health) is failover: retried with a budget of zero', async (t) => {
    const resetter = await startBackend('resetter', (req) => req.socket.destroy());
    const good = await startBackend('good');
    t.after(() => Promise.all([resetter.close(), good.close()]));
    const lb = await balancerFor(t, [resetter, good], { retries: { budgetPercent: 0, minConcurrency: 0 } });
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 200);
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.retries, { backend: 'resetter', reason: 'upstream_reset' }), 1);
    assert.equal(m.get(MetricName.errors, { kind: 'retry_budget' }), 0);
  });

  it('exhausted: a per-try timeout keeps its 504', async (t) => {
    const hang = await hangingBackend('hang');
    const good = await startBackend('good');
    t.after(() => Promise.all([hang.close(), good.close()]));
    const lb = await balancerFor(t, [hang, good], { timeouts: { headersMs: 200 }, retries: { budgetPercent: 0, minConcurrency: 0 } });
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 504);
    assert.equal(good.hits, 0);
    assert.equal((await scrape(lb.metricsPort)).get(MetricName.errors, { kind: 'retry_budget' }), 1);
  });

  it('a refused connection is exempt: failover works with a budget of zero', async (t) => {
    const good = await startBackend('good');
    t.after(() => good.close());
    const lb = await balancerFor(t, [{ name: 'dead', url: `http://127.0.0.1:${await closedPort()}` }, good], {
      retries: { budgetPercent: 0, minConcurrency: 0 },
    });
    assert.equal((await httpRequest(`http://127.0.0.1:${lb.port}/`)).status, 200);
    const m = await scrape(lb.metricsPort);
    assert.equal(m.get(MetricName.retries, { backend: 'dead', reason: 'connect' }), 1);
    assert.equal(m.get(MetricName.errors, { kind: 'retry_budget' }), 0);
  });

  it('concurrent failures: retries stop at the budget (minConcurrency 1), the rest get their status', async (t) => {
    // A barrier, not a hold time: the six first tries are held until all six
    // have arrived, then reset together (a 300 ms hold assumed they all arrive
    // within it, which a busy runner does not keep). A retry is reset only once
    // five clients have their answer, so every budget decision is taken while
    // it is in flight.
    const held: http.IncomingMessage[] = [];
    let released = false;
    let answered = 0;
    const reset = (req: http.IncomingMessage) => {
      if (released) {
        void waitFor(() => answered >= 5, 10_000)
          .catch(() => {})
          .finally(() => req.socket.destroy());
        return;
      }
      held.push(req);
      if (held.length === 6) {
        released = true;
        for (const r of held) r.socket.destroy();
      }
    };
    const r1 = await startBackend('r1', reset);
    const r2 = await startBackend('r2', reset);
    t.after(() => Promise.all([r1.close(), r2.close()]));
    const lb = await balancerFor(t, [r1, r2], {
      retries: { max: 1, budgetPercent: 0, minConcurrency: 1 },
      health: { active: { enabled: false }, passive: { enabled: false } },
    });
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        httpRequest(`http://127.0.0.1:${lb.port}/`).finally(() => {
          answered++;
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array(6).fill(502),
    );
    const m = await scrape(lb.metricsPort);
    // The six first tries fail together: one may retry, five are refused by the budget.
    assert.equal(m.get(MetricName.retries), 1);
    assert.equal(m.get(MetricName.errors, { kind: 'retry_budget' }), 5);
    assert.equal(r1.hits + r2.hits, 7);
  });
});

describe('config of deadlines, budgets and the queue', () => {
  it('defaults: 15 s deadline, 5 s per try, 20% budget with 3 minimum, queue 1024', () => {
    const lb = parseConfigText('c.yaml', 'lb:\n  backends: [{ name: b, url: "http://127.0.0.1:1" }]\n').lb;
    assert.equal(lb.timeouts.requestMs, 15_000);
    assert.equal(lb.timeouts.headersMs, 5_000);
    assert.equal(lb.retries.budgetPercent, 20);
    assert.equal(lb.retries.minConcurrency, 3);
    assert.equal(lb.pool.maxQueue, 1024);
  });

  it('refuses bad values, naming each key', () => {
    assert.throws(
      () =>
        parseConfigText(
          'c.yaml',
          'lb:\n  backends: [{ name: b, url: "http://127.0.0.1:1" }]\n  retries: { budgetPercent: 150, minConcurrency: -1 }\n  pool: { maxQueue: 1.5 }\n  timeouts: { requestMs: 0 }\n',
        ),
      (err: Error) => {
        for (const key of ['lb.retries.budgetPercent', 'lb.retries.minConcurrency', 'lb.pool.maxQueue', 'lb.timeouts.requestMs'])
          assert.match(err.message, new RegExp(key.replace(/\./g, '\\.')));
        return true;
      },
    );
  });
});
