/**
 * The generator's clock: CLOCK_MONOTONIC in milliseconds with sub-µs
 * precision, shared by every thread and process on the machine (unlike
 * `performance.now()`, whose origin differs per thread).
 */

/** Monotonic time, ms (fractional). */
export function monoNowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Wall-clock time with sub-ms precision, ms since the epoch. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Converts an epoch time to the monotonic clock of this process, ms. */
export function epochToMonoMs(epochMs: number): number {
  return monoNowMs() + (epochMs - epochNowMs());
}
