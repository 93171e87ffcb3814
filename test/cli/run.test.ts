import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { RunResult } from '../../harness/result/scenario-api.js';
import { FIXTURE_CONFIG, FIXTURES, runCli, tempDir } from './helpers.js';
import { itemAt } from '../../common/checked.js';

const TINY_FAIL = path.join(FIXTURES, 'scenarios', 'tiny_fail.yaml');
const MALFORMED = path.join(FIXTURES, 'bad-scenarios', 'malformed.yaml');
const tmp = tempDir();
after(() => tmp.cleanup());

test('a failing threshold exits 1, prints the tables and writes the three reports', async () => {
  const reports = path.join(tmp.dir, 'reports');
  const r = await runCli(['run', TINY_FAIL, '--config', FIXTURE_CONFIG, '--reports-dir', reports]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /impossible throughput .*FAIL/);
  assert.match(r.stdout, /^Summary$/m);
  const [html, ...files] = readdirSync(reports).sort();
  assert.equal(files.length, 2);
  assert.match(html!, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-full\.html$/);
  assert.match(itemAt(files, 0, 'files[0]'), /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-full\.json$/);
  assert.match(itemAt(files, 1, 'files[1]'), /-full\.md$/);
  assert.match(r.stdout, new RegExp(`result: .*${files[0]?.replace(/\./g, '\\.')}`));
  assert.match(r.stdout, new RegExp(`html: .*${html!.replace(/\./g, '\\.')}`));
  assert.match(readFileSync(path.join(reports, html!), 'utf8'), /^<!DOCTYPE html>[\s\S]*impossible throughput/);
  const run = JSON.parse(readFileSync(path.join(reports, itemAt(files, 0, 'files[0]')), 'utf8')) as RunResult;
  assert.equal(run.schemaVersion, 2);
  assert.deepEqual(
    run.targets?.map((t) => t.name),
    ['lbbench'],
  );
  assert.equal(run.scenarios[0]?.target, 'lbbench');
  assert.equal(run.exitCode, 1);
  assert.equal(run.interrupted, false);
  assert.equal(run.scenarios.length, 1);
  assert.equal(run.scenarios[0]?.status, 'ok');
  assert.equal(run.scenarios[0]?.verdicts[0]?.verdict, 'FAIL');
  assert.ok(run.scenarios[0]?.loads.length >= 1);
  assert.ok(run.environment.node.startsWith('v'));
  assert.match(readFileSync(path.join(reports, itemAt(files, 1, 'files[1]')), 'utf8'), /impossible throughput/);
});

test('a malformed scenario exits 2 naming the file, line and field, before anything starts', async () => {
  const r = await runCli(['run', MALFORMED, '--config', FIXTURE_CONFIG, '--reports-dir', path.join(tmp.dir, 'none')]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /malformed\.yaml:7: settings\.rate: /);
  assert.match(r.stderr, /malformed\.yaml:8: settings\.connectionz: unknown key/);
  assert.doesNotMatch(r.stdout, /services started/);
});

test('an unknown scenario exits 2 and lists the valid names', async () => {
  const r = await runCli(['run', 'no_such_scenario', '--config', FIXTURE_CONFIG]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown scenario "no_such_scenario"; valid names: .*latency_percentiles.*all/);
});

test('a bad config exits 2 listing all its problems', async () => {
  const r = await runCli(['run', TINY_FAIL, '--config', path.join(FIXTURES, 'config-bad.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /3 problems:/);
  assert.match(r.stderr, /config-bad\.yaml:7: lb\.colour: unknown key/);
});

test('an unknown threshold profile exits 2', async () => {
  const r = await runCli(['run', TINY_FAIL, '--config', FIXTURE_CONFIG, '--profile', 'nope']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown threshold profile "nope"/);
});

test('a service that cannot start (a busy port) exits 3 naming the port, and writes no report', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  after(() => blocker.close());
  const busy = (blocker.address() as net.AddressInfo).port;
  const config = path.join(tmp.dir, 'busy.yaml');
  writeFileSync(config, readFileSync(FIXTURE_CONFIG, 'utf8').replace('backend-b, url: "http://127.0.0.1:0"', `backend-b, url: "http://127.0.0.1:${busy}"`));
  const reports = path.join(tmp.dir, 'busy-reports');
  const r = await runCli(['run', TINY_FAIL, '--config', config, '--reports-dir', reports]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`port already in use: ${busy} \\(backend-b\\)`));
  assert.throws(() => readdirSync(reports));
});
