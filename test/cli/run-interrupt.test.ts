import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readProcStat } from '../../harness/sampling/proc-stats.js';
import type { RunResult } from '../../harness/result/scenario-api.js';
import { FIXTURE_CONFIG, FIXTURES, startCli, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

test('Ctrl-C during a run stops every process, writes a partial report and exits 3', async () => {
  const reports = path.join(tmp.dir, 'reports');
  const cli = startCli([
    'run',
    path.join(FIXTURES, 'scenarios', 'tiny_fail.yaml'),
    path.join(FIXTURES, 'scenarios', 'tiny_long.yaml'),
    '--config',
    FIXTURE_CONFIG,
    '--reports-dir',
    reports,
  ]);
  after(() => cli.kill());
  await cli.waitFor(/-- tiny_long:/, 40_000);
  const serviceTable = cli.stdout.slice(0, cli.stdout.indexOf('metrics:'));
  const pids = [...serviceTable.matchAll(/│ (?:lb|backend-\w)\S* +│ \w+ +│ (\d+) /g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 5, cli.stdout);
  cli.child.kill('SIGINT');
  const code = await cli.exited;
  assert.equal(code, 3, cli.stdout + cli.stderr);
  for (const pid of pids) assert.equal(readProcStat(pid), undefined, `pid ${pid} survived`);
  assert.match(cli.stderr, /interrupted; the report holds the scenarios that finished/);
  const json = readdirSync(reports).find((f) => f.endsWith('.json'))!;
  const run = JSON.parse(readFileSync(path.join(reports, json), 'utf8')) as RunResult;
  assert.equal(run.interrupted, true);
  assert.equal(run.exitCode, 3);
  assert.deepEqual(
    run.scenarios.map((s) => [s.name, s.status]),
    [
      ['tiny_fail', 'ok'],
      ['tiny_long', 'interrupted'],
    ],
  );
});
