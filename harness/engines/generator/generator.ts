/**
 * One generator: a slot pool (the connections), a pacer (when to send and
 * which requests count: the open schedule or the closed loop) and a
 * recorder (what counted), run inside a generator process
 * (generator-process.ts); everything here is in-process.
 *
 * Phases: `connect()` opens every connection and primes it with one
 * unrecorded request (so a slowly-accepting server has really accepted it);
 * `run(startEpochMs)` sends warm-up then the measured window, drains, and
 * returns the report. Connect, priming, reconnects, timeouts, buckets, the
 * drain and the self-check are the same for every pacer.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { epochToMonoMs, monoNowMs } from './clock.js';
import type { Pacer, RunWindow, SendTarget } from './pacer.js';
import type { BucketReport, GeneratorReport, GeneratorSpec } from './protocol.js';
import { Recorder } from './recorder.js';
import { SlotPool } from './slot-pool.js';
import type { ConnectionFactory } from './transport.js';

/** Housekeeping period (timeouts, closing series buckets), ms. */
const HOUSEKEEPING_MS = 20;

export class Generator {
  private readonly pool: SlotPool;
  private readonly recorder: Recorder;
  private readonly target: SendTarget;
  private stopped = false;
  private running = false;
  private window: RunWindow = { startMs: 0, windowStartMs: 0, windowEndMs: 0 };
  private housekeeping: NodeJS.Timeout | undefined;
  private finish: (() => void) | undefined;
  private connectRampMs = 0;

  constructor(
    private readonly spec: GeneratorSpec,
    factory: ConnectionFactory,
    private readonly pacer: Pacer,
    /** Called with each closed series bucket, in order. */
    onBucket: (b: BucketReport) => void,
  ) {
    this.recorder = new Recorder(spec.durationMs, spec.seriesIntervalMs, onBucket);
    this.pool = new SlotPool(spec, factory, {
      onIdle: () => {
        if (this.pacer.wantsIdleSlot()) this.dispatch();
      },
      onResponse: (intendedMs, r) => this.recorder.recordResponse(intendedMs, monoNowMs(), r),
      onRequestFailed: (kind) => this.recorder.countError(kind, monoNowMs()),
      onConnectFailed: () => {
        const now = monoNowMs();
        if (this.running && now >= this.window.windowStartMs) this.recorder.countError('connect', now);
      },
    });
    this.target = {
      takeFree: () => this.pool.takeFree(),
      send: (i, intendedMs, now, recorded) => {
        if (recorded) this.recorder.countSent();
        this.pool.send(i, intendedMs, now, recorded);
      },
    };
  }

  /**
   * Opens and primes every connection, at most `connectConcurrency` at a
   * time. Resolves with how many are open and primed, and how long it took.
   * Connections that failed are retried later, during the run.
   */
  async connect(): Promise<{ connectionsEstablished: number; connectRampMs: number }> {
    const ready = await this.pool.connect();
    this.connectRampMs = ready.connectRampMs;
    return ready;
  }

  /** Sends warm-up and window from `startEpochMs` (ms since the epoch); resolves with the report. */
  run(startEpochMs: number): Promise<GeneratorReport> {
    const { spec } = this;
    this.running = true;
    const startMs = epochToMonoMs(startEpochMs);
    this.window = { startMs, windowStartMs: startMs + spec.warmupMs, windowEndMs: startMs + spec.warmupMs + spec.durationMs };
    this.recorder.begin(this.window.windowStartMs);

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
      this.pool.reopenFailed();
      this.pacer.start(this.window, () => this.dispatch());
      this.housekeeping = setInterval(() => {
        const now = monoNowMs();
        if (!cpuAtWindowStart && now >= this.window.windowStartMs) {
          cpuAtWindowStart = process.cpuUsage();
          cpuStartMs = now;
          eld.enable();
        }
        if (!windowClosed && now >= this.window.windowEndMs) {
          windowClosed = true;
          if (cpuAtWindowStart) cpuPercent = cpuPercentSince(cpuAtWindowStart, now - cpuStartMs);
          eld.disable();
          eldP99Ms = eld.percentile(99) / 1e6;
        }
        this.pool.checkTimeouts(now);
        this.recorder.closeBuckets(now);
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

  private dispatch(): void {
    if (!this.running || this.stopped) return;
    this.pacer.dispatch(monoNowMs(), this.target);
  }

  /** Ends the run once the window is over and the pacer and the connections
   * have drained, or the drain deadline passed. */
  private maybeFinish(now: number): void {
    if (now < this.window.windowEndMs) return;
    const drainDeadline = this.window.windowEndMs + this.spec.timeoutMs + 2 * HOUSEKEEPING_MS;
    if (!this.pacer.drained(now, drainDeadline)) return;
    if (this.pool.inFlight > 0 && now < drainDeadline) return;
    this.pacer.close();
    this.finish?.();
  }

  private teardown(): void {
    this.running = false;
    this.stopped = true;
    this.recorder.end();
    this.pacer.stop();
    if (this.housekeeping) clearInterval(this.housekeeping);
    this.pool.close();
  }

  private report(cpuPercent: number, eldP99Ms: number, windowStartEpochMs: number): GeneratorReport {
    const { spec } = this;
    const measured = this.recorder.finish();
    const schedule = this.pacer.scheduleReport();
    const lagP99Us = schedule?.schedulerLagP99Us ?? 0;
    const reasons: string[] = [];
    if (lagP99Us > spec.maxSchedulerLagP99Us) {
      reasons.push(`process ${spec.processIndex}: send-loop lag p99 ${(lagP99Us / 1000).toFixed(1)} ms > ${(spec.maxSchedulerLagP99Us / 1000).toFixed(1)} ms`);
    }
    if (cpuPercent > spec.maxCpuPercent) {
      reasons.push(`process ${spec.processIndex}: CPU ${cpuPercent.toFixed(0)}% of a core > ${spec.maxCpuPercent}%`);
    }
    const report: GeneratorReport = {
      processIndex: spec.processIndex,
      startedAtMs: windowStartEpochMs,
      ...measured,
      connectionsEstablished: this.pool.established,
      connectRampMs: this.connectRampMs,
      ...(schedule === undefined ? {} : { schedule }),
      cpuPercent,
      eventLoopDelayP99Ms: eldP99Ms,
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
