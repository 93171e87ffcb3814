/**
 * The gate cannot be fooled by a threshold: a misspelt metric or scenario
 * exits 2 before anything starts (run and validate alike), a gated
 * threshold that was not measured exits 3, an optional one is N/A.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from '../../harness/result/scenario-api.js';
import { FIXTURE_CONFIG, FIXTURES, runCli, tempDir } from './helpers.js';
import { itemAt, valueAt } from '../../common/checked.js';

const DIR = path.join(FIXTURES, 'verdicts');
const TYPO_CONFIG = path.join(DIR, 'config-typo.yaml');
const tmp = tempDir();
after(() => tmp.cleanup());

function readRun(reports: string): RunResult {
  const json = readdirSync(reports).find((f) => /Z-(quick|full)(-\d+)?\.json$/.test(f))!;
  return JSON.parse(readFileSync(path.join(reports, json), 'utf8')) as RunResult;
}

test('run: a config threshold on an unknown metric exits 2 naming the file, line, metric and the known metrics', async () => {
  const reports = path.join(tmp.dir, 'typo');
  const r = await runCli(['run', 'distribution', '--config', TYPO_CONFIG, '--reports-dir', reports]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /config-typo\.yaml:10: thresholds\.distribution\[0\]\.target: unknown metric "deviaton_pct"/);
  assert.match(r.stderr, /did you mean "deviation_pct"\?/);
  assert.match(r.stderr, /known metrics: deviation_pct, /);
  // The profile is checked too, though this run does not use it.
  assert.match(r.stderr, /config-typo\.yaml:14: profiles\.ci\.latency_percentile: unknown scenario "latency_percentile"/);
  assert.doesNotMatch(r.stdout, /services started/);
  assert.throws(() => readdirSync(reports));
});

test('validate: the same misspelt config threshold exits 2 with the same message', async () => {
  const r = await runCli(['validate', '--config', TYPO_CONFIG]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /config-typo\.yaml:10: thresholds\.distribution\[0\]\.target: unknown metric "deviaton_pct"/);
  assert.match(r.stderr, /config-typo\.yaml:14: profiles\.ci\.latency_percentile: unknown scenario/);
  assert.match(r.stderr, /^lbbench: 2 problems:/m);
});

test('a gated threshold whose metric was not measured makes the run INVALID (exit 3), not a pass', async () => {
  const reports = path.join(tmp.dir, 'unmeasured');
  const r = await runCli(['run', path.join(DIR, 'tiny_unmeasured.yaml'), '--config', FIXTURE_CONFIG, '--reports-dir', reports]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  const s = itemAt(readRun(reports).scenarios, 0, 'readRun(reports).scenarios[0]');
  assert.equal(s.status, 'invalid');
  assert.match(s.invalidReasons.join('\n'), /threshold "ratio to direct": metric throughput_ratio was not measured/);
  assert.deepEqual(
    s.verdicts.map((v) => [v.name, v.verdict, v.reason]),
    [
      ['some requests', 'PASS', undefined],
      ['ratio to direct', 'N/A', 'not measured'],
    ],
  );
});

test('an optional unmeasured threshold is N/A and the run passes; --repeat 3 keeps every sample and the spread', async () => {
  const reports = path.join(tmp.dir, 'optional');
  const r = await runCli([
    'run',
    path.join(DIR, 'tiny_optional.yaml'),
    '--config',
    FIXTURE_CONFIG,
    '--reports-dir',
    reports,
    '--repeat',
    '3',
    '--export',
    'bmf',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const bmfFile = itemAt(/^export: (.*\.bmf\.json)$/m.exec(r.stdout) ?? [], 1, 'the export: line of the BMF file');
  const bmf = JSON.parse(readFileSync(bmfFile, 'utf8')) as Record<string, Record<string, { value: number; lower_value: number }>>;
  assert.match(r.stdout, /tiny_optional \(repeat 3\/3\)/);
  assert.match(r.stdout, /Repeats: 3 runs/);
  const run = readRun(reports);
  assert.equal(run.schemaVersion, 2);
  assert.equal(run.repeat, 3);
  const s = itemAt(run.scenarios, 0, 'run.scenarios[0]');
  assert.equal(s.status, 'ok');
  assert.deepEqual(
    s.verdicts.map((v) => [v.verdict, v.reason]),
    [
      ['PASS', undefined],
      ['N/A', 'not measured'],
    ],
  );
  const rps = valueAt(s.samples!, 'requests_per_second', 's.samples!.requests_per_second');
  assert.equal(rps.length, 3);
  assert.equal(s.repeats!.length, 3);
  assert.deepEqual(
    s.repeats!.map((x) => x.metrics['requests_per_second']),
    rps,
  );
  const st = valueAt(s.stats!, 'requests_per_second', 's.stats!.requests_per_second');
  const sorted = [...rps].sort((a, b) => a - b);
  assert.deepEqual([st.n, st.min, st.median, st.max], [3, sorted[0], sorted[1], sorted[2]]);
  assert.equal(s.metrics['requests_per_second'], sorted[1]);
  assert.deepEqual(valueAt(bmf, 'tiny_optional', 'bmf.tiny_optional')['requests_per_second'], {
    value: sorted[1],
    lower_value: sorted[0],
    upper_value: sorted[2],
  });
  const md = readFileSync(
    path.join(
      reports,
      readdirSync(reports).find((f) => f.endsWith('.md'))!,
    ),
    'utf8',
  );
  assert.match(md, /\| requests_per_second \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+% \| 3 \|/);
  // A schema-2 result renders again (report used to accept schema 1 only).
  const again = await runCli([
    'report',
    path.join(
      reports,
      readdirSync(reports).find((f) => /Z-full\.json$/.test(f))!,
    ),
    '--check',
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Repeats: 3 runs/);
});

test('--repeat must be an integer from 1 to 100', async () => {
  const r = await runCli(['run', path.join(DIR, 'tiny_optional.yaml'), '--config', FIXTURE_CONFIG, '--repeat', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--repeat: "0"/);
});
