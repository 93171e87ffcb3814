/**
 * The up/down state of one backend, driven by consecutive check results as
 * in HAProxy's rise/fall and Pingora's `health_check.rs`: an up backend goes
 * down after `fall` failures in a row, a down one comes up after `rise`
 * successes in a row. A backend starts up, so traffic flows before the first
 * check. Pure: no clock, no I/O.
 */
export class HealthState {
  /** Consecutive successes needed to go from down to up; integer >= 1. */
  readonly rise: number;
  /** Consecutive failures needed to go from up to down; integer >= 1. */
  readonly fall: number;
  private isUp = true;
  /** Consecutive results that argue for flipping the state. */
  private streak = 0;

  constructor(rise: number, fall: number) {
    this.rise = Math.max(1, Math.floor(rise));
    this.fall = Math.max(1, Math.floor(fall));
  }

  /** True while the backend is considered healthy. */
  get up(): boolean {
    return this.isUp;
  }

  /** Consecutive results seen toward the next flip (failures while up,
   * successes while down). */
  get consecutive(): number {
    return this.streak;
  }

  /** Records a passed check. @returns true when this made the backend up. */
  recordSuccess(): boolean {
    if (this.isUp) {
      this.streak = 0;
      return false;
    }
    if (++this.streak < this.rise) return false;
    this.isUp = true;
    this.streak = 0;
    return true;
  }

  /** Records a failed check. @returns true when this made the backend down. */
  recordFailure(): boolean {
    if (!this.isUp) {
      this.streak = 0;
      return false;
    }
    if (++this.streak < this.fall) return false;
    this.isUp = false;
    this.streak = 0;
    return true;
  }

  /**
   * Marks the backend down at once (passive: a refused or reset connection).
   * A down backend restarts its count of successes toward `rise`.
   * @returns true when the backend was up.
   */
  markDown(): boolean {
    this.streak = 0;
    if (!this.isUp) return false;
    this.isUp = false;
    return true;
  }

  /**
   * Marks the backend up at once (no active checks to wait for).
   * @returns true when the backend was down.
   */
  markUp(): boolean {
    this.streak = 0;
    if (this.isUp) return false;
    this.isUp = true;
    return true;
  }
}
