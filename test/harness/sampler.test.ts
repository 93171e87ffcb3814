import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { counterDelta, scrapeMetrics, ScrapeError, seriesKey, startSampling } from '../../harness/sampling/sampler.js';
import type { PromSnapshot } from '../../harness/result/scenario-api.js';
import { waitFor } from '../wait-for.js';

const METRICS = `# HELP lb_active_connections open client connections
# TYPE lb_active_connections gauge
lb_active_connections 42
# TYPE lb_backend_health gauge
lb_backend_health{backend="backend-8001"} 1
lb_backend_health{backend="backend-8002"} 0
# TYPE lb_requests_total counter
lb_requests_total{backend="backend-8001",code="200"} 10
lb_active_connections_other 7
`;

let server: http.Server;
let baseUrl: string;
let scrapes = 0;
const children: ChildProcess[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      scrapes++;
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(METRICS);
    } else if (req.url === '/hang') {
      // never answers: the scrape must time out
    } else {
      res.statusCode = 500;
      res.end('boom');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A child that spends about 40% of a core, so its CPU shows in /proc. */
async function spawnBusyChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{const t=Date.now();while(Date.now()-t<20){}},50)'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child;
}

function snapshot(samples: [string, Record<string, string>, number][]): PromSnapshot {
  return { atMs: 0, samples: samples.map(([name, labels, value]) => ({ name, labels, value })) };
}

test('scrapeMetrics parses a real /metrics', async () => {
  const snap = await scrapeMetrics(`${baseUrl}/metrics`);
  assert.ok(snap.atMs > 0);
  const health = snap.samples.filter((s) => s.name === 'lb_backend_health');
  assert.deepEqual(
    health.map((s) => [s.labels['backend'], s.value]),
    [
      ['backend-8001', 1],
      ['backend-8002', 0],
    ],
  );
});

test('scrapeMetrics: non-2xx, refused, aborted and silent endpoints reject with ScrapeError', async () => {
  await assert.rejects(
    scrapeMetrics(`${baseUrl}/other`),
    (e: unknown) => e instanceof ScrapeError && /HTTP 500/.test(e.message) && e.code === 'LBB_ERR_SCRAPE_FAILED',
  );
  // A port that was just free: nothing listens on it.
  const probe = http.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const freePort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(scrapeMetrics(`http://127.0.0.1:${freePort}/metrics`), ScrapeError);
  const ac = new AbortController();
  const pending = scrapeMetrics(`${baseUrl}/hang`, ac.signal);
  ac.abort();
  await assert.rejects(pending, (e: unknown) => e instanceof ScrapeError && /aborted/.test(e.message));
  await assert.rejects(scrapeMetrics(`${baseUrl}/hang`), (e: unknown) => e instanceof ScrapeError && /within 2000 ms/.test(e.message));
});

test('seriesKey renders labels as Prometheus does, bare name without labels', () => {
  assert.equal(seriesKey('up', {}), 'up');
  assert.equal(seriesKey('lb_backend_health', { backend: 'backend-8002' }), 'lb_backend_health{backend="backend-8002"}');
  assert.equal(seriesKey('m', { b: '2', a: 'x"y' }), 'm{a="x\\"y",b="2"}');
});

test('counterDelta: sums matching series, counts resets and new series from 0', () => {
  const before = snapshot([
    ['lb_requests_total', { backend: 'a', code: '200' }, 100],
    ['lb_requests_total', { backend: 'a', code: '502' }, 5],
    ['lb_requests_total', { backend: 'b', code: '200' }, 50],
    ['lb_requests_total', { backend: 'gone', code: '200' }, 9],
    ['other_total', {}, 1000],
  ]);
  const after = snapshot([
    ['lb_requests_total', { backend: 'a', code: '200' }, 150],
    ['lb_requests_total', { backend: 'a', code: '502' }, 7],
    ['lb_requests_total', { backend: 'b', code: '200' }, 20], // reset: counts 20
    ['lb_requests_total', { backend: 'c', code: '200' }, 4], // new: counts 4
    ['other_total', {}, 1001],
  ]);
  const cases: [Record<string, string> | undefined, number][] = [
    [undefined, 50 + 2 + 20 + 4],
    [{ backend: 'a' }, 52],
    [{ code: '200' }, 50 + 20 + 4],
    [{ backend: 'b' }, 20],
    [{ backend: 'gone' }, 0],
    [{ backend: 'a', code: '502' }, 2],
  ];
  for (const [match, want] of cases) assert.equal(counterDelta(before, after, 'lb_requests_total', match), want, JSON.stringify(match));
  assert.equal(counterDelta(before, after, 'other_total'), 1);
  assert.equal(counterDelta(before, after, 'missing_total'), 0);
});

test('startSampling records CPU and RSS of real processes and the listed gauges', async () => {
  const busy = await spawnBusyChild();
  let listed = [{ name: 'busy', pid: busy.pid! }];
  // Ticks are counted, not timed: a busy runner fires a 100 ms interval late.
  // processes() is called once at start and then once a tick, and a tick
  // pushes its samples right after that call returns.
  let calls = 0;
  const scrapesBefore = scrapes;
  const session = startSampling({
    metricsUrl: `${baseUrl}/metrics`,
    processes: () => {
      calls++;
      return listed;
    },
    intervalMs: 100,
    gauges: ['lb_active_connections', 'lb_backend_health'],
  });
  await waitFor(() => calls >= 4, 10_000, { what: () => `3 ticks (processes() called ${calls} times)` });
  // Processes are re-read every tick: a second one appears (its meter starts on
  // the first tick that lists it, its first sample comes on the next).
  const late = await spawnBusyChild();
  listed = [...listed, { name: 'late', pid: late.pid! }];
  const callsAtLate = calls;
  await waitFor(() => calls >= callsAtLate + 2, 10_000, { what: () => `2 ticks after listing 'late' (${calls - callsAtLate})` });
  // One scrape at a time: when the 4th has reached the server, 3 have completed.
  await waitFor(() => scrapes >= scrapesBefore + 4, 10_000, { what: () => `4 scrapes (${scrapes - scrapesBefore})` });
  const data = await session.stop();

  const busySamples = data.processes.filter((p) => p.name === 'busy');
  assert.ok(busySamples.length >= 3, `busy samples: ${busySamples.length}`);
  for (const s of busySamples) {
    assert.equal(s.pid, busy.pid);
    assert.ok(s.rssBytes > 1024 * 1024, `rss ${s.rssBytes}`);
    assert.ok(Number.isFinite(s.cpuPercent) && s.cpuPercent >= 0);
  }
  assert.ok(Math.max(...busySamples.map((s) => s.cpuPercent)) > 0, 'a spinning child shows CPU');
  assert.ok(
    data.processes.some((p) => p.name === 'late' && p.pid === late.pid),
    'a process listed later is sampled',
  );

  assert.deepEqual(Object.keys(data.gauges).sort(), [
    'lb_active_connections',
    'lb_backend_health{backend="backend-8001"}',
    'lb_backend_health{backend="backend-8002"}',
  ]);
  assert.ok(data.gauges['lb_active_connections']?.every((p) => p.value === 42 && p.atMs > 0));
  assert.ok((data.gauges['lb_active_connections']?.length ?? 0) >= 3);
  assert.ok(scrapes > scrapesBefore);

  // Stopped means stopped: no more samples, no more scrapes, same data on a
  // second stop. A scrape stop() aborted may still reach the server after it
  // (its request was already on the wire): at most that one.
  const count = scrapes;
  const recorded = data.processes.length + Object.values(data.gauges).reduce((n, g) => n + g.length, 0);
  await new Promise((r) => setTimeout(r, 250));
  const settled = scrapes;
  assert.ok(settled - count <= 1, `${settled - count} scrapes after stop`);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(scrapes, settled);
  assert.equal(data.processes.length + Object.values(data.gauges).reduce((n, g) => n + g.length, 0), recorded);
  assert.equal(await session.stop(), data);
});

test('startSampling: failed scrapes, dead processes and a throwing list are skipped', async () => {
  const busy = await spawnBusyChild();
  let calls = 0;
  const session = startSampling({
    metricsUrl: `${baseUrl}/other`,
    processes: () => {
      if (++calls === 3) throw new Error('list failed');
      return [
        { name: 'busy', pid: busy.pid! },
        { name: 'dead', pid: 2 ** 22 + 1 },
      ];
    },
    intervalMs: 80,
    gauges: ['lb_active_connections'],
  });
  // Call 1 (start) makes the meters, 2 samples busy, 3 throws (which drops the
  // meters), 4 makes them again, 5 samples busy: wait for one tick more.
  await waitFor(() => calls >= 6, 10_000, { what: () => `5 ticks (processes() called ${calls} times)` });
  const data = await session.stop();
  assert.deepEqual(data.gauges, {});
  assert.ok(data.processes.length >= 2);
  assert.ok(data.processes.every((p) => p.name === 'busy'));
});

test('startSampling without gauges never scrapes', async () => {
  const count = scrapes;
  let calls = 0;
  const session = startSampling({
    metricsUrl: `${baseUrl}/metrics`,
    processes: () => {
      calls++;
      return [{ name: 'self', pid: process.pid }];
    },
    intervalMs: 50,
    gauges: [],
  });
  // Start + 2 ticks: 2 samples of self, and 2 chances to scrape that must not.
  await waitFor(() => calls >= 3, 10_000, { what: () => `2 ticks (processes() called ${calls} times)` });
  const data = await session.stop();
  assert.equal(scrapes, count);
  assert.ok(data.processes.length >= 2);
  assert.ok(data.processes.every((p) => p.pid === process.pid));
});
