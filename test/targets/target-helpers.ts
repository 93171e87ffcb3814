/**
 * What the target tests share: whether nginx and HAProxy are installed (their
 * tests are skipped with a visible reason when not), and a run of the
 * real program's own config check.
 */
import { spawnSync } from 'node:child_process';
import { findOnPath } from '../../harness/engines/external-binary.js';

/** Path of `binary`, or undefined. */
export function programPath(binary: string): string | undefined {
  return findOnPath(binary);
}

/** `skip` option of node:test: a reason when `binary` is missing. */
export function skipWithout(binary: string): string | false {
  return programPath(binary) ? false : `${binary} is not installed (apt-get install -y nginx haproxy)`;
}

/** Runs a program and returns its exit code and output; never throws. */
export function runProgram(binary: string, args: string[], cwd?: string): { code: number; output: string } {
  const r = spawnSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000, ...(cwd ? { cwd } : {}) });
  return { code: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}
