/**
 * One generator: holds its connections and sends its share of the open-loop
 * schedule, measuring latency from each request's *intended* send time (so a
 * server stall shows up as latency, not as missing samples). Runs inside a
 * generator process (generator-process.ts); everything here is in-process.
 *
 * Phases: `connect()` opens every connection and primes it with one
 * unrecorded request (so a slowly-accepting server has really accepted it);
 * `run(startEpochMs)` sends warm-up then the measured window, drains, and
 * returns the report.
 *
 * Queueing (wrk2 style): a request whose time has come waits for a free
 * connection; its latency still counts from the intended time. It counts as
 * `late` when it leaves more than `lateThresholdUs` after its intended time,
 * and as `dropped` when it waited longer than `timeoutMs` without a free
 * connection (or was still waiting when the drain ended).
 *
 * Closed mode (`spec.mode === 'closed'`, the closed-loop engine): no
 * schedule and no ticker. From the start time every connection sends, and
 * sends again as soon as its response has completed, until the window ends;
 * latency counts from the actual send time, and a request belongs to the
 * window when it was sent inside it. Connect, priming, reconnects, timeouts,
 * buckets and the drain are shared with open mode.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  createLatencyHistogram,
  encodeHistogram,
  recordUs,
  type LatencyHistogram,
} from '../../result/histogram.js';
import { bucketCount } from '../result-builder.js';
import { epochToMonoMs, monoNowMs } from './clock.js';
import type { BucketReport, GeneratorReport, GeneratorSpec } from './protocol.js';
import type { ParsedResponse } from './response-parser.js';
import { intendedOffsetMs, slotsBefore } from './schedule.js';
import { startTicker, type Ticker } from './ticker.js';
import type { Connection, ConnectionEvents, ConnectionFactory, RequestFailure } from './transport.js';

/** Housekeeping period (timeouts, closing series buckets), ms. */
const HOUSEKEEPING_MS = 20;
/** Reconnect backoff after a failed or closed connection, ms: first, cap. */
const RECONNECT_FIRST_MS = 50;
const RECONNECT_MAX_MS = 1000;

/** Per-slot state of the request on a connection. */
interface Slot {
  conn: Connection | undefined;
  open: boolean;
  busy: boolean;
  /** Intended send time of the request in flight, monotonic ms. */
  intendedMs: number;
  sentMs: number;
  /** The request in flight belongs to the measured window. */
  recorded: boolean;
  /** Consecutive failed connects, for backoff. */
  failures: number;
  reconnectTimer: NodeJS.Timeout | undefined;
  /** The request in flight is the unrecorded primer of connect(). */
  priming: boolean;
  /** connect() is done with this slot (primed or failed). */
  settled: boolean;
}

export class Generator {
  private readonly slots: Slot[];
  /** FIFO of idle open slots, so use rotates over every connection. */
  private free: number[] = [];
  private freeHead = 0;
  private stopped = false;
  private running = false;

  // Schedule, monotonic ms.
  private startMs = 0;
  private windowStartMs = 0;
  private windowEndMs = 0;
  private totalSlots = 0;
  private firstWindowSlot = 0;
  private noticed = 0;
  private nextSend = 0;
  private inFlight = 0;

  // Measurements.
  private readonly histogram = createLatencyHistogram();
  private readonly lateness = createLatencyHistogram();
  private readonly schedulerLag = createLatencyHistogram();
  private requests = 0;
  private bytes = 0;
  /** Last recorded completion or error, monotonic ms. */
  private lastRecordedMs = 0;
  private sent = 0;
  private late = 0;
  private dropped = 0;
  private readonly errors: Record<string, number> = {};
  private readonly statusCounts: Record<string, number> = {};
  private readonly bucketCount: number;
  private readonly bucketHistogram: LatencyHistogram = createLatencyHistogram();
  private bucket = { index: 0, requests: 0, errors: 0, bytes: 0 };

  private readonly periodMs: number;
  private readonly lateThresholdMs: number;
  private readonly events: ConnectionEvents;
  private ticker: Ticker | undefined;
  /** Closed mode: fires at the start time. */
  private startTimer: NodeJS.Timeout | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private finish: (() => void) | undefined;
  private connectWaiter: (() => void) | undefined;
  private established = 0;
  private connectRampMs = 0;

  constructor(
    private readonly spec: GeneratorSpec,
    private readonly factory: ConnectionFactory,
    /** Called with each closed series bucket, in order. */
    private readonly onBucket: (b: BucketReport) => void,
  ) {
    this.periodMs = spec.mode === 'open' ? (1000 * spec.processCount) / spec.totalRate : 0;
    this.lateThresholdMs = spec.lateThresholdUs / 1000;
    this.bucketCount = bucketCount(spec.durationMs, spec.seriesIntervalMs);
    this.slots = Array.from({ length: spec.connections }, () => ({
      conn: undefined,
      open: false,
      busy: false,
      intendedMs: 0,
      sentMs: 0,
      recorded: false,
      failures: 0,
      reconnectTimer: undefined,
      priming: false,
      settled: false,
    }));
    this.events = {
      onOpen: (c) => this.handleOpen(c),
      onResponse: (c, r) => this.handleResponse(c, r),
      onRequestFailed: (c, kind) => this.handleRequestFailed(c, kind),
      onConnectFailed: (c) => this.handleConnectFailed(c),
      onClosed: (c) => this.handleClosed(c),
    };
  }

  /**
   * Opens and primes every connection, at most `connectConcurrency` at a
   * time. Resolves with how many are open and primed, and how long it took.
   * Connections that failed are retried later, during the run.
   */
  async connect(): Promise<{ connectionsEstablished: number; connectRampMs: number }> {
    const t0 = monoNowMs();
    const deadline = t0 + Math.max(this.spec.timeoutMs, 5000) + this.spec.connections * 2;
    let next = 0;
    let pending = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        if (this.stopped) return resolve();
        while (next < this.slots.length && pending < this.spec.connectConcurrency) {
          pending++;
          this.openSlot(next++);
        }
        if (next >= this.slots.length && pending === 0) resolve();
      };
      // Each slot reports back once: primed, or failed.
      this.connectWaiter = () => {
        pending--;
        pump();
      };
      const guard = setTimeout(() => resolve(), Math.max(0, deadline - t0));
      guard.unref();
      pump();
    });
    this.connectWaiter = undefined;
    this.connectRampMs = monoNowMs() - t0;
    return { connectionsEstablished: this.established, connectRampMs: this.connectRampMs };
  }

  /** Sends warm-up and window from `startEpochMs` (ms since the epoch); resolves with the report. */
  run(startEpochMs: number): Promise<GeneratorReport> {
    const { spec } = this;
    this.running = true;
    this.startMs = epochToMonoMs(startEpochMs);
    this.windowStartMs = this.startMs + spec.warmupMs;
    this.windowEndMs = this.windowStartMs + spec.durationMs;
    if (spec.mode === 'open') {
      this.totalSlots = slotsBefore(spec.warmupMs + spec.durationMs, spec.processIndex, spec.processCount, spec.totalRate);
      this.firstWindowSlot = slotsBefore(spec.warmupMs, spec.processIndex, spec.processCount, spec.totalRate);
    }

    let cpuAtWindowStart: NodeJS.CpuUsage | undefined;
    let cpuStartMs = 0;
    let cpuPercent = 0;
    const windowStartEpochMs = startEpochMs + spec.warmupMs;
    const eld = monitorEventLoopDelay({ resolution: 10 });
    let eldP99Ms = 0;
    let windowClosed = false;

    return new Promise<GeneratorReport>((resolve) => {
      this.finish = () => {
        if (!windowClosed) {
          // Stopped early: take the measurements as they are.
          windowClosed = true;
          if (cpuAtWindowStart) cpuPercent = cpuPercentSince(cpuAtWindowStart, monoNowMs() - cpuStartMs);
          eld.disable();
          eldP99Ms = eld.percentile(99) / 1e6;
        }
        this.teardown();
        eld.disable();
        resolve(this.report(cpuPercent, eldP99Ms, windowStartEpochMs));
      };
      // Slots that failed during connect() are retried now, as in the run.
      this.slots.forEach((slot, i) => {
        if (!slot.conn && !slot.reconnectTimer) this.openSlot(i);
      });
      if (spec.mode === 'open') {
        const firstTick = this.startMs + intendedOffsetMs(0, spec.processIndex, spec.processCount, spec.totalRate);
        const tickMs = this.periodMs * Math.max(1, Math.ceil(spec.minTickUs / 1000 / this.periodMs));
        this.ticker = startTicker(spec.ticker, firstTick, tickMs, () => this.dispatch());
      } else {
        this.startTimer = setTimeout(() => this.dispatch(), Math.max(0, this.startMs - monoNowMs()));
      }
      this.housekeeping = setInterval(() => {
        const now = monoNowMs();
        if (!cpuAtWindowStart && now >= this.windowStartMs) {
          cpuAtWindowStart = process.cpuUsage();
          cpuStartMs = now;
          eld.enable();
        }
        if (!windowClosed && now >= this.windowEndMs) {
          windowClosed = true;
          if (cpuAtWindowStart) cpuPercent = cpuPercentSince(cpuAtWindowStart, now - cpuStartMs);
          eld.disable();
          eldP99Ms = eld.percentile(99) / 1e6;
        }
        this.checkTimeouts(now);
        this.closeBuckets(now);
        this.dispatch();
        this.maybeFinish(now);
      }, HOUSEKEEPING_MS);
      this.dispatch();
    });
  }

  /** Stops at once: closes every connection; a running `run` resolves with what it has. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.finish) this.finish();
    else this.teardown();
  }

  // ---- sending ----

  private dispatch(): void {
    if (!this.running || this.stopped) return;
    const now = monoNowMs();
    if (this.spec.mode === 'closed') return this.dispatchClosed(now);
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
      const slotIndex = this.takeFree();
      if (slotIndex < 0) break;
      this.nextSend++;
      if (recorded) {
        const latenessMs = now - intended;
        recordUs(this.lateness, latenessMs * 1000);
        if (latenessMs > this.lateThresholdMs) this.late++;
      }
      this.sendOn(slotIndex, intended, now, recorded);
    }
  }

  /** Closed mode: every idle connection sends now, between the start time
   * and the end of the window. */
  private dispatchClosed(now: number): void {
    if (now < this.startMs || now >= this.windowEndMs) return;
    const recorded = now >= this.windowStartMs;
    for (let i = this.takeFree(); i >= 0; i = this.takeFree()) this.sendOn(i, now, now, recorded);
  }

  /** Sends the request on idle slot `i`; latency will count from `intendedMs`. */
  private sendOn(i: number, intendedMs: number, now: number, recorded: boolean): void {
    const slot = this.slots[i]!;
    slot.busy = true;
    slot.intendedMs = intendedMs;
    slot.sentMs = now;
    slot.recorded = recorded;
    this.inFlight++;
    if (recorded) this.sent++;
    slot.conn!.send();
  }

  private intendedMs(n: number): number {
    return this.startMs + intendedOffsetMs(n, this.spec.processIndex, this.spec.processCount, this.spec.totalRate);
  }

  private takeFree(): number {
    while (this.freeHead < this.free.length) {
      const i = this.free[this.freeHead++]!;
      if (this.freeHead > 1024 && this.freeHead * 2 > this.free.length) {
        this.free = this.free.slice(this.freeHead);
        this.freeHead = 0;
      }
      const s = this.slots[i]!;
      // A slot may have closed while it sat in the queue.
      if (s.open && !s.busy) return i;
    }
    return -1;
  }

  // ---- connection events ----

  private openSlot(i: number): void {
    const slot = this.slots[i]!;
    slot.open = false;
    slot.busy = false;
    const addrs = this.spec.sourceAddresses;
    slot.conn = this.factory(i, addrs.length ? addrs[i % addrs.length] : undefined, this.events);
    slot.conn.connect();
  }

  private handleOpen(c: Connection): void {
    const slot = this.slots[c.slot]!;
    if (slot.conn !== c) return;
    slot.open = true;
    if (this.connectWaiter && !slot.settled) {
      // Prime: one unrecorded request proves the server accepted the
      // connection (a busy Node server leaves it in the accept queue).
      slot.priming = true;
      slot.busy = true;
      slot.sentMs = monoNowMs();
      c.send();
      return;
    }
    slot.failures = 0;
    this.release(c.slot);
  }

  private handleResponse(c: Connection, r: ParsedResponse): void {
    const slot = this.slots[c.slot]!;
    if (slot.conn !== c || !slot.busy) return;
    slot.busy = false;
    slot.failures = 0;
    if (slot.priming) {
      slot.priming = false;
      if (this.connectWaiter && !slot.settled) {
        slot.settled = true;
        this.established++;
        this.connectWaiter();
      }
      if (r.close) slot.open = false;
      else this.release(c.slot);
      return;
    }
    this.inFlight--;
    if (slot.recorded) {
      const now = monoNowMs();
      const us = (now - slot.intendedMs) * 1000;
      recordUs(this.histogram, us);
      const b = this.bucketFor(now);
      this.lastRecordedMs = now;
      recordUs(this.bucketHistogram, us);
      b.requests++;
      b.bytes += r.bytes;
      this.requests++;
      this.bytes += r.bytes;
      const code = String(r.status);
      this.statusCounts[code] = (this.statusCounts[code] ?? 0) + 1;
      if (r.status < 200 || r.status >= 300) {
        // Non-2xx responses count under `non2xx` as well as by status.
        this.errors['non2xx'] = (this.errors['non2xx'] ?? 0) + 1;
        b.errors++;
      }
    }
    if (r.close) slot.open = false;
    else this.release(c.slot);
  }

  private handleRequestFailed(c: Connection, kind: RequestFailure): void {
    const slot = this.slots[c.slot]!;
    if (slot.conn !== c || !slot.busy) return;
    slot.busy = false;
    slot.open = false;
    if (slot.priming) {
      slot.priming = false;
      return;
    }
    this.inFlight--;
    if (slot.recorded) this.countError(kind);
  }

  private handleConnectFailed(c: Connection): void {
    const slot = this.slots[c.slot]!;
    if (slot.conn !== c) return;
    slot.failures++;
    if (this.running && monoNowMs() >= this.windowStartMs) this.countError('connect');
  }

  private handleClosed(c: Connection): void {
    const slot = this.slots[c.slot]!;
    if (slot.conn !== c) return;
    if (slot.busy && !slot.priming) this.inFlight--;
    slot.busy = false;
    slot.priming = false;
    slot.open = false;
    slot.conn = undefined;
    if (this.connectWaiter && !slot.settled) {
      // Failed while connecting or priming: not established; run() retries it.
      slot.settled = true;
      slot.failures++;
      this.connectWaiter();
      return;
    }
    if (this.stopped) return;
    // Keep the slot populated: a server closing idle keep-alive connections
    // or a failed connect must not shrink the connection count.
    const delay = slot.failures === 0 ? 0 : Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** (slot.failures - 1));
    slot.reconnectTimer = setTimeout(() => {
      slot.reconnectTimer = undefined;
      if (!this.stopped && !slot.conn) this.openSlot(c.slot);
    }, delay);
  }

  private release(i: number): void {
    this.free.push(i);
    if (this.spec.mode === 'closed' || this.nextSend < this.noticed) this.dispatch();
  }

  private countError(kind: string): void {
    const now = monoNowMs();
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.lastRecordedMs = now;
    this.bucketFor(now).errors++;
  }

  // ---- housekeeping ----

  private checkTimeouts(now: number): void {
    const limit = this.spec.timeoutMs;
    for (const slot of this.slots) {
      if (slot.busy && slot.conn && now - slot.sentMs > limit) slot.conn.abort('timeout');
    }
  }

  /** The current bucket for a completion at `now`; closes earlier ones first. */
  private bucketFor(now: number): { requests: number; errors: number; bytes: number } {
    this.closeBuckets(now);
    return this.bucket;
  }

  /** Emits every bucket that ended before `now`. The last bucket stays open
   * until the drain ends: completions after the window land in it. */
  private closeBuckets(now: number): void {
    if (!this.running) return;
    const current = Math.min(this.bucketCount - 1, Math.floor((now - this.windowStartMs) / this.spec.seriesIntervalMs));
    while (this.bucket.index < current) this.emitBucket();
  }

  private emitBucket(): void {
    const b = this.bucket;
    this.onBucket({ ...b, histogram: encodeHistogram(this.bucketHistogram) });
    this.bucketHistogram.reset();
    this.bucket = { index: b.index + 1, requests: 0, errors: 0, bytes: 0 };
  }

  private maybeFinish(now: number): void {
    if (now < this.windowEndMs) return;
    const drainDeadline = this.windowEndMs + this.spec.timeoutMs + 2 * HOUSEKEEPING_MS;
    if (this.spec.mode === 'closed') {
      // Requests sent inside the window may complete in the drain.
      if (this.inFlight > 0 && now < drainDeadline) return;
      this.finish?.();
      return;
    }
    if (this.noticed < this.totalSlots) return;
    if (this.nextSend < this.totalSlots && now < drainDeadline) return;
    if (this.inFlight > 0 && now < drainDeadline) return;
    // Whatever still waits for a connection after the drain is dropped.
    for (let n = this.nextSend; n < this.totalSlots; n++) if (n >= this.firstWindowSlot) this.dropped++;
    this.nextSend = this.totalSlots;
    this.finish?.();
  }

  private teardown(): void {
    this.running = false;
    this.stopped = true;
    this.ticker?.stop();
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.housekeeping) clearInterval(this.housekeeping);
    for (const slot of this.slots) {
      if (slot.reconnectTimer) clearTimeout(slot.reconnectTimer);
      slot.conn?.abort();
    }
  }

  private report(cpuPercent: number, eldP99Ms: number, windowStartEpochMs: number): GeneratorReport {
    const { spec } = this;
    // Close the remaining buckets so every process sends all of them.
    while (this.bucket.index < this.bucketCount - 1) this.emitBucket();
    if (this.bucket.index === this.bucketCount - 1) this.emitBucket();
    const lagP99Us = this.schedulerLag.totalCount ? this.schedulerLag.getValueAtPercentile(99) : 0;
    const reasons: string[] = [];
    if (lagP99Us > spec.maxSchedulerLagP99Us) {
      reasons.push(`process ${spec.processIndex}: send-loop lag p99 ${(lagP99Us / 1000).toFixed(1)} ms > ${(spec.maxSchedulerLagP99Us / 1000).toFixed(1)} ms`);
    }
    if (cpuPercent > spec.maxCpuPercent) {
      reasons.push(`process ${spec.processIndex}: CPU ${cpuPercent.toFixed(0)}% of a core > ${spec.maxCpuPercent}%`);
    }
    const report: GeneratorReport = {
      processIndex: spec.processIndex,
      requests: this.requests,
      bytes: this.bytes,
      sent: this.sent,
      errors: { ...this.errors },
      statusCounts: { ...this.statusCounts },
      histogram: encodeHistogram(this.histogram),
      latenessHistogram: encodeHistogram(this.lateness),
      late: this.late,
      dropped: this.dropped,
      schedulerLagP99Us: lagP99Us,
      cpuPercent,
      eventLoopDelayP99Ms: eldP99Ms,
      // A server that falls behind stretches the window: the achieved rate
      // is what completed over the time it really took.
      windowMs: Math.max(spec.durationMs, this.lastRecordedMs - this.windowStartMs),
      windowStartEpochMs,
      connectionsEstablished: this.established,
      connectRampMs: this.connectRampMs,
      saturated: reasons.length > 0,
    };
    if (reasons.length) report.saturatedReason = reasons.join('; ');
    return report;
  }
}

function cpuPercentSince(start: NodeJS.CpuUsage, elapsedMs: number): number {
  const d = process.cpuUsage(start);
  return elapsedMs > 0 ? ((d.user + d.system) / 1000 / elapsedMs) * 100 : 0;
}
