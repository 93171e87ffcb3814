/**
 * The request fuzzer in the suite (request-fuzz.ts): a fixed seed and a
 * time budget of about 10 s, so the same cases run every time; the seed and
 * the case count are printed, and a failure prints fast-check's shrunk
 * counterexample. `node dist/bench/fuzz.js` runs it longer.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PENDING_REQUEST_RULES, fuzzRequests, pendingRequestCases } from './request-fuzz.js';

/** Fixed seed of the suite's run. */
export const REQUEST_FUZZ_SEED = 1201;

it('request fuzzer: no crash, no smuggled or re-framed request, every connection answered or closed, 200 afterwards', async (t) => {
  const report = await fuzzRequests({ seed: REQUEST_FUZZ_SEED, timeLimitMs: 10_000, print: (l) => t.diagnostic(l) });
  console.log(`request fuzzer: seed ${report.seed}, ${report.cases} cases`);
  for (const rule of PENDING_REQUEST_RULES) t.diagnostic(`pending rule ${rule.name} (${pendingRequestCases.get(rule.name) ?? 0} case(s)): ${rule.reason}`);
  assert.equal(report.failed, false, report.message);
  assert.ok(report.cases >= 50, `only ${report.cases} cases ran in the time budget`);
});
