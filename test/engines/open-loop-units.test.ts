import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseParser, ResponseParseError, type ParsedResponse } from '../../harness/engines/generator/response-parser.js';
import { assignSourceAddresses, intendedOffsetMs, slotsBefore, splitEvenly } from '../../harness/engines/generator/schedule.js';
import { encodeRequest } from '../../harness/engines/generator/net-transport.js';
import { addCounts, buildLoadResult, emptySeries } from '../../harness/engines/result-builder.js';
import { createLatencyHistogram, recordUs } from '../../harness/result/histogram.js';

function parseAll(chunks: string[], hasBody = true): ParsedResponse[] {
  const p = new ResponseParser();
  p.expect(hasBody);
  const out: ParsedResponse[] = [];
  for (const c of chunks) p.execute(Buffer.from(c, 'latin1'), (r) => out.push(r));
  return out;
}

test('response parser: table of well-formed responses', () => {
  const cases: { name: string; chunks: string[]; hasBody?: boolean; want: Omit<ParsedResponse, 'bytes'>[] }[] = [
    { name: 'content-length', chunks: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'], want: [{ status: 200, close: false }] },
    { name: 'split everywhere', chunks: ['HTTP/1.1 20', '1 Created\r\nconTent-length:', ' 3\r', '\n\r\nab', 'c'], want: [{ status: 201, close: false }] },
    { name: 'zero length', chunks: ['HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'], want: [{ status: 404, close: false }] },
    {
      name: 'chunked with extension and trailer',
      chunks: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n', '0\r\nX-Trailer: 1\r\n\r\n'],
      want: [{ status: 200, close: false }],
    },
    {
      name: 'chunked split in CRLF',
      chunks: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r', '\n0\r\n\r\n'],
      want: [{ status: 200, close: false }],
    },
    {
      name: '100 continue then 200',
      chunks: ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'],
      want: [{ status: 200, close: false }],
    },
    { name: '204 has no body', chunks: ['HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n'], want: [{ status: 204, close: false }] },
    { name: 'HEAD has no body', chunks: ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'], hasBody: false, want: [{ status: 200, close: false }] },
    { name: 'connection close', chunks: ['HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'], want: [{ status: 503, close: true }] },
    { name: 'HTTP/1.0 closes', chunks: ['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'], want: [{ status: 200, close: true }] },
  ];
  for (const c of cases) {
    const got = parseAll(c.chunks, c.hasBody);
    assert.deepEqual(
      got.map(({ status, close }) => ({ status, close })),
      c.want,
      c.name,
    );
    const total = c.chunks.join('').length;
    assert.equal(
      got.reduce((s, r) => s + r.bytes, 0),
      total,
      `${c.name}: bytes`,
    );
  }
});

test('response parser: body delimited by close completes on end()', () => {
  const p = new ResponseParser();
  p.expect(true);
  const out: ParsedResponse[] = [];
  p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nabc'), (r) => out.push(r));
  assert.equal(out.length, 0);
  const r = p.end();
  assert.equal(r?.status, 200);
  assert.equal(r?.close, true);
});

test('response parser: table of malformed responses', () => {
  const bad = [
    'HTTX/1.1 200 OK\r\n\r\n',
    'HTTP/1.1 2x0 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc',
  ];
  for (const text of bad) assert.throws(() => parseAll([text]), ResponseParseError, JSON.stringify(text));
  const p = new ResponseParser();
  p.expect(true);
  p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'), () => {});
  assert.throws(() => p.end(), ResponseParseError, 'cut short');
});

test('encodeRequest adds Host and Content-Length and rejects header injection', () => {
  const buf = encodeRequest({ host: '127.0.0.1', port: 8080, path: '/x?y=1', method: 'POST', headers: { 'x-a': 'b' }, body: 'hi' });
  assert.equal(buf.toString(), 'POST /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 2\r\nx-a: b\r\n\r\nhi');
  assert.throws(() => encodeRequest({ host: 'h', port: 1, path: '/', method: 'GET', headers: { a: 'b\r\nc: d' } }), TypeError);
});

test('schedule: interleaved slots of N processes form one even schedule', () => {
  const rate = 1000;
  const times: number[] = [];
  for (let k = 0; k < 3; k++) for (let i = 0; i < 10; i++) times.push(intendedOffsetMs(i, k, 3, rate));
  times.sort((a, b) => a - b);
  times.forEach((t, i) => assert.ok(Math.abs(t - i) < 1e-9, `slot ${i} at ${t}`));
  // slotsBefore is the inverse: how many of a process's slots precede t.
  for (let k = 0; k < 3; k++) {
    for (const t of [0, 0.5, 1, 2.9, 3, 3.1, 100]) {
      let n = 0;
      while (intendedOffsetMs(n, k, 3, rate) < t) n++;
      assert.equal(slotsBefore(t, k, 3, rate), n, `k=${k} t=${t}`);
    }
  }
  assert.deepEqual(splitEvenly(10, 3), [4, 3, 3]);
});

test('source addresses: dealt round-robin, defaulted per process on loopback', () => {
  assert.deepEqual(assignSourceAddresses(['127.0.0.2', '127.0.0.3', '127.0.0.4'], 2, '127.0.0.1'), [['127.0.0.2', '127.0.0.4'], ['127.0.0.3']]);
  assert.deepEqual(assignSourceAddresses(['127.0.0.9'], 2, '127.0.0.1'), [['127.0.0.9'], ['127.0.0.9']]);
  assert.deepEqual(assignSourceAddresses(undefined, 1, '127.0.0.1'), [[]]);
  assert.deepEqual(assignSourceAddresses(undefined, 2, '127.0.0.1'), [['127.0.0.1'], ['127.0.0.2']]);
  assert.deepEqual(assignSourceAddresses(undefined, 2, '::1'), [[], []]);
});

test('result builder: derived fields, no NaN on empty runs, zero counts dropped', () => {
  const h = createLatencyHistogram();
  const empty = buildLoadResult({
    engine: 'open-loop',
    engineVersion: 'x',
    loadModel: 'open',
    latencyResolutionUs: 1,
    spec: { url: 'http://127.0.0.1:1/', connections: 1, durationMs: 1000 },
    processes: 1,
    startedAtMs: 0,
    durationMs: 0,
    requests: 0,
    bytes: 0,
    errors: { connect: 0 },
    statusCounts: {},
    histogram: h,
    seriesIntervalMs: 1000,
    series: emptySeries(1, 1000),
    connectionsEstablished: 0,
    connectRampMs: 0,
    generator: { processes: 1, cpuPercent: 0, maxProcessCpuPercent: 0, saturated: false },
  });
  assert.equal(empty.achievedRate, 0);
  assert.equal(empty.latency.p99Us, 0);
  assert.deepEqual(empty.errors, {});
  recordUs(h, 1500);
  recordUs(h, 2500);
  const r = buildLoadResult({ ...structuredCloneable(empty), histogram: h, requests: 2, bytes: 200, durationMs: 2000 });
  assert.equal(r.achievedRate, 1);
  assert.equal(r.bytesPerSecond, 100);
  assert.equal(r.spec.method, 'GET');
  assert.equal(r.latency.count, 2);
  assert.deepEqual(addCounts({ a: 1 }, { a: 2, b: 3 }), { a: 3, b: 3 });
});

function structuredCloneable(r: ReturnType<typeof buildLoadResult>) {
  return {
    engine: r.engine,
    engineVersion: r.engineVersion,
    loadModel: r.loadModel,
    latencyResolutionUs: r.latencyResolutionUs,
    spec: { url: r.spec.url, connections: r.spec.connections, durationMs: r.spec.durationMs },
    processes: 1,
    startedAtMs: 0,
    errors: {},
    statusCounts: {},
    seriesIntervalMs: 1000,
    series: r.series,
    connectionsEstablished: 0,
    connectRampMs: 0,
    generator: r.generator,
  };
}
