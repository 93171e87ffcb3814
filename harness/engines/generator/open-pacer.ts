/**
 * The open schedule (wrk2's model): this process's share of one constant
 * arrival rate shared by all processes (schedule.ts), each request sent at
 * its intended time and its latency counted from that time, however late it
 * leaves.
 *
 * Queueing: a request whose time has come waits for a free connection; its
 * latency still counts from the intended time. It counts as `late` when it
 * leaves more than `lateThresholdUs` after its intended time, and as
 * `dropped` when it waited longer than `timeoutMs` without a free
 * connection (or was still waiting when the drain ended). The delay between
 * an intended time and the moment the loop noticed it is the generator's
 * own lag (`schedulerLagP99Us`, its self-check).
 */
import { createLatencyHistogram, encodeHistogram, recordUs } from '../../result/histogram.js';
import type { Pacer, RunWindow, SendTarget } from './pacer.js';
import type { GeneratorSpec, ScheduleReport } from './protocol.js';
import { intendedOffsetMs, slotsBefore } from './schedule.js';
import { startTicker, type Ticker } from './ticker.js';

export class OpenPacer implements Pacer {
  private startMs = 0;
  /** This process's sends in warm-up and window. */
  private totalSlots = 0;
  /** Index of its first send inside the window. */
  private firstWindowSlot = 0;
  /** Sends whose intended time the loop has seen. */
  private noticed = 0;
  /** Next send to go out (or be dropped). */
  private nextSend = 0;
  private readonly lateness = createLatencyHistogram();
  private readonly schedulerLag = createLatencyHistogram();
  private late = 0;
  private dropped = 0;
  private readonly periodMs: number;
  private readonly lateThresholdMs: number;
  private ticker: Ticker | undefined;

  constructor(private readonly spec: GeneratorSpec) {
    this.periodMs = (1000 * spec.processCount) / spec.totalRate;
    this.lateThresholdMs = spec.lateThresholdUs / 1000;
  }

  start(window: RunWindow, wake: () => void): void {
    const { spec } = this;
    this.startMs = window.startMs;
    this.totalSlots = slotsBefore(spec.warmupMs + spec.durationMs, spec.processIndex, spec.processCount, spec.totalRate);
    this.firstWindowSlot = slotsBefore(spec.warmupMs, spec.processIndex, spec.processCount, spec.totalRate);
    const firstTick = this.startMs + intendedOffsetMs(0, spec.processIndex, spec.processCount, spec.totalRate);
    // Ticks at the send rate, or every few sends when that is faster than minTickUs.
    const tickMs = this.periodMs * Math.max(1, Math.ceil(spec.minTickUs / 1000 / this.periodMs));
    this.ticker = startTicker(spec.ticker, firstTick, tickMs, wake);
  }

  dispatch(now: number, target: SendTarget): void {
    const { spec } = this;
    // Notice every slot whose time has come; the gap is the loop's own lag.
    while (this.noticed < this.totalSlots) {
      const intended = this.intendedMs(this.noticed);
      if (intended > now) break;
      if (this.noticed >= this.firstWindowSlot) recordUs(this.schedulerLag, (now - intended) * 1000);
      this.noticed++;
    }
    while (this.nextSend < this.noticed) {
      const n = this.nextSend;
      const intended = this.intendedMs(n);
      const recorded = n >= this.firstWindowSlot;
      if (now - intended > spec.timeoutMs) {
        if (recorded) this.dropped++;
        this.nextSend++;
        continue;
      }
      const slotIndex = target.takeFree();
      if (slotIndex < 0) break;
      this.nextSend++;
      if (recorded) {
        const latenessMs = now - intended;
        recordUs(this.lateness, latenessMs * 1000);
        if (latenessMs > this.lateThresholdMs) this.late++;
      }
      target.send(slotIndex, intended, now, recorded);
    }
  }

  /** Only when sends are waiting for a connection; otherwise the ticker sends. */
  wantsIdleSlot(): boolean {
    return this.nextSend < this.noticed;
  }

  drained(now: number, drainDeadlineMs: number): boolean {
    if (this.noticed < this.totalSlots) return false;
    return this.nextSend >= this.totalSlots || now >= drainDeadlineMs;
  }

  close(): void {
    // Whatever still waits for a connection after the drain is dropped.
    for (let n = this.nextSend; n < this.totalSlots; n++) if (n >= this.firstWindowSlot) this.dropped++;
    this.nextSend = this.totalSlots;
  }

  stop(): void {
    this.ticker?.stop();
  }

  scheduleReport(): ScheduleReport {
    return {
      latenessHistogram: encodeHistogram(this.lateness),
      late: this.late,
      dropped: this.dropped,
      schedulerLagP99Us: this.schedulerLag.totalCount ? this.schedulerLag.getValueAtPercentile(99) : 0,
    };
  }

  private intendedMs(n: number): number {
    return this.startMs + intendedOffsetMs(n, this.spec.processIndex, this.spec.processCount, this.spec.totalRate);
  }
}
