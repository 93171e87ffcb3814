/**
 * Reads a stored `reports/<run-id>.json` back, for `lbbench report`.
 */
import { readInputFile } from '../../common/yaml-source.js';
import { InputError } from '../../common/errors.js';
import { isPlainObject } from '../../common/objects.js';
import type { RunResult } from '../result/scenario-api.js';

/** The result schema version this lbbench writes. */
export const RESULT_SCHEMA_VERSION = 2;
/** Versions it reads: 1 (round 1) renders as before. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

/**
 * Reads and checks a RunResult: `schemaVersion` must be 1 or 2, and the fields the
 * renderers rely on must have the right shape. A missing, unreadable or
 * malformed file throws InputError (exit 2) naming the file and each problem.
 */
export function readRunResult(file: string): RunResult {
  const data = readJsonInput(file);
  const problems = shapeProblems(data);
  if (problems.length > 0) throw new InputError(problems.map(([p, message]) => ({ file, path: p, message })));
  return data as RunResult;
}

/** Reads and parses a user-supplied JSON file; missing, unreadable or not
 * JSON becomes an InputError (exit 2) naming the file. */
export function readJsonInput(file: string): unknown {
  const text = readInputFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InputError([{ file, path: '', message: `not JSON: ${(err as Error).message}` }], { cause: err });
  }
}

type Problem = [path: string, message: string];

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Checks only what rendering depends on; extra fields are kept as they are. */
function shapeProblems(data: unknown): Problem[] {
  if (!isPlainObject(data)) return [['', `expected a lbbench result object, got ${describe(data)}`]];
  if (!READABLE_SCHEMA_VERSIONS.includes(data['schemaVersion'] as number)) {
    return [['schemaVersion', `expected ${READABLE_SCHEMA_VERSIONS.join(' or ')}, got ${describe(data['schemaVersion'])}`]];
  }
  const problems: Problem[] = [];
  const expect = (ok: boolean, p: string, what: string, v: unknown): void => {
    if (!ok) problems.push([p, `expected ${what}, got ${describe(v)}`]);
  };
  for (const k of ['runId', 'startedAt', 'finishedAt', 'command'] as const) expect(typeof data[k] === 'string', k, 'a string', data[k]);
  expect(typeof data['exitCode'] === 'number', 'exitCode', 'a number', data['exitCode']);
  expect(typeof data['interrupted'] === 'boolean', 'interrupted', 'true or false', data['interrupted']);
  expect(isPlainObject(data['environment']), 'environment', 'an object', data['environment']);
  if (isPlainObject(data['environment'])) {
    expect(isPlainObject(data['environment']['engines']), 'environment.engines', 'an object', data['environment']['engines']);
  }
  expect(Array.isArray(data['summary']), 'summary', 'an array', data['summary']);
  const scenarios = data['scenarios'];
  expect(Array.isArray(scenarios), 'scenarios', 'an array', scenarios);
  if (Array.isArray(scenarios)) {
    scenarios.forEach((s: unknown, i) => {
      const p = `scenarios[${i}]`;
      if (!isPlainObject(s)) return expect(false, p, 'an object', s);
      expect(typeof s['name'] === 'string', `${p}.name`, 'a string', s['name']);
      for (const k of ['verdicts', 'tables', 'loads', 'lines', 'invalidReasons'] as const) {
        expect(Array.isArray(s[k]), `${p}.${k}`, 'an array', s[k]);
      }
      expect(isPlainObject(s['settings']), `${p}.settings`, 'an object', s['settings']);
      expect(isPlainObject(s['metrics']), `${p}.metrics`, 'an object', s['metrics']);
    });
  }
  return problems;
}
