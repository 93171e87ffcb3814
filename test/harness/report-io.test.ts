import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { renderHtml } from '../../harness/report/html.js';
import { renderMarkdown } from '../../harness/report/markdown.js';
import { readRunResult } from '../../harness/report/read.js';
import { reportBaseName, writeReports } from '../../harness/report/write.js';
import { fixtureRun } from './report-fixture.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lbbench-report-io-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('writeReports + readRunResult round trip', async () => {
  const run = fixtureRun();
  const dir = path.join(tmp, 'nested', 'reports');
  const { jsonPath, mdPath, htmlPath } = await writeReports(run, dir);
  assert.equal(jsonPath, path.join(dir, '2025-01-31T10-00-00Z.json'));
  assert.equal(mdPath, path.join(dir, '2025-01-31T10-00-00Z.md'));
  assert.equal(htmlPath, path.join(dir, '2025-01-31T10-00-00Z.html'));
  assert.deepEqual(readdirSync(dir).sort(), ['2025-01-31T10-00-00Z.html', '2025-01-31T10-00-00Z.json', '2025-01-31T10-00-00Z.md'], 'no temp files left');
  assert.deepEqual(readRunResult(jsonPath), run);
  assert.equal(readFileSync(mdPath, 'utf8'), renderMarkdown(run));
  assert.equal(readFileSync(htmlPath, 'utf8'), renderHtml(run));
  assert.match(readFileSync(jsonPath, 'utf8'), /^\{\n {2}"schemaVersion": 1,\n/, 'pretty JSON');

  // Writing again replaces both files.
  const again = { ...run, command: 'lbbench run lat_conn' };
  await writeReports(again, dir);
  assert.equal(readRunResult(jsonPath).command, 'lbbench run lat_conn');
  assert.equal(readdirSync(dir).length, 3);
});

test('reportBaseName keeps run ids inside the directory', () => {
  const cases: [string, string][] = [
    ['2025-01-31T10-00-00Z', '2025-01-31T10-00-00Z'],
    ['2025-01-31T10:00:00.000Z', '2025-01-31T10_00_00.000Z'],
    ['../../etc/passwd', '__.._etc_passwd'],
    ['', 'run'],
  ];
  for (const [id, want] of cases) assert.equal(reportBaseName(id), want, id);
});

test('readRunResult: missing or malformed files are InputErrors naming the file', () => {
  const write = (name: string, text: string): string => {
    const f = path.join(tmp, name);
    writeFileSync(f, text);
    return f;
  };
  const valid = fixtureRun();
  const cases: [string, string, RegExp][] = [
    [path.join(tmp, 'missing.json'), '', /file not found/],
    [write('not-json.json', '{ nope'), '', /not JSON/],
    [write('array.json', '[]'), '', /expected a lbbench result object, got an array/],
    [write('v3.json', JSON.stringify({ ...valid, schemaVersion: 3 })), '', /schemaVersion: expected 1 or 2, got number 3/],
    [write('no-version.json', JSON.stringify({ runId: 'x' })), '', /schemaVersion: expected 1 or 2, got nothing/],
    [write('bad-scenarios.json', JSON.stringify({ ...valid, scenarios: {} })), '', /scenarios: expected an array/],
    [
      write('bad-scenario.json', JSON.stringify({ ...valid, scenarios: [{ ...valid.scenarios[0], verdicts: null }] })),
      '',
      /scenarios\[0\]\.verdicts: expected an array, got null/,
    ],
    [
      write('bad-env.json', JSON.stringify({ ...valid, environment: 'x', runId: 5 })),
      '',
      /runId: expected a string, got number 5[\s\S]*environment: expected an object/,
    ],
  ];
  for (const [file, , pattern] of cases) {
    assert.throws(
      () => readRunResult(file),
      (err: unknown) => {
        assert.ok(err instanceof InputError, `${file}: ${String(err)}`);
        assert.equal(err.exitCode, 2);
        assert.equal(err.code, 'LBB_ERR_BAD_INPUT');
        assert.ok(err.message.includes(file), `${err.message} names ${file}`);
        assert.match(err.message, pattern);
        return true;
      },
    );
  }
});
