import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FIXTURE_CONFIG, FIXTURES, runCli } from './helpers.js';

const BAD_CONFIG = path.join(FIXTURES, 'config-bad.yaml');
const MALFORMED = path.join(FIXTURES, 'bad-scenarios', 'malformed.yaml');
const BAD_THRESHOLD = path.join(FIXTURES, 'bad-scenarios', 'bad-threshold.yaml');

test('list shows every bundled scenario with its description', async () => {
  const r = await runCli(['list']);
  assert.equal(r.code, 0, r.stderr);
  for (const name of ['lat_conn', 'throughput', 'failover', 'distribution', 'latency_percentiles']) {
    assert.match(r.stdout, new RegExp(`^${name}\\s+\\S`, 'm'), name);
  }
});

test('list --json and --scenarios-dir read another directory', async () => {
  const r = await runCli(['list', '--json', '--scenarios-dir', path.join(FIXTURES, 'scenarios')]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; kind: string }[];
  assert.deepEqual(
    rows.map((s) => s.name),
    ['tiny_fail', 'tiny_long'],
  );
});

test('validate with no files checks the config and every bundled scenario', async () => {
  const r = await runCli(['validate']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok {2}.*config\.yaml$/m);
  assert.match(r.stdout, /^ok {2}.*latency_percentiles\.yaml \(latency_percentiles\)$/m);
});

test('validate of good fixture files prints ok and exits 0', async () => {
  const r = await runCli(['validate', FIXTURE_CONFIG, path.join(FIXTURES, 'scenarios', 'tiny_fail.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.match(/^ok /gm)?.length, 2);
});

test('validate lists every problem of every file with file:line: field, and exits 2', async () => {
  const r = await runCli(['validate', BAD_CONFIG, MALFORMED, BAD_THRESHOLD]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  // The config: unknown key, bad algorithm, bad weight.
  assert.match(r.stderr, /config-bad\.yaml:4: lb\.algorithm: /);
  assert.match(r.stderr, /config-bad\.yaml:6: lb\.backends\[0\]\.weight: /);
  assert.match(r.stderr, /config-bad\.yaml:7: lb\.colour: unknown key/);
  // The scenarios: a bad value, an unknown key; a malformed threshold.
  assert.match(r.stderr, /malformed\.yaml:7: settings\.rate: /);
  assert.match(r.stderr, /malformed\.yaml:8: settings\.connectionz: unknown key/);
  assert.match(r.stderr, /bad-threshold\.yaml:7: thresholds\[0\]\.target: not a threshold expression/);
  assert.match(r.stderr, /^lbbench: 6 problems:/m);
});

test('validate of a missing file names it and exits 2', async () => {
  const r = await runCli(['validate', '/nonexistent/config.yaml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /\/nonexistent\/config\.yaml: file not found/);
});
