import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/paths.js';
import { runCli, startCli, tempDir } from './helpers.js';

const VERBS = ['serve', 'run', 'targets', 'list', 'validate', 'lb', 'backend', 'load', 'report', 'ab', 'merge', 'compare'];

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

test("README's Commands table runs as documented: every verb it lists exists, and every flag it shows is in that verb's --help", async () => {
  const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Commands'), readme.indexOf('### Exit codes'));
  const rows = [...section.matchAll(/^\| `lbbench (\w+)([^`]*)`/gm)].map((m) => ({ verb: m[1] ?? '', usage: m[2] ?? '' }));
  assert.ok(rows.length >= VERBS.length, `README's Commands table lists ${rows.length} verbs`);
  const helps = await Promise.all(rows.map((r) => runCli([r.verb, '--help'])));
  rows.forEach(({ verb, usage }, i) => {
    const help = helps[i];
    assert.ok(help);
    assert.equal(help.code, 0, `${verb}: ${help.stderr}`);
    for (const [flag] of usage.matchAll(/--[a-z][\w-]*/g)) {
      assert.match(help.stdout, new RegExp(`(^|[\\s,])${flag}\\b`, 'm'), `README shows \`lbbench ${verb} ${flag}\`, but its --help has no ${flag}`);
    }
  });
});

test('lb without --config takes ./config.yaml, else the bundled one, like every verb (it used to fail: "./config.yaml: file not found")', async () => {
  const tmp = tempDir();
  try {
    writeFileSync(path.join(tmp.dir, 'config.yaml'), 'lb: { workers: nope }\n');
    const local = await runCli(['lb'], { cwd: tmp.dir });
    assert.equal(local.code, 2, local.stderr);
    assert.match(local.stderr, /config: \.\/config\.yaml\n/);
    assert.match(local.stderr, /\.\/config\.yaml/);
    rmSync(path.join(tmp.dir, 'config.yaml'));
    // The bundled config listens on :8080: stop it as soon as it has said which config it took,
    // before it gets to listening where it can (a busy :8080 would only make it exit 3).
    const bundled = startCli(['lb'], { cwd: tmp.dir });
    try {
      await Promise.race([bundled.waitFor(/config: .*\n/), bundled.exited]);
      bundled.child.kill('SIGTERM');
      await bundled.exited;
    } finally {
      bundled.kill();
    }
    assert.match(bundled.stderr, /config: .*config\.yaml \(bundled; no \.\/config\.yaml here\)/);
    assert.doesNotMatch(bundled.stderr, /file not found/);
  } finally {
    tmp.cleanup();
  }
});
