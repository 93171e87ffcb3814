/**
 * The closed-loop engine against real `http.createServer` backends on port
 * 0: exact request and byte counts for 1 MiB bodies, chunked bodies, resets,
 * merging over processes, and the parser's copy-free body skipping.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createClosedLoopEngine } from '../../harness/engines/closed-loop.js';
import type { GeneratorReport } from '../../harness/engines/open-loop.js';
import { ResponseParser, type ParsedResponse } from '../../harness/engines/generator/response-parser.js';
import { UsageError } from '../../common/errors.js';
import { generatorChildren } from './open-loop-fixtures.js';

const MIB = 1024 * 1024;

after(() => {
  assert.deepEqual(generatorChildren(), [], 'no generator process is left behind');
});

interface CountingServer {
  url: string;
  port: number;
  hits: () => number;
  /** Remote addresses requests came from. */
  peers: Set<string>;
  close(): Promise<void>;
}

/** A backend that counts hits; `answer` writes each response (or resets). */
async function startServer(answer: (res: http.ServerResponse, n: number) => void): Promise<CountingServer> {
  let hits = 0;
  const peers = new Set<string>();
  const server = http.createServer((req, res) => {
    hits++;
    peers.add(req.socket.remoteAddress ?? '');
    req.resume();
    answer(res, hits);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/load`,
    port,
    hits: () => hits,
    peers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Bytes of the response head the server sends for one request, read raw. */
async function headBytes(port: number): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write('GET /load HTTP/1.1\r\nHost: x\r\n\r\n');
  let raw = Buffer.alloc(0);
  for await (const chunk of socket) {
    raw = Buffer.concat([raw, chunk as Buffer]);
    const end = raw.indexOf('\r\n\r\n');
    if (end >= 0) {
      socket.destroy();
      return end + 4;
    }
  }
  throw new Error('no head');
}

test('1 MiB bodies: requests equal server hits and bytes equal heads plus bodies', async (t) => {
  const body = Buffer.alloc(MIB, 0x61);
  const server = await startServer((res) => {
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  t.after(() => server.close());
  const head = await headBytes(server.port);
  const hitsBefore = server.hits();
  const connections = 4;
  const r = await createClosedLoopEngine().run({ url: server.url, connections, durationMs: 1000, seriesIntervalMs: 250 });
  assert.equal(r.engine, 'closed-loop');
  assert.equal(r.loadModel, 'closed');
  assert.equal(r.latencyResolutionUs, 1);
  assert.equal(r.schedule, undefined);
  assert.equal(r.connectionsEstablished, connections);
  assert.deepEqual(r.errors, {});
  assert.ok(r.requests > 20, `requests ${r.requests}`);
  assert.deepEqual(r.statusCounts, { '200': r.requests });
  // One unrecorded primer per connection, then every request sent completes.
  assert.equal(server.hits() - hitsBefore, connections + r.requests);
  assert.equal(r.bytes, r.requests * (head + MIB));
  assert.equal(r.series.length, 4);
  assert.equal(
    r.series.reduce((s, b) => s + b.bytes, 0),
    r.bytes,
  );
  assert.equal(
    r.series.reduce((s, b) => s + b.requests, 0),
    r.requests,
  );
  assert.ok(r.latency.count === r.requests && r.latency.minUs > 0);
  assert.ok(r.generator.cpuPercent > 0);
});

test('chunked bodies are counted whole, chunk framing included', async (t) => {
  const parts = [Buffer.alloc(100_000, 0x62), Buffer.from('x'), Buffer.alloc(70_000, 0x63)];
  const bodyBytes = parts.reduce((s, p) => s + p.length, 0);
  const server = await startServer((res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (const p of parts) res.write(p);
    res.end();
  });
  t.after(() => server.close());
  const hitsBefore = server.hits();
  const r = await createClosedLoopEngine().run({ url: server.url, connections: 3, durationMs: 800 });
  assert.deepEqual(r.errors, {});
  assert.ok(r.requests > 10, `requests ${r.requests}`);
  assert.equal(server.hits() - hitsBefore, 3 + r.requests);
  const perResponse = r.bytes / r.requests;
  assert.equal(perResponse, Math.round(perResponse), 'every response has the same size');
  // Head plus per-chunk size lines and CRLFs: a few hundred bytes over the body.
  assert.ok(perResponse > bodyBytes && perResponse < bodyBytes + 400, `bytes per response ${perResponse}`);
});

test('resets are counted as errors and the connections come back', async (t) => {
  const server = await startServer((res, n) => {
    if (n % 7 === 0) {
      res.socket?.destroy();
      return;
    }
    res.writeHead(200, { 'content-length': 2 });
    res.end('ok');
  });
  t.after(() => server.close());
  const r = await createClosedLoopEngine().run({ url: server.url, connections: 4, durationMs: 800 });
  const resets = r.errors['reset'] ?? 0;
  assert.ok(resets > 10, `resets ${resets}`);
  assert.ok(r.requests > 6 * resets * 0.8, `requests ${r.requests}, resets ${resets}`);
  assert.ok(r.requests + resets <= server.hits());
});

test('two processes merge exactly, each from its own source address', async (t) => {
  const body = Buffer.alloc(64 * 1024, 0x64);
  const server = await startServer((res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  t.after(() => server.close());
  let reports: readonly GeneratorReport[] = [];
  const hitsBefore = server.hits();
  const r = await createClosedLoopEngine({ onProcessReports: (rs) => (reports = rs) }).run({
    url: server.url,
    connections: 6,
    durationMs: 800,
    processes: 2,
  });
  assert.equal(r.generator.processes, 2);
  assert.equal(r.spec.processes, 2);
  assert.equal(reports.length, 2);
  assert.ok(reports.every((p) => p.requests > 0));
  assert.equal(reports.length, 2);
  const total = (field: 'requests' | 'bytes' | 'cpuPercent') => reports.reduce((s, p) => s + p[field], 0);
  assert.equal(total('requests'), r.requests);
  assert.equal(total('bytes'), r.bytes);
  assert.equal(r.generator.cpuPercent, total('cpuPercent'));
  assert.equal(r.connectionsEstablished, 6);
  assert.equal(server.hits() - hitsBefore, 6 + r.requests);
  assert.deepEqual([...server.peers].sort(), ['127.0.0.1', '127.0.0.2']);
});

test('a rate is a UsageError and starts nothing', async () => {
  await assert.rejects(createClosedLoopEngine().run({ url: 'http://127.0.0.1:1/', connections: 1, durationMs: 100, rate: 10 }), UsageError);
  assert.deepEqual(generatorChildren(), []);
});

test('response parser: every split point, with the read buffer overwritten after each call', () => {
  const stream = Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789' +
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\n\r\n',
    'latin1',
  );
  const scratch = Buffer.alloc(stream.length);
  for (let split = 1; split < stream.length; split++) {
    const p = new ResponseParser();
    const got: ParsedResponse[] = [];
    for (const [from, to] of [
      [0, split],
      [split, stream.length],
    ] as const) {
      const n = stream.copy(scratch, 0, from, to);
      p.expect(true);
      p.execute(scratch.subarray(0, n), (r) => got.push(r));
      // A parser that kept a view of the read buffer would now see garbage.
      scratch.fill(0x7a);
    }
    assert.deepEqual(
      got.map((r) => r.status),
      [200, 201, 204],
      `split at ${split}`,
    );
    assert.equal(
      got.reduce((s, r) => s + r.bytes, 0),
      stream.length,
      `split at ${split}: bytes`,
    );
    assert.equal(p.inResponse, false);
  }
});
