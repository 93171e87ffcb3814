/**
 * The response fuzzer in the suite (response-fuzz.ts): a fixed seed and a
 * fixed number of cases (about 6 s here), so the same cases run every time
 * on any machine; the seed and the case count are printed, and
 * a failure prints fast-check's shrunk counterexample.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PENDING_RESPONSE_RULES, fuzzResponses, pendingResponseCases } from './response-fuzz.js';

/** Cases of the suite's run: a count, not a time budget, so that a slow
 * runner runs the same cases as a fast one (it just takes longer). */
export const RESPONSE_FUZZ_CASES = 70;
/** A hang guard only: a run that reaches it has stopped making progress, ms. */
const HANG_GUARD_MS = 90_000;

/** Fixed seed of the suite's run. */
export const RESPONSE_FUZZ_SEED = 1202;

it('response fuzzer: no crash, each response forwarded faithfully or answered 502/504, no desync, 200 afterwards', async (t) => {
  const report = await fuzzResponses({ seed: RESPONSE_FUZZ_SEED, timeLimitMs: HANG_GUARD_MS, maxRuns: RESPONSE_FUZZ_CASES, print: (l) => t.diagnostic(l) });
  console.log(`response fuzzer: seed ${report.seed}, ${report.cases} cases`);
  for (const rule of PENDING_RESPONSE_RULES) t.diagnostic(`pending rule ${rule.name} (${pendingResponseCases.get(rule.name) ?? 0} case(s)): ${rule.reason}`);
  assert.equal(report.failed, false, report.message);
  assert.equal(report.cases, RESPONSE_FUZZ_CASES, `only ${report.cases} of RESPONSE_FUZZ_CASES cases ran within ${HANG_GUARD_MS} ms`);
});
