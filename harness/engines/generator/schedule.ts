/**
 * Pure arithmetic of the open-loop schedule: the intended send times and how
 * a run is split over generator processes. No I/O, no clock.
 *
 * The whole run has one schedule of slots `i = 0, 1, 2, ...` at intended
 * times `start + i / totalRate`. With N processes, process k owns the slots
 * `i ≡ k (mod N)`, so each process sends at totalRate / N and the merged
 * arrivals are as evenly spaced as a single process's would be.
 */

/** Intended send time of this process's `n`-th request (0-based), ms after
 * the schedule start. */
export function intendedOffsetMs(n: number, processIndex: number, processCount: number, totalRate: number): number {
  return ((n * processCount + processIndex) * 1000) / totalRate;
}

/** How many of this process's slots have intended times strictly before
 * `offsetMs` (ms after the schedule start). Inverse of intendedOffsetMs. */
export function slotsBefore(offsetMs: number, processIndex: number, processCount: number, totalRate: number): number {
  if (offsetMs <= 0) return 0;
  // Slots i < offset*rate/1000 with i ≡ k (mod N): ceil((x - k) / N).
  const x = (offsetMs * totalRate) / 1000;
  return Math.max(0, Math.ceil((x - processIndex) / processCount));
}

/** Splits `total` into `parts` integers that differ by at most one (the
 * first `total % parts` get one more). */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, k) => base + (k < extra ? 1 : 0));
}

/**
 * Source addresses of each process.
 * - Given addresses are dealt round-robin: process k gets addresses
 *   k, k+N, k+2N, ...; when there are fewer addresses than processes,
 *   process k shares address `k mod len`.
 * - None given, one process: none (the kernel picks 127.0.0.1).
 * - None given, several processes and an IPv4 loopback target: process k
 *   binds `127.0.0.(k+1)`. Each (source, destination) pair has its own ~28K
 *   ephemeral ports, so this keeps N processes × up to ~19K connections
 *   (the 20K open-files budget) clear of port exhaustion.
 * - None given, any other target: none.
 */
export function assignSourceAddresses(given: readonly string[] | undefined, processCount: number, targetHost: string): string[][] {
  if (given && given.length > 0) {
    return Array.from({ length: processCount }, (_, k) => {
      if (given.length < processCount) return given.slice(k % given.length, (k % given.length) + 1);
      return given.filter((_, i) => i % processCount === k);
    });
  }
  if (processCount > 1 && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(targetHost)) {
    return Array.from({ length: processCount }, (_, k) => [`127.0.0.${(k % 254) + 1}`]);
  }
  return Array.from({ length: processCount }, () => []);
}
