/**
 * merge on real load runs: two `load --json --start-at T` generators against
 * one backend, merged, give the sum of the parts; each measured window
 * starts no earlier than T; a single generator at the total rate sends as
 * many requests.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadResult } from '../../harness/engines/engine.js';
import type { MergedLoadResult } from '../../harness/result/load-merge.js';
import { runCli, startCli, tempDir, type CliProcess } from './helpers.js';

const tmp = tempDir();
let backend: CliProcess | undefined;
let url = '';
before(async () => {
  backend = startCli(['backend', '--port', '0', '--host', '127.0.0.1', '--name', 'merge-test']);
  const m = await backend.waitFor(/lbbench-backend ready name=\S+ port=(\d+)/);
  url = `http://127.0.0.1:${m[1]}/echo`;
});
after(() => {
  backend?.kill();
  tmp.cleanup();
});

async function load(rate: number, startAt?: number): Promise<LoadResult> {
  const args = ['load', url, '--rate', String(rate), '--duration', '2s', '--connections', '5', '--json'];
  if (startAt !== undefined) args.push('--start-at', String(startAt));
  const r = await runCli(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as LoadResult;
}

test('merge of two load --json results from generators started together is the sum of the parts', async () => {
  const startAt = Date.now() + 1500;
  const [a, b] = await Promise.all([load(200, startAt), load(200, startAt)]);
  for (const p of [a, b]) assert.ok(p.startedAtMs >= startAt, `window started at ${p.startedAtMs}, before --start-at ${startAt}`);
  const fa = path.join(tmp.dir, 'a.json');
  const fb = path.join(tmp.dir, 'b.json');
  writeFileSync(fa, JSON.stringify(a));
  writeFileSync(fb, JSON.stringify(b));
  const r = await runCli(['merge', fa, fb, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout) as MergedLoadResult;
  assert.equal(m.requests, a.requests + b.requests);
  assert.equal(m.bytes, a.bytes + b.bytes);
  assert.equal(m.achievedRate, a.achievedRate + b.achievedRate);
  assert.equal(m.latency.count, a.latency.count + b.latency.count);
  assert.equal(m.statusCounts['200'], (a.statusCounts['200'] ?? 0) + (b.statusCounts['200'] ?? 0));
  assert.equal(m.spec.rate, 400);
  assert.equal(m.merged.parts, 2);
  assert.equal(
    m.series.reduce((s, x) => s + x.requests, 0),
    [...a.series, ...b.series].reduce((s, x) => s + x.requests, 0),
  );
  // Percentiles come from the merged histogram: within the parts' range.
  for (const k of ['p50Us', 'p99Us', 'maxUs'] as const) {
    assert.ok(m.latency[k] >= Math.min(a.latency[k], b.latency[k]) && m.latency[k] <= Math.max(a.latency[k], b.latency[k]), k);
  }
  // One generator at the total rate sends as many requests (open loop: the rate is the schedule).
  const single = await load(400);
  assert.ok(Math.abs(single.requests - m.requests) <= 0.02 * single.requests, `${single.requests} vs ${m.requests}`);

  const table = await runCli(['merge', fa, fb]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /merged 2 results; windows started \d+ ms apart/);
});

test('merge and --start-at refuse bad input with exit 2', async () => {
  const bad = path.join(tmp.dir, 'bad.json');
  writeFileSync(bad, '{"requests": "many"}');
  const r = await runCli(['merge', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.json: requests: expected a number/);
  const past = await runCli(['load', url, '--rate', '10', '--duration', '1s', '--start-at', String(Date.now() - 60_000)]);
  assert.equal(past.code, 2);
  assert.match(past.stderr, /--start-at: .* is 6\d(\.\d)? s in the past/);
});
