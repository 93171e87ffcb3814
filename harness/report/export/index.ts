/**
 * The export formats of `run --export` and `report --export`, by name, and
 * writing them next to a result: `<base>.bmf.json`, and for
 * github-action-benchmark `<base>.bigger-is-better.json` and
 * `<base>.smaller-is-better.json` (one file per tool).
 */
import type { RunResult } from '../../result/scenario-api.js';
import { writeFileAtomic } from '../write.js';
import { toBmf } from './bmf.js';
import { toGithubActionBenchmark } from './github-action-benchmark.js';
import { valueAt } from '../../../common/checked.js';

/** Format name -> files (suffix -> JSON value). */
export const EXPORT_FORMATS: Readonly<Record<string, (run: RunResult) => Record<string, unknown>>> = Object.freeze({
  bmf: (run: RunResult) => ({ 'bmf.json': toBmf(run) }),
  'github-action-benchmark': (run: RunResult) => {
    const files = toGithubActionBenchmark(run);
    return { 'bigger-is-better.json': files.biggerIsBetter, 'smaller-is-better.json': files.smallerIsBetter };
  },
});

export const EXPORT_FORMAT_NAMES = Object.keys(EXPORT_FORMATS);

/** Writes each format's files as `<base>.<suffix>`; returns their paths. */
export async function writeExports(run: RunResult, formats: readonly string[], base: string): Promise<string[]> {
  const written: string[] = [];
  for (const format of formats) {
    const files = valueAt(EXPORT_FORMATS, format, `export format ${format}`)(run);
    for (const [suffix, value] of Object.entries(files)) {
      const file = `${base}.${suffix}`;
      await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
      written.push(file);
    }
  }
  return written;
}
