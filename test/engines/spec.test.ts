import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../common/errors.js';
import type { EngineCapabilities, LoadSpec } from '../../harness/engines/engine.js';
import { ENGINES, engineNames } from '../../harness/engines/index.js';
import { abortReason, loadSpecProblems, resolveLoadSpec, throwIfAborted } from '../../harness/engines/spec.js';

/** Port 1 on loopback: nothing listens, and nothing must be sent there. */
const URL_OK = 'http://127.0.0.1:1/';

/** Bad specs every engine refuses the same way, with the problem each names. */
const SHARED_BAD: { name: string; spec: Partial<LoadSpec>; problem: string }[] = [
  { name: 'not a URL', spec: { url: 'nope' }, problem: 'url "nope": not a URL (expected e.g. http://127.0.0.1:8080/)' },
  { name: 'https', spec: { url: 'https://127.0.0.1/' }, problem: 'url "https://127.0.0.1/": only http:// is supported' },
  { name: 'no connections', spec: { connections: 0 }, problem: 'connections 0: expected an integer >= 1' },
  { name: 'fractional connections', spec: { connections: 1.5 }, problem: 'connections 1.5: expected an integer >= 1' },
  { name: 'zero processes', spec: { processes: 0 }, problem: 'processes 0: expected an integer >= 1' },
  { name: 'zero threads', spec: { threads: 0 }, problem: 'threads 0: expected an integer >= 1' },
  { name: 'zero duration', spec: { durationMs: 0 }, problem: 'durationMs 0: expected > 0' },
  { name: 'negative warm-up', spec: { warmupMs: -1 }, problem: 'warmupMs -1: expected >= 0' },
  { name: 'zero timeout', spec: { timeoutMs: 0 }, problem: 'timeoutMs 0: expected > 0' },
  { name: 'tiny series buckets', spec: { seriesIntervalMs: 5 }, problem: 'seriesIntervalMs 5: expected >= 10' },
];

/** A spec each engine accepts, apart from the field under test. */
function validFor(caps: EngineCapabilities): LoadSpec {
  return { url: URL_OK, connections: 2, durationMs: 100, ...(caps.rate === 'required' ? { rate: 10 } : {}) };
}

test('every engine refuses the same bad specs with the same message, before starting anything', async () => {
  for (const name of engineNames()) {
    const engine = ENGINES[name]();
    for (const bad of SHARED_BAD) {
      const spec = { ...validFor(engine.capabilities), ...bad.spec } as LoadSpec;
      await assert.rejects(
        engine.run(spec),
        (err: unknown) => {
          assert.ok(err instanceof UsageError, `${name} / ${bad.name}: ${String(err)}`);
          assert.equal(err.exitCode, 2);
          assert.equal(err.message, `${name} engine: ${bad.problem}`, `${name} / ${bad.name}`);
          return true;
        },
        `${name} / ${bad.name}`,
      );
    }
  }
});

test("the rate rule follows each engine's rate capability", async () => {
  for (const name of engineNames()) {
    const engine = ENGINES[name]();
    const caps = engine.capabilities;
    const base = { url: URL_OK, connections: 2, durationMs: 100 };
    if (caps.rate === 'required') {
      await assert.rejects(engine.run(base), new RegExp(`^UsageError: ${name} engine: rate undefined: the ${name} engine needs a target rate > 0`), name);
    }
    if (caps.rate === 'none') {
      await assert.rejects(
        engine.run({ ...base, rate: 10 }),
        new RegExp(`${name} engine: rate 10: the ${name} engine sends as fast as responses complete and takes no rate`),
        name,
      );
    } else {
      await assert.rejects(engine.run({ ...base, rate: -1 }), { message: `${name} engine: rate -1: expected requests/s > 0` }, name);
      await assert.rejects(engine.run({ ...base, rate: Infinity }), { message: `${name} engine: rate Infinity: expected requests/s > 0` }, name);
    }
  }
});

test('every problem is listed, not only the first', () => {
  const caps = ENGINES['open-loop']().capabilities;
  const problems = loadSpecProblems('open-loop', caps, { url: 'http://10.0.0.1/', connections: 0, durationMs: -1 });
  assert.deepEqual(problems, [
    'url "http://10.0.0.1/": the open-loop engine sends to loopback only (127.0.0.0/8, ::1, localhost)',
    'connections 0: expected an integer >= 1',
    'durationMs -1: expected > 0',
    'rate undefined: the open-loop engine needs a target rate > 0 requests/s',
  ]);
});

test('capabilities decide the loopback rule and the per-process limits', () => {
  const caps: EngineCapabilities = {
    summary: 'test',
    rate: 'cap',
    multiProcess: true,
    maxConnectionsPerProcess: 100,
    latencyResolutionUs: 1,
    latencyFrom: 'actual',
    series: true,
    threads: false,
    loopbackOnly: true,
  };
  const spec = { url: 'http://192.0.2.1/', connections: 250, durationMs: 1 };
  assert.deepEqual(loadSpecProblems('open-loop', caps, spec), [
    'url "http://192.0.2.1/": the open-loop engine sends to loopback only (127.0.0.0/8, ::1, localhost)',
    "connections 250 over 1 process(es) is 250 per process; at most 100 fit one process's open-files budget: use processes >= 3",
  ]);
  assert.deepEqual(loadSpecProblems('open-loop', caps, { ...spec, url: URL_OK, processes: 3 }), []);
  assert.deepEqual(loadSpecProblems('open-loop', caps, { ...spec, url: URL_OK, connections: 2, processes: 3 }), [
    'connections 2 < processes 3: every process needs a connection',
  ]);
  // An engine that runs one process ignores `processes` and sets no limit.
  const single = { ...caps, multiProcess: false, loopbackOnly: false };
  delete single.maxConnectionsPerProcess;
  assert.deepEqual(loadSpecProblems('autocannon', single, { ...spec, connections: 2, processes: 3 }), []);
});

test('resolveLoadSpec fills the shared defaults', () => {
  const caps = ENGINES.autocannon().capabilities;
  const r = resolveLoadSpec('autocannon', caps, { url: 'http://[::1]:8080/x?y=1', method: 'post', connections: 3, durationMs: 100 });
  assert.equal(r.host, '::1');
  assert.equal(r.target.pathname, '/x');
  assert.equal(r.method, 'POST');
  assert.deepEqual(r.headers, {});
  assert.equal(r.warmupMs, 0);
  assert.equal(r.processes, 1);
  assert.deepEqual(r.sourceAddresses, []);
  assert.equal(r.seriesIntervalMs, 1000);
  assert.equal(r.timeoutMs, 10_000);
});

test('an aborted signal rejects with its reason, or an AbortError', () => {
  const a = new AbortController();
  throwIfAborted(a.signal);
  a.abort(new Error('stop'));
  assert.throws(() => throwIfAborted(a.signal), /stop/);
  const b = new AbortController();
  b.abort();
  assert.equal((abortReason(b.signal) as Error).name, 'AbortError');
});
