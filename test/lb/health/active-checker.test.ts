import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActiveChecker } from '../../../lb/health/active-checker.js';
import { waitFor } from '../../wait-for.js';

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A URL nobody listens on: a port that was just free. */
async function deadUrl(): Promise<string> {
  const { server, url } = await listen(() => {});
  await close(server);
  return url;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('active checks classify 2xx/3xx as up and report short reasons otherwise', async (t) => {
  const ok = await listen((_req, res) => res.end('ok'));
  const redirect = await listen((_req, res) => res.writeHead(301, { location: '/' }).end());
  const failing = await listen((_req, res) => res.writeHead(503).end());
  const hanging = await listen(() => {});
  const refused = await deadUrl();
  const results = new Map<number, { ok: boolean; detail: string }>();
  // The answering backends get a timeout far above any stall of a busy runner
  // (a 150 ms one would turn a late "status 200" into a timeout); only the
  // hanging one, on its own checker, has the short timeout its reason names.
  const checker = new ActiveChecker(
    [{ url: ok.url }, { url: redirect.url }, { url: failing.url }, { url: refused }],
    { path: '/health', intervalMs: 50, timeoutMs: 5000 },
    (index, isOk, detail) => {
      if (!results.has(index)) results.set(index, { ok: isOk, detail });
    },
  );
  const hangChecker = new ActiveChecker([{ url: hanging.url }], { path: '/health', intervalMs: 50, timeoutMs: 150 }, (_index, isOk, detail) => {
    if (!results.has(4)) results.set(4, { ok: isOk, detail });
  });
  t.after(async () => {
    checker.stop();
    hangChecker.stop();
    await Promise.all([ok, redirect, failing, hanging].map((s) => close(s.server)));
  });
  checker.start();
  hangChecker.start();
  await waitFor(() => results.size === 5, 10_000, { what: () => `5 results (${JSON.stringify([...results])})` });
  assert.deepEqual(results.get(0), { ok: true, detail: 'status 200' });
  assert.deepEqual(results.get(1), { ok: true, detail: 'status 301' });
  assert.deepEqual(results.get(2), { ok: false, detail: 'status 503' });
  assert.deepEqual(results.get(3), { ok: false, detail: 'connect ECONNREFUSED' });
  assert.deepEqual(results.get(4), { ok: false, detail: 'timeout after 150ms' });
});

test('each check is a GET of the path on a fresh connection, and checks of one backend never overlap', async (t) => {
  let connections = 0;
  let requests = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const seen = new Set<string>();
  const perSocket = new Map<object, number>();
  const backend = await listen((req, res) => {
    requests++;
    perSocket.set(req.socket, (perSocket.get(req.socket) ?? 0) + 1);
    seen.add(`${req.method} ${req.url}`);
    maxConcurrent = Math.max(maxConcurrent, ++concurrent);
    // Slower than the interval: the next check must wait for this one.
    setTimeout(() => {
      concurrent--;
      res.end('ok');
    }, 60);
  });
  backend.server.on('connection', () => connections++);
  let reports = 0;
  const checker = new ActiveChecker([{ url: backend.url }], { path: '/healthz', intervalMs: 10, timeoutMs: 1000 }, (_i, ok) => {
    assert.equal(ok, true);
    reports++;
  });
  t.after(async () => {
    checker.stop();
    await close(backend.server);
  });
  checker.start();
  await waitFor(() => reports >= 4, 5000);
  checker.stop();
  assert.equal(maxConcurrent, 1);
  // One request per connection. The check in flight at stop() may have
  // connected without its request arriving yet, so connections >= requests.
  assert.deepEqual([...new Set(perSocket.values())], [1]);
  assert.ok(connections >= requests && connections <= requests + 1, `${connections} connections, ${requests} requests`);
  assert.deepEqual([...seen], ['GET /healthz']);
});

test('stop() destroys in-flight check sockets and nothing reports after it', async (t) => {
  let serverSocketClosed = false;
  let received = false;
  const hanging = await listen((req) => {
    received = true;
    req.socket.on('close', () => (serverSocketClosed = true));
  });
  let reports = 0;
  const checker = new ActiveChecker([{ url: hanging.url }], { path: '/health', intervalMs: 10, timeoutMs: 10_000 }, () => reports++);
  t.after(async () => {
    checker.stop();
    await close(hanging.server);
  });
  checker.start();
  await waitFor(() => received, 5000, { what: 'the check request' });
  assert.equal(serverSocketClosed, false, 'the hanging check holds its socket until stop()');
  checker.stop();
  assert.equal(checker.running, false);
  // The check's timeout is 10 s: a socket closed well before that was destroyed by stop().
  await waitFor(() => serverSocketClosed, 5000, { what: 'stop() to destroy the in-flight check socket' });
  assert.equal(serverSocketClosed, true);
  await sleep(100);
  assert.equal(reports, 0);
});

test('a stopped checker can start again', async (t) => {
  const backend = await listen((_req, res) => res.end('ok'));
  let reports = 0;
  const checker = new ActiveChecker([{ url: backend.url }], { path: '/', intervalMs: 20, timeoutMs: 500 }, () => reports++);
  t.after(async () => {
    checker.stop();
    await close(backend.server);
  });
  checker.start();
  await waitFor(() => reports >= 1, 5000, { what: 'a first report' });
  checker.stop();
  assert.equal(checker.running, false);
  const before = reports;
  await sleep(60);
  assert.equal(reports, before, 'no report while stopped');
  checker.start();
  assert.equal(checker.running, true);
  await waitFor(() => reports > before, 5000, { what: 'a report after the restart' });
  assert.ok(reports > before, `${reports - before} reports after the restart`);
});
