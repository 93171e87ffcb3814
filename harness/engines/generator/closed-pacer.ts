/**
 * The closed loop: no schedule and no ticker. From the start time every
 * connection sends, and sends again as soon as its response has completed,
 * until the window ends. A request counts when it was sent inside the
 * window, and its latency counts from its actual send time (a closed loop
 * has no intended time). Requests sent inside the window may complete in
 * the drain.
 */
import { monoNowMs } from './clock.js';
import type { Pacer, RunWindow, SendTarget } from './pacer.js';

export class ClosedPacer implements Pacer {
  private window: RunWindow = { startMs: 0, windowStartMs: 0, windowEndMs: 0 };
  /** Fires at the start time. */
  private startTimer: NodeJS.Timeout | undefined;

  start(window: RunWindow, wake: () => void): void {
    this.window = window;
    this.startTimer = setTimeout(wake, Math.max(0, window.startMs - monoNowMs()));
  }

  /** Every idle connection sends now, between the start time and the end of the window. */
  dispatch(now: number, target: SendTarget): void {
    if (now < this.window.startMs || now >= this.window.windowEndMs) return;
    const recorded = now >= this.window.windowStartMs;
    for (let i = target.takeFree(); i >= 0; i = target.takeFree()) target.send(i, now, now, recorded);
  }

  wantsIdleSlot(): boolean {
    return true;
  }

  /** Nothing waits to be sent: only requests in flight hold the drain. */
  drained(): boolean {
    return true;
  }

  close(): void {}

  stop(): void {
    if (this.startTimer) clearTimeout(this.startTimer);
  }

  scheduleReport(): undefined {
    return undefined;
  }
}
