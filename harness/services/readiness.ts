/**
 * Readiness probes: one HTTP GET that never rejects, and a poll loop that
 * waits for a service to answer, failing early (with the child's last
 * stderr lines) when the child exits first.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidRunError } from '../../common/errors.js';
import type { ExitInfo, ManagedChild } from './managed-child.js';
import { ErrorCode } from '../../common/error-codes.js';

/** Period of readiness probes while waiting for a service, ms. */
export const PROBE_INTERVAL_MS = 50;
/** One readiness probe gives up after this, ms. */
const PROBE_TIMEOUT_MS = 1_000;

/**
 * One HTTP GET with no keep-alive; resolves the status code, or undefined
 * when nothing answered within `timeoutMs`. Never rejects.
 */
export function probeHttp(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<number | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number | undefined): void => {
      if (done) return;
      done = true;
      resolve(status);
    };
    try {
      const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
        finish(res.statusCode);
        res.resume();
        res.on('error', () => undefined);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => finish(undefined));
    } catch {
      finish(undefined);
    }
  });
}

/** Options of waitUntil. */
export interface WaitOptions {
  /** What is awaited, for messages, e.g. `backend backend-8001`. */
  what: string;
  /** Give up after this, ms. */
  deadlineMs: number;
  signal: AbortSignal | undefined;
  /** The process that should answer: its exit ends the wait at once. */
  child?: ManagedChild;
}

/**
 * Polls `ready` until it resolves true. Throws InvalidRunError when the
 * child exits first (with its last stderr lines) or the deadline passes, and
 * an `LBB_ERR_INTERRUPTED` InvalidRunError when `signal` aborts.
 */
export async function waitUntil(ready: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const started = Date.now();
  const exited = opts.child ? opts.child.exited.then((e) => e) : new Promise<ExitInfo>(() => undefined);
  let exit: ExitInfo | undefined;
  void exited.then((e) => (exit = e));
  for (;;) {
    if (opts.signal?.aborted) throw interrupted(opts.what);
    if (exit && opts.child) throw await startFailure(opts.child, opts.what, exitText(exit));
    if (await ready()) return;
    if (exit && opts.child) throw await startFailure(opts.child, opts.what, exitText(exit));
    if (Date.now() - started >= opts.deadlineMs) {
      if (opts.child) throw await startFailure(opts.child, opts.what, `did not answer within ${opts.deadlineMs} ms (harness.startTimeoutMs)`);
      throw new InvalidRunError(ErrorCode.SERVICE_START, `${opts.what} did not answer within ${opts.deadlineMs} ms`);
    }
    await Promise.race([sleep(PROBE_INTERVAL_MS), exited]);
  }
}

function exitText(e: ExitInfo): string {
  return e.signal ? `exited on ${e.signal}` : `exited with code ${e.exitCode}`;
}

async function startFailure(child: ManagedChild, what: string, reason: string): Promise<InvalidRunError> {
  await child.settleOutput();
  const tail = child.stderrTail.toArray();
  const detail = tail.length ? `; its last stderr lines:\n${tail.map((l) => `  ${child.name} | ${l}`).join('\n')}` : '';
  return new InvalidRunError(ErrorCode.SERVICE_START, `${what} (pid ${child.pid}) ${reason}${detail}`);
}

function interrupted(what: string): InvalidRunError {
  return new InvalidRunError(ErrorCode.INTERRUPTED, `interrupted while waiting for ${what}`);
}
