/**
 * The response fuzzer in the suite (response-fuzz.ts): a fixed seed and a
 * time budget of about 10 s; the seed and the case count are printed, and
 * a failure prints fast-check's shrunk counterexample.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PENDING_RESPONSE_RULES, fuzzResponses, pendingResponseCases } from './response-fuzz.js';

/** Fixed seed of the suite's run. */
export const RESPONSE_FUZZ_SEED = 1202;

it('response fuzzer: no crash, each response forwarded faithfully or answered 502/504, no desync, 200 afterwards', async (t) => {
  const report = await fuzzResponses({ seed: RESPONSE_FUZZ_SEED, timeLimitMs: 10_000, print: (l) => t.diagnostic(l) });
  console.log(`response fuzzer: seed ${report.seed}, ${report.cases} cases`);
  for (const rule of PENDING_RESPONSE_RULES) t.diagnostic(`pending rule ${rule.name} (${pendingResponseCases.get(rule.name) ?? 0} case(s)): ${rule.reason}`);
  assert.equal(report.failed, false, report.message);
  assert.ok(report.cases >= 30, `only ${report.cases} cases ran in the time budget`);
});
