/**
 * The request fuzzer in the suite (request-fuzz.ts): a fixed seed and a
 * fixed number of cases (about 6 s here), so the same cases run every time
 * on any machine; the seed and
 * the case count are printed, and a failure prints fast-check's shrunk
 * counterexample. `node dist/bench/fuzz.js` runs it longer.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PENDING_REQUEST_RULES, fuzzRequests, pendingRequestCases } from './request-fuzz.js';

/** Cases of the suite's run: a count, not a time budget, so that a slow
 * runner runs the same cases as a fast one (it just takes longer). */
export const REQUEST_FUZZ_CASES = 250;
/** A hang guard only: a run that reaches it has stopped making progress, ms. */
const HANG_GUARD_MS = 90_000;

/** Fixed seed of the suite's run. */
export const REQUEST_FUZZ_SEED = 1201;

it('request fuzzer: no crash, no smuggled or re-framed request, every connection answered or closed, 200 afterwards', async (t) => {
  const report = await fuzzRequests({ seed: REQUEST_FUZZ_SEED, timeLimitMs: HANG_GUARD_MS, maxRuns: REQUEST_FUZZ_CASES, print: (l) => t.diagnostic(l) });
  console.log(`request fuzzer: seed ${report.seed}, ${report.cases} cases`);
  for (const rule of PENDING_REQUEST_RULES) t.diagnostic(`pending rule ${rule.name} (${pendingRequestCases.get(rule.name) ?? 0} case(s)): ${rule.reason}`);
  assert.equal(report.failed, false, report.message);
  assert.equal(report.cases, REQUEST_FUZZ_CASES, `only ${report.cases} of REQUEST_FUZZ_CASES cases ran within ${HANG_GUARD_MS} ms`);
});
