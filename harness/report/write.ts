/**
 * Writes a run's reports: `<dir>/<runId>.json` (the RunResult, pretty JSON),
 * `<dir>/<runId>.md` (renderMarkdown) and `<dir>/<runId>.html` (renderHtml). Each file is written to a temp
 * file beside it and renamed, so a reader never sees half a report.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../result/scenario-api.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

/**
 * Creates `dir` (mkdir -p) and writes the three reports, the JSON first.
 * The file name is the runId with characters other than letters, digits,
 * `.`, `_` and `-` replaced by `_`. Resolves to the paths.
 */
export async function writeReports(run: RunResult, dir: string): Promise<{ jsonPath: string; mdPath: string; htmlPath: string }> {
  await mkdir(dir, { recursive: true });
  const base = path.join(dir, reportBaseName(run.runId));
  const jsonPath = `${base}.json`;
  const mdPath = `${base}.md`;
  const htmlPath = `${base}.html`;
  await writeFileAtomic(jsonPath, JSON.stringify(run, null, 2) + '\n');
  await writeFileAtomic(mdPath, renderMarkdown(run));
  await writeFileAtomic(htmlPath, renderHtml(run));
  return { jsonPath, mdPath, htmlPath };
}

/** The file name (without extension) for a run id. */
export function reportBaseName(runId: string): string {
  const safe = runId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe || 'run';
}

/** Writes `file` via a temp file in the same directory and a rename. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
