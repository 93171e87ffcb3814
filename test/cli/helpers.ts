/**
 * Helpers of the CLI tests: spawn the real `node bin/lbbench.js`, collect
 * its output, wait for lines, and make sure it is gone after the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN_PATH, PACKAGE_ROOT } from '../../common/paths.js';

export const FIXTURES = path.join(PACKAGE_ROOT, 'test', 'fixtures');
export const FIXTURE_CONFIG = path.join(FIXTURES, 'config.yaml');

/** A running lbbench process with its output so far. */
export interface CliProcess {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or 128+signal) once it has exited. */
  exited: Promise<number>;
  /** Resolves once `pattern` appears in stdout or stderr. Rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILLs it if it is still running (teardown). */
  kill(): void;
}

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Spawns `node bin/lbbench.js ...args` in `cwd` (default a fresh temp dir). */
export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [BIN_PATH, ...args], {
    cwd: opts.cwd ?? os.tmpdir(),
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: CliProcess = {
    child,
    stdout: '',
    stderr: '',
    // 'close' comes after the exit and the end of both pipes, so the output is complete.
    exited: new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0)))),
    waitFor(pattern, timeoutMs = 25_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = p.stdout.match(pattern) ?? p.stderr.match(pattern);
          if (!m) return false;
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.stderr.off('data', check);
          resolve(m);
          return true;
        };
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${p.stdout}\nstderr:\n${p.stderr}`)), timeoutMs);
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        queueMicrotask(check);
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (p.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (p.stderr += d));
  return p;
}

/** Runs lbbench to completion; resolves code and output. */
export async function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = startCli(args, opts);
  const code = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** A temp directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lbbench-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
