/**
 * ab on this repository against its own HEAD: the base is built in a
 * temporary git worktree, the rounds alternate ABBA, each side's runs are
 * pooled into samples for compare, and the worktree is gone afterwards.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/paths.js';
import type { Comparison } from '../../harness/compare/compare.js';
import { FIXTURE_CONFIG, FIXTURES, runCli, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', ['-C', PACKAGE_ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
const headSha = git(['rev-parse', 'HEAD']);
const skip = headSha === undefined ? 'not a git checkout: ab needs git' : false;

test('ab --base HEAD builds the base in a worktree, alternates ABBA, pools the runs and removes the worktree', { skip }, async () => {
  const reports = path.join(tmp.dir, 'ab');
  const scenario = path.join(FIXTURES, 'verdicts', 'tiny_latency.yaml');
  const r = await runCli(['ab', '--base', 'HEAD', scenario, '--config', FIXTURE_CONFIG, '--repeat', '2', '--metric', 'p50_ms', '--reports-dir', reports]);
  // Exit 3 is a correct answer too: a round whose generator was starved of
  // CPU on the shared cores is INVALID, and ab says so instead of comparing.
  // The mechanics below hold either way.
  assert.ok(r.code === 0 || (r.code === 3 && /INVALID/.test(r.stdout)), r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`BASE HEAD = ${headSha!.slice(0, 12)}`));
  const order = [...r.stdout.matchAll(/round (\d)\/2 (base|head): exit \d/g)].map((m) => `${m[1]}${m[2]}`);
  // ABBA: the second round swaps the order, so neither side always runs first.
  assert.deepEqual(order, ['1base', '1head', '2head', '2base']);
  const c = JSON.parse(readFileSync(path.join(reports, 'comparison.json'), 'utf8')) as Comparison;
  assert.equal(c.base.gitCommit, headSha);
  assert.equal(c.metrics.length, 1);
  assert.equal(c.metrics[0]?.metric, 'p50_ms');
  if (r.code === 0) {
    // Pooled: one sample per run of each side (compare's statistics have their own tests).
    assert.equal(c.metrics[0]?.baseSamples.length, 2);
    assert.equal(c.metrics[0]?.headSamples.length, 2);
  }
  assert.match(readFileSync(path.join(reports, 'comparison.md'), 'utf8'), /^### lbbench compare: /m);
  assert.doesNotMatch(git(['worktree', 'list']) ?? '', /lbbench-ab-base-/);
});

test('ab with an unknown base revision exits 2 before anything runs', { skip }, async () => {
  const r = await runCli(['ab', '--base', 'no-such-ref-xyz', '--reports-dir', path.join(tmp.dir, 'none')]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--base "no-such-ref-xyz" is not a known git revision/);
});
