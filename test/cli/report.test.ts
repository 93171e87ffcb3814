import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { BIN_PATH, distPath } from '../../common/paths.js';
import { reportCommand } from '../../harness/commands/report.js';
import { renderMarkdown } from '../../harness/report/markdown.js';
import { fixtureRun, fixtureScenario } from '../harness/report-fixture.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lbbench-report-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const run = fixtureRun();
const resultFile = path.join(tmp, 'run.json');
writeFileSync(resultFile, JSON.stringify(run, null, 2));
const passingFile = path.join(tmp, 'passing.json');
writeFileSync(
  passingFile,
  JSON.stringify(fixtureRun({ scenarios: [fixtureScenario()], summary: [], interrupted: false, exitCode: 0 })),
);

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

const haveCli = existsSync(distPath('harness/cli.js'));
const skip = haveCli ? false : 'dist/harness/cli.js is not built yet';

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
