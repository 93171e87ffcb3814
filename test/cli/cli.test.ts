import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/paths.js';
import { runCli } from './helpers.js';

const VERBS = ['serve', 'run', 'list', 'validate', 'lb', 'backend', 'load', 'report'];

test('--help lists every verb and the exit codes, and exits 0', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const verb of VERBS) assert.match(r.stdout, new RegExp(`^\\s+${verb}\\b`, 'm'), verb);
  assert.match(r.stdout, /Exit codes:/);
  assert.match(r.stdout, /Examples:/);
});

test('each verb has examples in its --help', async () => {
  const results = await Promise.all(VERBS.map((verb) => runCli([verb, '--help'])));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${VERBS[i]}: ${r.stderr}`);
    assert.match(r.stdout, /Examples:/, VERBS[i]);
  });
});

test('--version prints the package version', async () => {
  const r = await runCli(['--version']);
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('usage errors exit 2: unknown verb, unknown option, missing argument, no verb', async () => {
  for (const args of [['frobnicate'], ['list', '--bogus'], ['run'], []]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
});
