import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { BIN_PATH, distPath } from '../../common/paths.js';
import { reportCommand } from '../../harness/cli/report.js';
import { renderMarkdown } from '../../harness/report/markdown.js';
import { fixtureRun, fixtureScenario } from '../harness/report-fixture.js';
import { itemAt } from '../../common/checked.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lbbench-report-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const run = fixtureRun();
const resultFile = path.join(tmp, 'run.json');
writeFileSync(resultFile, JSON.stringify(run, null, 2));
const passingFile = path.join(tmp, 'passing.json');
writeFileSync(passingFile, JSON.stringify(fixtureRun({ scenarios: [fixtureScenario()], summary: [], interrupted: false, exitCode: 0 })));

async function runInProcess(args: string[]): Promise<string> {
  let out = '';
  await reportCommand({ stdout: { write: (t: string) => (out += t) } })
    .exitOverride()
    .parseAsync(args, { from: 'user' });
  return out;
}

test('report (in process): Markdown to stdout', async () => {
  assert.equal(await runInProcess([resultFile]), renderMarkdown(run));
});

test('report (in process): --out writes the file and prints the summary', async () => {
  const out = path.join(tmp, 'deep', 'dir', 'report.md');
  const printed = await runInProcess([resultFile, '--out', out]);
  assert.equal(readFileSync(out, 'utf8'), renderMarkdown(run));
  assert.match(printed, /^Summary\n/);
  assert.match(printed, /status: INVALID \(INTERRUPTED\)\n/);
  assert.match(printed, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('report (in process): --format terminal', async () => {
  const printed = await runInProcess([resultFile, '--format', 'terminal']);
  assert.match(printed, /== lat_conn ==/);
  assert.match(printed, /Summary\n┌/);
  assert.match(printed, /Environment\n┌/);
});

test('report (in process): a malformed file rejects with InputError', async () => {
  const bad = path.join(tmp, 'bad.json');
  writeFileSync(bad, '{"schemaVersion": 7}');
  await assert.rejects(runInProcess([bad]), (e: unknown) => e instanceof InputError && e.message.includes(bad));
});

function lbbench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN_PATH, ...args], { timeout: 20_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const haveCli = existsSync(distPath('harness/cli/main.js'));
const skip = haveCli ? false : 'dist/harness/cli/main.js is not built yet';

test('lbbench report FILE prints the Markdown and exits 0', { skip }, async () => {
  const r = await lbbench(['report', resultFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, renderMarkdown(run));
});

test('lbbench report --check exits with the stored status', { skip }, async () => {
  assert.equal((await lbbench(['report', resultFile, '--check'])).code, 3);
  assert.equal((await lbbench(['report', passingFile, '--check'])).code, 0);
});

test('lbbench report on a missing file exits 2 naming it', { skip }, async () => {
  const missing = path.join(tmp, 'missing.json');
  const r = await lbbench(['report', missing]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.includes(missing), r.stderr);
});

test('lbbench report --help shows examples', { skip }, async () => {
  const r = await lbbench(['report', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Examples:/);
  assert.match(r.stdout, /--out/);
});

test('lbbench report --html writes the self-contained HTML report with its charts', { skip }, async () => {
  const { chartFixtureRun } = await import('../harness/chart-fixture.js');
  const { renderHtml } = await import('../../harness/report/html.js');
  const chartRun = chartFixtureRun();
  const file = path.join(tmp, 'charts.json');
  writeFileSync(file, JSON.stringify(chartRun));
  const out = path.join(tmp, 'html', 'charts.html');
  const r = await lbbench(['report', file, '--html', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*charts\.html/);
  const html = readFileSync(out, 'utf8');
  assert.equal(html, renderHtml(JSON.parse(JSON.stringify(chartRun)) as typeof chartRun));
  assert.match(html, /^<!DOCTYPE html>/);
  assert.equal(html.match(/<figure class="chart"/g)?.length, 11);

  const toStdout = await lbbench(['report', resultFile, '--format', 'html']);
  assert.equal(toStdout.code, 0, toStdout.stderr);
  assert.match(toStdout.stdout, /^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
});

test('lbbench report --format terminal fits 80 columns, --wide does not', { skip }, async () => {
  const loads = Array.from({ length: 3 }, (_, i) => ({ label: `direct c${1000 * (i + 1)} open-loop`, result: run.scenarios[1]?.loads[0]?.result }));
  const file = path.join(tmp, 'wide.json');
  writeFileSync(file, JSON.stringify({ ...run, scenarios: [{ ...itemAt(run.scenarios, 1, 'the second scenario'), loads }] }));
  const widest = (text: string): number => Math.max(...text.split('\n').map((l) => [...l].length));
  const narrow = await lbbench(['report', file, '--format', 'terminal']);
  assert.equal(narrow.code, 0, narrow.stderr);
  assert.ok(widest(narrow.stdout) <= 80, String(widest(narrow.stdout)));
  const wide = await lbbench(['report', file, '--format', 'terminal', '--wide']);
  assert.ok(widest(wide.stdout) > 80);
  assert.match(wide.stdout, /generator CPU/);
});

test('lbbench report --html to a pipe is not cut short (a 400 KB report before the CLI exits)', { skip }, async () => {
  const { PACKAGE_ROOT } = await import('../../common/paths.js');
  const example = path.join(PACKAGE_ROOT, 'reports', 'examples', '2026-11-26T15-58-16Z-full.json');
  const r = await lbbench(['report', example, '--html']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 200_000, String(r.stdout.length));
  assert.match(r.stdout, /<\/html>\n$/);
  assert.equal(r.stdout.match(/<figure class="chart"/g)?.length, 12);
});
