/**
 * `lbbench merge A.json B.json …`: one result from `lbbench load --json`
 * results of several generator hosts (started together with `--start-at`).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { InputError } from '../../common/errors.js';
import { readJsonInput } from '../report/read.js';
import type { LoadResult } from '../engines/engine.js';

const HELP_AFTER = `
Merges exactly: requests, bytes, errors, statuses, connections and
generator CPU are summed, rates are the sum of each host's rate, and the HDR
latency histograms are merged, so every percentile is the one a single
histogram of all the requests gives. The per-second series is re-aligned on
wall-clock time and summed (a bucket's p99 is the highest of the parts').
"merged.startSkewMs" says how far apart the measured windows started.

Recipe (two generator hosts against one balancer):
  host-a$ T=$(( $(date +%s%3N) + 15000 ))      # 15 s from now, in epoch ms; share it
  host-a$ lbbench load http://lb:8080/echo --rate 5000 --duration 30s --start-at $T --json > a.json
  host-b$ lbbench load http://lb:8080/echo --rate 5000 --duration 30s --start-at $T --json > b.json
  $ lbbench merge a.json b.json                    # 10,000 req/s in all, one latency distribution

Exit codes: 0 merged, 2 a file is missing or not a load result, or the
results do not add up (mixed load models or series intervals), 3 a part's
generator saturated (the merged numbers are the generators').

Examples:
  $ lbbench merge a.json b.json
  $ lbbench merge a.json b.json c.json --json > all.json
  $ lbbench merge a.json b.json --out merged.json
`;

/** Reads one `load --json` file, checking the fields the merge adds up. */
export function readLoadResult(file: string): LoadResult {
  const data = readJsonInput(file);
  const problems: string[] = [];
  const d = data as Record<string, unknown>;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) problems.push('expected the JSON object `lbbench load --json` prints');
  else {
    for (const k of ['requests', 'bytes', 'achievedRate', 'bytesPerSecond', 'startedAtMs', 'durationMs', 'seriesIntervalMs', 'connectionsEstablished']) {
      if (typeof d[k] !== 'number') problems.push(`${k}: expected a number`);
    }
    if (typeof d['histogram'] !== 'string') problems.push('histogram: expected the base64 HDR histogram');
    for (const k of ['spec', 'generator', 'errors', 'statusCounts']) if (typeof d[k] !== 'object' || d[k] === null) problems.push(`${k}: expected an object`);
    if (!Array.isArray(d['series'])) problems.push('series: expected an array');
    if (d['loadModel'] !== 'open' && d['loadModel'] !== 'closed') problems.push('loadModel: expected "open" or "closed"');
  }
  if (problems.length > 0) throw new InputError(problems.map((message) => ({ file, path: '', message })));
  return data as LoadResult;
}

/** The `merge` verb. */
export function mergeCommand(): Command {
  return new Command('merge')
    .description('merge `lbbench load --json` results from several hosts exactly (histograms, counters, series)')
    .argument('<files...>', 'results of `lbbench load --json`')
    .option('--json', 'print the merged result as JSON', false)
    .option('-o, --out <file>', 'write the merged result (JSON) to this file')
    .addHelpText('after', HELP_AFTER)
    .action(async (files: string[], flags: { json: boolean; out?: string }) => {
      const [{ mergeLoadResults }, { renderLoadTable, invalidReasons }, { writeFileAtomic }, { requestExitCode }, { ExitCode }] = await Promise.all([
        import('../result/load-merge.js'),
        import('./load.js'),
        import('../report/write.js'),
        import('./exit-status.js'),
        import('../../common/exit-codes.js'),
      ]);
      const parts: LoadResult[] = [];
      const issues: InputError['issues'][number][] = [];
      for (const f of files) {
        try {
          parts.push(readLoadResult(f));
        } catch (err) {
          if (err instanceof InputError) issues.push(...err.issues);
          else throw err;
        }
      }
      if (issues.length > 0) throw new InputError(issues);
      const merged = mergeLoadResults(parts);
      const json = `${JSON.stringify(merged, null, 2)}\n`;
      if (flags.out !== undefined) {
        await mkdir(path.dirname(path.resolve(flags.out)), { recursive: true });
        await writeFileAtomic(flags.out, json);
      }
      process.stdout.write(
        flags.json ? json : `${renderLoadTable(merged)}\nmerged ${merged.merged.parts} results; windows started ${merged.merged.startSkewMs} ms apart\n`,
      );
      if (merged.merged.urls.length > 1) process.stderr.write(`lbbench merge: warning: the parts loaded different URLs: ${merged.merged.urls.join(', ')}\n`);
      for (const warning of invalidReasons(merged)) {
        process.stderr.write(`lbbench merge: warning: ${warning}\n`);
        requestExitCode(ExitCode.INVALID_RUN);
      }
    });
}
