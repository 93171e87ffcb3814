/**
 * The compare verb on result files written by the test: HEAD's samples are
 * 20 ms slower, so HEAD is significantly slower and --fail-on-regression
 * exits 1; a run against itself shows no change; two runs are compared sample
 * by sample; a file that is not a result exits 2. The samples are fixed, not
 * measured: a real setup run on busy shared cores can go INVALID (a
 * saturated generator) or drift, and the statistics are what is tested here.
 * Real runs end to end, repeats written and read back, are ab.test.ts's and
 * thresholds-gate.test.ts's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { median } from '../../common/stats.js';
import type { Comparison } from '../../harness/compare/compare.js';
import { fixtureRun, fixtureScenario } from '../harness/report-fixture.js';
import { runCli, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

/** Five repeats of a tiny latency run: p50 about 2 ms, p99 about 4 ms, plus `addMs`. */
function writeRun(name: string, addMs: number, jitter: readonly number[] = [0, 0.1, -0.1, 0.2, 0.05]): string {
  const p50 = jitter.map((j) => 2 + j + addMs);
  const p99 = jitter.map((j) => 4 + 2 * j + addMs);
  const run = fixtureRun({
    repeat: 5,
    scenarios: [
      fixtureScenario({
        name: 'tiny_latency',
        description: 'One second of open-loop load at 200 req/s over 10 connections',
        metrics: { p50_ms: median(p50), p99_ms: median(p99) },
        samples: { p50_ms: p50, p99_ms: p99 },
      }),
    ],
  });
  const file = path.join(tmp.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(run));
  return file;
}

let base = '';
let same = '';
let slow = '';
before(() => {
  base = writeRun('base', 0);
  slow = writeRun('slow', 20);
  same = writeRun('same', 0, [0.05, -0.05, 0.15, 0, 0.1]);
});

/** A gate the unchanged runs must pass: a 10% limit at 99% confidence on p50 and p99. */
const GATE_10PCT = ['--fail-on-regression', '10%', '--confidence', '0.99', '--metric', 'p50_ms', '--metric', 'p99_ms'];

/** `lbbench compare BASE HEAD ...flags --format json`, asserted to exit 0: its Comparison. */
async function compareJson(head: string, flags: readonly string[] = []): Promise<Comparison> {
  const r = await runCli(['compare', base, head, ...flags, '--format', 'json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as Comparison;
}

test('compare: samples 20 ms slower in HEAD are a significant latency regression; --fail-on-regression exits 1', async () => {
  const md = path.join(tmp.dir, 'comment.md');
  const r = await runCli(['compare', base, slow, '--fail-on-regression', '10%', '--markdown', md]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAIL: \d+ significant regressions? past the 10% limit/);
  const c = await compareJson(slow);
  for (const metric of ['p50_ms', 'p99_ms']) {
    const m = c.metrics.find((x) => x.metric === metric);
    assert.ok(m, `${metric} compared`);
    assert.equal(m.verdict, 'slower', `${metric}: ${JSON.stringify(m)}`);
    assert.equal(m.baseSamples.length, 5);
    assert.ok((m.ciLowPct ?? 0) > 0, `${metric}: the interval lies above 0`);
    assert.ok(Math.abs(m.headMedian - m.baseMedian - 20) < 1e-9, `${metric}: ${m.baseMedian} -> ${m.headMedian}`);
  }
  const text = readFileSync(md, 'utf8');
  assert.match(text, /^### lbbench compare: FAIL/m);
  assert.match(text, /\| tiny_latency \| p50_ms \| lower \|.*\*\*SLOWER \(past limit\)\*\* \|/);
});

test('compare: a run against itself shows no change and passes the gate', async () => {
  const c = await compareJson(base, GATE_10PCT);
  assert.deepEqual(
    c.metrics.map((m) => [m.metric, m.verdict, m.pastLimit]),
    [
      ['p50_ms', 'no change', false],
      ['p99_ms', 'no change', false],
    ],
  );
  assert.equal(c.confidence, 0.99);
});

test('compare: two runs a few % apart are compared sample by sample and stay under the limit', async () => {
  const c = await compareJson(same, GATE_10PCT);
  assert.equal(c.metrics.length, 2);
  for (const m of c.metrics) {
    assert.equal(m.baseSamples.length, 5, m.metric);
    assert.equal(m.headSamples.length, 5, m.metric);
    assert.equal(m.pastLimit, false, `${m.metric}: ${JSON.stringify(m)}`);
  }
});

test('compare: a file that is not a result exits 2 naming it', async () => {
  const r = await runCli(['compare', base, path.join(tmp.dir, 'nope.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope\.json: file not found/);
  const bad = await runCli(['compare', base, base, '--fail-on-regression', 'ten']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fail-on-regression: "ten"/);
});
