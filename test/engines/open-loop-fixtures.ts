/**
 * Backends and helpers for the open-loop engine tests: real
 * `http.createServer` instances on port 0 that can delay, stall, fail and
 * record request arrival times.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { childPids } from '../../harness/sampling/proc-stats.js';

export interface TestBackend {
  url: string;
  /** Arrival time of each request, ms (performance.now()). */
  arrivals: number[];
  /** How long each answered request was actually held before its answer
   * was written, µs: the configured delay plus this process's timer
   * lateness. Filled when `record` is set. */
  heldUs: number[];
  /** Requests received so far, primers of connection set-up included. */
  readonly hits: number;
  /** Requests answered by destroying the socket (`resetEvery`). */
  readonly resets: number;
  close(): Promise<void>;
}

export interface BackendBehaviour {
  /** Fixed delay before answering, ms. Default 0. */
  delayMs?: number;
  /** Every `stallEveryMs`, hold all answers for `stallMs` (requests arriving
   * inside the stall are answered when it ends). */
  stallEveryMs?: number;
  stallMs?: number;
  /** Status to answer with. Default 200. */
  status?: number;
  /** Destroy the socket instead of answering, for every n-th request (1 = all). */
  resetEvery?: number;
  /** Record arrival and hold times. Default false. */
  record?: boolean;
}

/** Starts a backend on 127.0.0.1:0. */
export async function startBackend(b: BackendBehaviour = {}): Promise<TestBackend> {
  const arrivals: number[] = [];
  const heldUs: number[] = [];
  const t0 = performance.now();
  let n = 0;
  let resets = 0;
  const body = Buffer.from('hello from the test backend\n');
  const server = http.createServer((req, res) => {
    const now = performance.now();
    if (b.record) arrivals.push(now);
    n++;
    req.resume();
    if (b.resetEvery && n % b.resetEvery === 0) {
      resets++;
      req.socket.destroy();
      return;
    }
    const answer = (): void => {
      if (b.record) heldUs.push(Math.round((performance.now() - now) * 1000));
      res.writeHead(b.status ?? 200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    };
    let wait = b.delayMs ?? 0;
    if (b.stallEveryMs && b.stallMs) {
      const phase = (now - t0) % b.stallEveryMs;
      if (phase < b.stallMs) wait = Math.max(wait, b.stallMs - phase);
    }
    if (wait > 0) setTimeout(answer, wait);
    else answer();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/load`,
    arrivals,
    heldUs,
    get hits() {
      return n;
    },
    get resets() {
      return resets;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** PIDs of this process's live children that run the open-loop generator. */
export function generatorChildren(): number[] {
  return childPids(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('generator-process');
    } catch {
      return false;
    }
  });
}

/** Index of the HDR bucket (power-of-two range) holding `valueUs` for a
 * histogram of 3 significant digits and 1 µs lowest value (2048 sub-buckets). */
export function hdrBucketIndex(valueUs: number): number {
  return Math.max(0, Math.floor(Math.log2(Math.max(1, valueUs))) - 10);
}

/**
 * Runs `attempt` up to `tries` times until `check` returns no problem, for
 * timing checks on a shared, noisy machine. Each failed attempt is logged
 * via `log`. Returns the last problem (undefined on success).
 */
export async function retryTimingCheck<T>(
  tries: number,
  attempt: () => Promise<T>,
  check: (value: T) => string | undefined,
  log: (line: string) => void,
): Promise<string | undefined> {
  let problem: string | undefined;
  for (let i = 1; i <= tries; i++) {
    problem = check(await attempt());
    if (problem === undefined) return undefined;
    log(`attempt ${i}/${tries}: ${problem}`);
  }
  return problem;
}
