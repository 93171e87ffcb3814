/**
 * The long fuzz run (not a test): the suite's two fuzzers (test/fuzz/)
 * for longer, with any seed. Half the time goes to requests, half to
 * backend responses; each prints its seed, its case count and, on a
 * failure, fast-check's shrunk counterexample.
 *
 *   npm run build && flock /tmp/lbbench-cpu.lock node dist/bench/fuzz.js --seconds 300 --seed 7
 *
 * Options: `--seconds N` total time (default 60), `--seed N` (default:
 * the time, printed), `--only requests|responses`. Exit 0 without a
 * failure, 1 with one, 2 on bad options. Ports are 0 (nothing fixed).
 */
import { parseArgs } from 'node:util';
import { fuzzRequests, pendingRequestCases, PENDING_REQUEST_RULES } from '../test/fuzz/request-fuzz.js';
import { fuzzResponses, pendingResponseCases, PENDING_RESPONSE_RULES } from '../test/fuzz/response-fuzz.js';
import type { FuzzRunReport } from '../test/fuzz/rig.js';

function usage(message: string): never {
  console.error(`bench/fuzz: ${message}\nusage: node dist/bench/fuzz.js [--seconds N] [--seed N] [--only requests|responses]`);
  process.exit(2);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer (got ${JSON.stringify(value)})`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ options: { seconds: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' } }, strict: true });
  } catch (err) {
    usage((err as Error).message);
  }
  const { values } = parsed;
  const seconds = positiveInt('seconds', values.seconds, 60);
  if (seconds < 1) usage('--seconds must be at least 1');
  const seed = positiveInt('seed', values.seed, Date.now() % 2_147_483_647);
  const only = values.only;
  if (only !== undefined && only !== 'requests' && only !== 'responses') usage(`--only must be requests or responses (got ${JSON.stringify(only)})`);
  const both = only === undefined;
  const shareMs = (both ? seconds / 2 : seconds) * 1000;
  const print = (line: string) => console.log(line);
  console.log(`bench/fuzz: seed ${seed}, ${seconds} s${both ? ' (half each)' : ` (${only} only)`}`);
  const reports: FuzzRunReport[] = [];
  if (only !== 'responses') reports.push(await fuzzRequests({ seed, timeLimitMs: shareMs, print }));
  if (only !== 'requests') reports.push(await fuzzResponses({ seed, timeLimitMs: shareMs, print }));
  for (const r of PENDING_REQUEST_RULES) console.log(`pending rule ${r.name}: ${pendingRequestCases.get(r.name) ?? 0} case(s) (${r.reason})`);
  for (const r of PENDING_RESPONSE_RULES) console.log(`pending rule ${r.name}: ${pendingResponseCases.get(r.name) ?? 0} case(s) (${r.reason})`);
  const total = reports.reduce((n, r) => n + r.cases, 0);
  const failed = reports.filter((r) => r.failed);
  console.log(
    `bench/fuzz: seed ${seed}: ${reports.map((r) => `${r.name} ${r.cases}`).join(', ')} = ${total} cases, ${failed.length ? `FAILED (${failed.map((r) => r.name).join(', ')})` : 'no failure'}`,
  );
  process.exitCode = failed.length ? 1 : 0;
}

await main();
