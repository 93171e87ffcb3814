import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRunId, runExitCode, runStatusLine } from '../../harness/run/run-loop.js';
import type { RunResult, ScenarioResult, Verdict } from '../../harness/result/scenario-api.js';
import { generatorSaturatedReason, invalidOnlyBySaturation, isGeneratorSaturatedReason } from '../../harness/result/invalid-reasons.js';

test('run ids are the UTC start second with the profile', () => {
  const t = Date.UTC(2026, 10, 26, 14, 30, 5, 789);
  assert.equal(makeRunId(t, true), '2026-11-26T14-30-05Z-quick');
  assert.equal(makeRunId(t, false), '2026-11-26T14-30-05Z-full');
});

const verdict = (v: Verdict['verdict']): Verdict => ({ scenario: 's', name: 'n', target: 'x < 1', metric: 'x', verdict: v });

test('exit code: 3 beats 1 beats 0', () => {
  const ok = { status: 'ok' as const, verdicts: [verdict('PASS'), verdict('EXCELLENT'), verdict('N/A')] };
  const failed = { status: 'ok' as const, verdicts: [verdict('FAIL')] };
  assert.equal(runExitCode([ok], false), 0);
  assert.equal(runExitCode([], false), 0);
  assert.equal(runExitCode([ok, failed], false), 1);
  assert.equal(runExitCode([ok, failed, { status: 'invalid', verdicts: [] }], false), 3);
  assert.equal(runExitCode([{ status: 'error', verdicts: [] }], false), 3);
  assert.equal(runExitCode([ok], true), 3);
});

test('exit code: a SKIP (an unmeasured threshold in a schema-1 result) is INVALID, never a pass', () => {
  assert.equal(runExitCode([{ status: 'ok', verdicts: [verdict('PASS'), verdict('SKIP')] }], false), 3);
});

test('exit code: NOISY exits 0 (a warning), or 1 with noisyFails', () => {
  const noisy = { status: 'ok' as const, verdicts: [verdict('PASS'), verdict('NOISY')] };
  assert.equal(runExitCode([noisy], false), 0);
  assert.equal(runExitCode([noisy], false, { noisyFails: true }), 1);
  assert.equal(runExitCode([{ status: 'invalid', verdicts: [] }, noisy], false, { noisyFails: true }), 3);
});

test('exit code: judgeSaturated judges a scenario INVALID only for generator saturation on its verdicts; any other reason stays 3', () => {
  const saturated = generatorSaturatedReason('repeat 1/3: lb c100', 'process 0: send-loop lag p99 12.6 ms > 10.0 ms');
  const throughputBound = generatorSaturatedReason('', '93% of a core', 'and did not go faster direct');
  const passing = { status: 'invalid' as const, verdicts: [verdict('PASS')], invalidReasons: [saturated, throughputBound] };
  const failing = { status: 'invalid' as const, verdicts: [verdict('FAIL')], invalidReasons: [saturated] };
  const mixed = { status: 'invalid' as const, verdicts: [verdict('PASS')], invalidReasons: [saturated, 'lb: 0 of 1000 connections established'] };
  const unmeasured = { status: 'invalid' as const, verdicts: [verdict('PASS'), verdict('SKIP')], invalidReasons: [saturated] };
  assert.equal(runExitCode([passing], false), 3, 'without the option, saturation voids the run');
  assert.equal(runExitCode([passing], false, { judgeSaturated: true }), 0);
  assert.equal(runExitCode([failing], false, { judgeSaturated: true }), 1, 'a FAIL under saturation still fails');
  assert.equal(runExitCode([mixed], false, { judgeSaturated: true }), 3, 'another reason beside saturation still voids it');
  assert.equal(runExitCode([unmeasured], false, { judgeSaturated: true }), 3, 'an unmeasured threshold is never a pass');
  assert.equal(runExitCode([{ status: 'error', verdicts: [], invalidReasons: [] }], false, { judgeSaturated: true }), 3);
  assert.equal(runExitCode([passing], true, { judgeSaturated: true }), 3, 'an interrupted run stays invalid');
});

test('saturation reasons are recognized in every form they are written, and nothing else is', () => {
  assert.ok(isGeneratorSaturatedReason(generatorSaturatedReason('lb', 'CPU 95% of a core > 90%')));
  assert.ok(isGeneratorSaturatedReason(`repeat 2/3: ${generatorSaturatedReason('direct')}`));
  // A result stored before the helper existed words it the same way.
  assert.ok(isGeneratorSaturatedReason('lb c1000: the load generator was saturated (process 1: send-loop lag p99 11.1 ms > 10.0 ms)'));
  assert.equal(isGeneratorSaturatedReason('lb: 3 errors (0.30% of requests) exceed the allowance of 0.10%'), false);
  assert.equal(invalidOnlyBySaturation([]), false, 'no reason is not "only saturation"');
});

/** A run's parts that the status line reads: results of `names` (`name` or `name@target`, each `status`). */
function statusRun(results: [string, ScenarioResult['status']][], targets: string[]): Parameters<typeof runStatusLine>[0] {
  const scenarios = results.map(([id, status]) => {
    const [name = id, target] = id.split('@');
    return { name, status, ...(target !== undefined ? { target } : {}) } as ScenarioResult;
  });
  return { exitCode: 3, interrupted: true, scenarios, targets: targets.map((name) => ({ name, kind: 'lbbench', notes: [] })) } satisfies Pick<
    RunResult,
    'exitCode' | 'interrupted' | 'scenarios' | 'targets'
  >;
}

test('status line with --targets counts scenarios, not results (was "interrupted after 10 of 5")', () => {
  const targets = ['lbbench', 'nginx'];
  const results: [string, ScenarioResult['status']][] = [
    ['throughput@lbbench', 'ok'],
    ['throughput@nginx', 'ok'],
    ['failover@lbbench', 'ok'],
    ['failover@nginx', 'interrupted'],
  ];
  assert.equal(
    runStatusLine(statusRun(results, targets), 5),
    'status: INVALID (exit 3); interrupted after 2 of 5 scenarios; partial report; failover on nginx interrupted',
  );
});

test('status line with one target: scenarios as before, no target names', () => {
  assert.equal(
    runStatusLine(
      statusRun(
        [
          ['throughput', 'ok'],
          ['failover', 'interrupted'],
        ],
        ['lbbench'],
      ),
      3,
    ),
    'status: INVALID (exit 3); interrupted after 2 of 3 scenarios; partial report; failover interrupted',
  );
  assert.equal(runStatusLine({ ...statusRun([['throughput', 'ok']], ['lbbench']), exitCode: 0, interrupted: false }, 1), 'status: PASS (exit 0)');
});
