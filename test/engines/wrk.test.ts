import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findOnPath } from '../../harness/engines/external-binary.js';
import { createWrkEngine, histogramFromSpectrum, luaString, parseWrkOutput, wrkScript, wrkSpectrumPercentiles } from '../../harness/engines/wrk.js';
import type { LoadResult } from '../../harness/engines/engine.js';
import { decodeHistogram } from '../../harness/result/histogram.js';
import { UsageError } from '../../common/errors.js';
import { startScriptedServer, type ScriptedServer } from './scripted-server.js';
import { itemAt } from '../../common/checked.js';

const WRK_MISSING = findOnPath('wrk') === undefined ? 'wrk is not on PATH (apt-get install -y wrk)' : false;

describe('wrk engine: pure parts', () => {
  test('luaString escapes quotes, backslashes, control and non-ASCII bytes', () => {
    assert.equal(luaString('plain'), '"plain"');
    assert.equal(luaString('a"b\\c'), '"a\\034b\\092c"');
    assert.equal(luaString('x\ny'), '"x\\010y"');
    assert.equal(luaString('é'), '"\\195\\169"');
  });

  test('the script sets method, headers and body and defines only done()', () => {
    const lua = wrkScript({ method: 'post', headers: { 'x-a': '1' }, body: 'hi' });
    assert.match(lua, /^wrk\.method = "POST"$/m);
    assert.match(lua, /^wrk\.body = "hi"$/m);
    assert.match(lua, /^wrk\.headers\["x-a"\] = "1"$/m);
    assert.match(lua, /^done = function/m);
    // request()/response() would take wrk off its fast path.
    assert.doesNotMatch(lua, /^(request|response) = /m);
  });

  test('spectrum percentiles are increasing, dense in the tail, end at 100', () => {
    const ps = wrkSpectrumPercentiles();
    for (let i = 1; i < ps.length; i++) assert.ok(itemAt(ps, i, 'ps[i]') > itemAt(ps, i - 1, 'ps[i - 1]'), `${ps[i - 1]} < ${ps[i]}`);
    assert.equal(ps[0], 0);
    assert.equal(ps.at(-1), 100);
    assert.ok(ps.filter((p) => p > 99.9).length >= 40);
  });

  test('histogramFromSpectrum reproduces the queried percentiles and the count', () => {
    // 1000 latencies: 1..1000 µs.
    const spectrum = wrkSpectrumPercentiles().map((p): [number, number] => [p, Math.max(1, Math.ceil((p / 100) * 1000))]);
    const h = histogramFromSpectrum(spectrum, 1000);
    assert.equal(h.totalCount, 1000);
    assert.equal(h.minNonZeroValue, 1);
    assert.equal(h.maxValue, 1000);
    assert.ok(Math.abs(h.getValueAtPercentile(50) - 500) <= 3);
    assert.ok(Math.abs(h.getValueAtPercentile(99) - 990) <= 3);
    assert.equal(histogramFromSpectrum([], 0).totalCount, 0);
  });

  test('parseWrkOutput finds the marker line among wrk text', () => {
    const json =
      '{"durationUs":1000000,"requests":5,"bytes":50,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},"minUs":1,"maxUs":9,"meanUs":5,"stdevUs":1,"percentiles":[],"spectrum":[]}';
    const r = parseWrkOutput(`Running 1s test\n  5 requests\n\nLBBENCH_WRK_JSON ${json}\n`);
    assert.equal(r?.requests, 5);
    assert.equal(parseWrkOutput('no marker'), undefined);
  });
});

describe('wrk engine: real runs', { skip: WRK_MISSING }, () => {
  let server: ScriptedServer;
  let result: LoadResult;
  /** Wall-clock ms the run() call took: the measured window lies inside it. */
  let runMs = 0;

  before(async () => {
    server = await startScriptedServer({ status503Every: 5 });
    const t0 = performance.now();
    result = await createWrkEngine().run({
      url: server.url,
      method: 'POST',
      headers: { 'x-lbbench-test': 'yes' },
      body: 'ping',
      connections: 10,
      durationMs: 1000,
    });
    runMs = performance.now() - t0;
  });
  after(() => server?.close());

  test('returns a well-formed closed-loop LoadResult', () => {
    assert.equal(result.engine, 'wrk');
    assert.equal(result.loadModel, 'closed');
    assert.equal(result.latencyResolutionUs, 1);
    assert.ok(result.requests > 0);
    assert.ok(result.durationMs >= 900 && result.durationMs <= runMs, `window ${result.durationMs} ms of a ${Math.round(runMs)} ms run`);
    assert.ok(result.bytes > 0 && result.bytesPerSecond > 0);
    assert.equal(result.spec.connections, 10);
    assert.equal(result.connectionsEstablished, 10);
    assert.ok(result.generator.cpuPercent > 0, 'wrk CPU is metered');
    assert.deepEqual(result.series, []);
  });

  test('histogram decodes to the request count; summary is ordered', () => {
    assert.equal(decodeHistogram(result.histogram).totalCount, result.requests);
    const l = result.latency;
    assert.ok(l.minUs <= l.p50Us && l.p50Us <= l.p90Us && l.p90Us <= l.p99Us && l.p99Us <= l.maxUs);
  });

  test('status classes and non2xx match what the server sent', () => {
    const bad = result.statusCounts['4xx-5xx'] ?? 0;
    assert.equal(bad + (result.statusCounts['1xx-3xx'] ?? 0), result.requests);
    assert.equal(result.errors.non2xx, bad);
    assert.ok(Math.abs(bad / result.requests - 0.2) < 0.05, `503 share ${bad / result.requests}`);
  });

  test('sends the method, headers and body', () => {
    assert.ok(server.seen.length > 0);
    for (const s of server.seen) assert.deepEqual(s, { method: 'POST', header: 'yes', body: 'ping' });
  });

  test('connection resets are counted', async (t) => {
    const rst = await startScriptedServer({ rstEvery: 10 });
    t.after(() => rst.close());
    const r = await createWrkEngine().run({ url: rst.url, connections: 4, durationMs: 1000 });
    assert.ok(r.requests > 0);
    assert.ok((r.errors.reset ?? 0) > 0, `errors ${JSON.stringify(r.errors)}`);
  });

  test('a rate is refused (wrk cannot pace requests)', async () => {
    await assert.rejects(createWrkEngine().run({ url: server.url, connections: 1, durationMs: 1000, rate: 10 }), UsageError);
  });
});
