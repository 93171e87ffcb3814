import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from '../../harness/result/scenario-api.js';
import { skipWithout } from '../targets/target-helpers.js';
import { FIXTURE_CONFIG, FIXTURES, runCli, tempDir } from './helpers.js';
import { valueAt } from '../../common/checked.js';

const TINY_FAIL = path.join(FIXTURES, 'scenarios', 'tiny_fail.yaml');
const tmp = tempDir();
after(() => tmp.cleanup());

/** PATH without the directories that hold `binary`. */
function pathWithout(binary: string): string {
  return (process.env['PATH'] ?? '')
    .split(path.delimiter)
    .filter((d) => d !== '' && !existsSync(path.join(d, binary)))
    .join(path.delimiter);
}

test('--targets nginx without nginx on PATH exits 2 with the install hint, before anything starts', async () => {
  const r = await runCli(['run', TINY_FAIL, '--config', FIXTURE_CONFIG, '--targets', 'lbbench,nginx', '--reports-dir', path.join(tmp.dir, 'none')], {
    env: { PATH: pathWithout('nginx') },
  });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /target nginx: nginx is not on PATH/);
  assert.match(r.stderr, /apt-get install -y nginx haproxy/);
  assert.doesNotMatch(r.stdout, /services started/);
  assert.equal(existsSync(path.join(tmp.dir, 'none')), false);
});

test('an unknown target exits 2 naming the known ones', async () => {
  const r = await runCli(['run', TINY_FAIL, '--config', FIXTURE_CONFIG, '--targets', 'lbbench,envoyy']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown target "envoyy"; known targets: lbbench, nginx, haproxy/);
});

test('lbbench targets lists each target, whether it is available, and its version', async () => {
  const r = await runCli(['targets', '--config', FIXTURE_CONFIG, '--json'], { env: { PATH: pathWithout('haproxy') } });
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; available: boolean; version?: string; reason?: string }[];
  assert.deepEqual(
    rows.map((x) => x.name),
    ['lbbench', 'nginx', 'haproxy'],
  );
  assert.match(rows[0]?.version ?? '(no version)', /^lbbench \d/);
  assert.equal(rows[2]?.available, false);
  assert.match(rows[2]?.reason ?? '(no reason)', /apt-get install -y nginx haproxy/);
  const text = await runCli(['targets', '--config', FIXTURE_CONFIG]);
  assert.match(text.stdout, /^NAME\s+KIND\s+AVAILABLE\s+VERSION$/m);
  assert.match(text.stdout, /^lbbench\s+lbbench\s+yes/m);
});

test(
  'one run against lbbench, nginx and haproxy: a result per target, comparison tables in the terminal, JSON and Markdown',
  { skip: skipWithout('nginx') || skipWithout('haproxy') },
  async () => {
    const reports = path.join(tmp.dir, 'reports');
    const r = await runCli(['run', TINY_FAIL, '--config', FIXTURE_CONFIG, '--targets', 'lbbench,nginx,haproxy', '--reports-dir', reports, '--wide']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^Comparison: tiny_fail/m);
    assert.match(r.stdout, /FIGURE\s+│ direct\s+│ lbbench\s+│ nginx\s+│ haproxy/);
    assert.match(r.stdout, /^Verdicts by target \(the guide's five targets first\)$/m);
    assert.match(r.stdout, /│ impossible throughput +│ gigabytes_per_second > 1000000 │ [\d.]+ FAIL +│ [\d.]+ FAIL +│ [\d.]+ FAIL +│/);
    assert.doesNotMatch(r.stdout, /^Summary$/m);
    const json = readdirSync(reports).find((f) => f.endsWith('.json'))!;
    const run = JSON.parse(readFileSync(path.join(reports, json), 'utf8')) as RunResult;
    assert.equal(run.schemaVersion, 2);
    assert.deepEqual(
      run.targets!.map((t) => `${t.name}:${t.kind}`),
      ['lbbench:lbbench', 'nginx:nginx', 'haproxy:haproxy'],
    );
    assert.match(run.targets?.[1]?.notes.join(' ') ?? '(no second target)', /passive health checks only/);
    assert.deepEqual(
      run.scenarios.map((s) => `${s.name}@${s.target}:${s.status}`),
      ['tiny_fail@lbbench:ok', 'tiny_fail@nginx:ok', 'tiny_fail@haproxy:ok'],
    );
    for (const s of run.scenarios) assert.ok(valueAt(s.metrics, 'gigabytes_per_second', 's.metrics.gigabytes_per_second') > 0, `${s.target} measured`);
    assert.equal(run.comparisons?.length, 2);
    const md = readFileSync(path.join(reports, json.replace(/\.json$/, '.md')), 'utf8');
    assert.match(md, /## Targets/);
    assert.match(md, /\*\*Comparison: tiny_fail/);
    assert.match(md, /### tiny_fail on nginx/);
  },
);
