import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixtureRun } from '../harness/report-fixture.js';
import { runCli, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

test('report --export writes the Bencher and github-action-benchmark files and names them', async () => {
  const file = path.join(tmp.dir, 'run.json');
  writeFileSync(file, JSON.stringify(fixtureRun()));
  const out = path.join(tmp.dir, 'out');
  const r = await runCli(['report', file, '--export', 'bmf', '--export', 'github-action-benchmark', '--export-dir', out]);
  assert.equal(r.code, 0, r.stderr);
  for (const suffix of ['bmf.json', 'bigger-is-better.json', 'smaller-is-better.json']) {
    assert.match(r.stderr, new RegExp(`export: .*run\\.${suffix.replace(/\./g, '\\.')}`));
  }
  // Only the `ok` scenario (distribution) is exported.
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'run.bmf.json'), 'utf8')), { distribution: { deviation_pct: { value: 1.5 } } });
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'run.smaller-is-better.json'), 'utf8')), [
    { name: 'distribution - deviation_pct', unit: '%', value: 1.5 },
  ]);
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'run.bigger-is-better.json'), 'utf8')), []);
});

test('report --export with an unknown format exits 2', async () => {
  const file = path.join(tmp.dir, 'run2.json');
  writeFileSync(file, JSON.stringify(fixtureRun()));
  const r = await runCli(['report', file, '--export', 'junit']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Allowed choices are bmf, github-action-benchmark/);
});
