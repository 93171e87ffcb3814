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

/** One `load --json` run of 2 s. Exit 3 is a correct answer too when the only
 * warning is a saturated generator (two generators and a backend on two busy
 * cores): the result is still printed, and the merge mechanics hold either way. */
async function load(rate: number, startAt?: number): Promise<LoadResult> {
  const args = ['load', url, '--rate', String(rate), '--duration', '2s', '--connections', '5', '--json'];
  if (startAt !== undefined) args.push('--start-at', String(startAt));
  const r = await runCli(args);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('lbbench load: warning: '));
  const saturatedOnly = warnings.length > 0 && warnings.every((l) => /^lbbench load: warning: generator saturated/.test(l));
  assert.ok(r.code === 0 || (r.code === 3 && saturatedOnly), `exit ${r.code}: ${r.stderr}`);
  const result = JSON.parse(r.stdout) as LoadResult;
  assert.equal(result.generator.saturated, r.code === 3, 'exit 3 exactly when the generator saturated');
  // The open schedule is 2 s at `rate`: every slot was answered (a drop needs
  // a 10 s wait for a connection; the echo backend answers at once).
  assert.deepEqual(result.errors, {});
  assert.equal(result.schedule?.dropped, 0);
  assert.equal(result.requests, 2 * rate, `requests ${result.requests} of the schedule's ${2 * rate}`);
  return result;
}

test('merge of two load --json results from generators started together is the sum of the parts', async () => {
  // Two CLI processes boot on two busy cores before T, and `load` refuses a
  // T more than 1 s past: 5 s of lead covers a slow start.
  const startAt = Date.now() + 5000;
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
  // load() checked each against its schedule, so this is exact.
  const single = await load(400);
  assert.equal(m.requests, single.requests);

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
