/**
 * The retry budget of one worker, Envoy's way: concurrent retries may be at
 * most max(`minConcurrency`, `budgetPercent` % of the active requests), so an
 * outage of every backend cannot multiply the load on the service. A
 * request holds at most one place from its first budgeted retry until it
 * ends. No clock, no I/O: the exchange asks and gives back.
 */

/** Concurrent retries and active requests of one process. */
export class RetryBudget {
  /** Requests in progress (counted from arrival to their end). */
  active = 0;
  /** Requests holding a retry place. */
  retrying = 0;

  /**
   * Takes a retry place when the budget allows one: `retrying` <
   * max(`minConcurrency`, floor(`budgetPercent` / 100 x `active`)). Returns
   * whether it was taken; the caller gives it back with release().
   */
  tryAcquire(budgetPercent: number, minConcurrency: number): boolean {
    const allowed = Math.max(minConcurrency, Math.floor((budgetPercent * this.active) / 100));
    if (this.retrying >= allowed) return false;
    this.retrying++;
    return true;
  }

  /** Gives back a place taken by tryAcquire. */
  release(): void {
    this.retrying--;
  }
}
