/**
 * Golden reports: stored results of real runs, rendered by the real
 * `lbbench report` (Markdown, terminal, wide terminal, HTML, both exports)
 * and by the load table of `lbbench load`, compared byte for byte with the
 * outputs committed beside them in test/fixtures/golden/. They pin the
 * renderers' behaviour while the harness is reorganised: a refactor that
 * changes a byte of a report fails here.
 *
 * Nothing is normalised: every renderer is a pure function of the stored
 * JSON (no clock, no randomness, no machine facts but those in the JSON),
 * and the CLI runs with NO_COLOR and a pipe for stdout, so no colour.
 *
 * The inputs:
 * - reports/examples/2026-11-26T15-58-16Z-full.json: round 1's `run all`
 *   (schema 1, all nine guide scenarios), read in place;
 * - fixtures/golden/targets-repeat.json: `lbbench run distribution failover
 *   latency_percentiles throughput lat_conn --quick --repeat 2 --targets
 *   lbbench,haproxy` (schema 2: repeats, targets, comparisons);
 * - fixtures/golden/curve-rate-storm.json: `lbbench run latency_curve
 *   conn_rate conn_storm --quick` (the round-2 scenario kinds).
 *
 * After an intended change of the output, rewrite the goldens with
 * `LBBENCH_UPDATE_GOLDEN=1 node --test dist/test/harness/report-golden.test.js`
 * and review the diff of test/fixtures/golden/ like code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BIN_PATH, PACKAGE_ROOT } from '../../common/paths.js';
import { renderLoadTable } from '../../harness/cli/load.js';
import { buildComparisons } from '../../harness/report/comparison.js';
import { buildSummary } from '../../harness/report/summary.js';
import type { RunResult } from '../../harness/result/scenario-api.js';

const GOLDEN = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'golden');
const UPDATE = process.env['LBBENCH_UPDATE_GOLDEN'] === '1';
const INPUTS: readonly { name: string; file: string }[] = [
  { name: 'round1-full', file: path.join(PACKAGE_ROOT, 'reports', 'examples', '2026-11-26T15-58-16Z-full.json') },
  { name: 'targets-repeat', file: path.join(GOLDEN, 'targets-repeat.json') },
  { name: 'curve-rate-storm', file: path.join(GOLDEN, 'curve-rate-storm.json') },
];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lbbench-golden-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function lbbench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN_PATH, ...args],
      { timeout: 30_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Compares `actual` with the golden file `name` (or rewrites it with LBBENCH_UPDATE_GOLDEN=1). */
function assertGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `golden file ${file} is missing; see the header of this test`);
  const expected = readFileSync(file, 'utf8');
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const at = a.findIndex((line, i) => line !== e[i]);
  const line = at === -1 ? Math.min(a.length, e.length) : at;
  assert.fail(`${name} differs from its golden file at line ${line + 1}:\n  golden: ${JSON.stringify(e[line])}\n  now:    ${JSON.stringify(a[line])}`);
}

for (const input of INPUTS) {
  test(`golden ${input.name}: report as Markdown, terminal, wide terminal and HTML`, async () => {
    const variants: [suffix: string, args: string[]][] = [
      ['md', []],
      ['terminal.txt', ['--format', 'terminal']],
      ['terminal-wide.txt', ['--format', 'terminal', '--wide']],
      ['html', ['--html']],
    ];
    for (const [suffix, args] of variants) {
      const r = await lbbench(['report', input.file, ...args]);
      assert.equal(r.code, 0, r.stderr);
      assertGolden(`${input.name}.${suffix}`, r.stdout);
    }
  });

  test(`golden ${input.name}: the bmf and github-action-benchmark exports`, async () => {
    const dir = path.join(tmp, input.name);
    const r = await lbbench(['report', input.file, '--export', 'bmf', '--export', 'github-action-benchmark', '--export-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const written = readdirSync(dir).sort();
    assert.ok(written.length >= 3, `exports written: ${written.join(', ')}`);
    for (const f of written) assertGolden(`${input.name}.export.${f.slice(f.indexOf('.') + 1)}`, readFileSync(path.join(dir, f), 'utf8'));
  });

  test(`golden ${input.name}: the summary and the comparisons rebuilt from the scenarios equal the stored ones`, () => {
    const run = JSON.parse(readFileSync(input.file, 'utf8')) as RunResult;
    assert.deepEqual(buildSummary(run.scenarios), run.summary);
    assert.deepEqual(buildComparisons(run), run.comparisons ?? []);
  });

  test(`golden ${input.name}: the load table of every load`, () => {
    const run = JSON.parse(readFileSync(input.file, 'utf8')) as RunResult;
    const tables = run.scenarios.flatMap((s) =>
      s.loads.map((l) => `## ${s.name}${s.target ? ` on ${s.target}` : ''}: ${l.label}\n${renderLoadTable(l.result, false)}`),
    );
    assert.ok(tables.length > 0);
    assertGolden(`${input.name}.loads.txt`, tables.join('\n'));
  });
}
