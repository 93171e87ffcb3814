/**
 * What one generator process measures over the window: the latency
 * histogram (µs, from the time the pacer gave each request: the intended
 * send time in open mode, so a server stall shows up as latency and not as
 * missing samples), counts of requests, bytes, statuses and errors, and the
 * series buckets it emits as they close. The pacer decides which requests
 * count; the recorder only adds up those it is given.
 */
import { createLatencyHistogram, encodeHistogram, recordUs, type LatencyHistogram } from '../../result/histogram.js';
import { bucketCount } from '../result-builder.js';
import type { BucketReport, GeneratorReport } from './protocol.js';
import type { ParsedResponse } from './response-parser.js';

/** The counters of the series bucket being filled. */
interface OpenBucket {
  index: number;
  requests: number;
  errors: number;
  bytes: number;
}

/** The recorder's part of a GeneratorReport. */
export type RecordedMeasurements = Pick<GeneratorReport, 'requests' | 'bytes' | 'sent' | 'errors' | 'statusCounts' | 'histogram' | 'durationMs'>;

export class Recorder {
  private readonly histogram = createLatencyHistogram();
  private requests = 0;
  private bytes = 0;
  private sent = 0;
  private readonly errors: Record<string, number> = {};
  private readonly statusCounts: Record<string, number> = {};
  /** Last recorded completion or error, monotonic ms. */
  private lastRecordedMs = 0;
  private readonly bucketCount: number;
  private readonly bucketHistogram: LatencyHistogram = createLatencyHistogram();
  private bucket: OpenBucket = { index: 0, requests: 0, errors: 0, bytes: 0 };
  /** Window start, monotonic ms; buckets close only once it is known. */
  private windowStartMs = 0;
  private active = false;

  constructor(
    private readonly durationMs: number,
    private readonly seriesIntervalMs: number,
    /** Called with each closed series bucket, in order. */
    private readonly onBucket: (b: BucketReport) => void,
  ) {
    this.bucketCount = bucketCount(durationMs, seriesIntervalMs);
  }

  /** Starts bucketing from the window start (monotonic ms). */
  begin(windowStartMs: number): void {
    this.windowStartMs = windowStartMs;
    this.active = true;
  }

  /** Stops closing buckets by time; `finish()` emits the rest. */
  end(): void {
    this.active = false;
  }

  /** A counted request went out. */
  countSent(): void {
    this.sent++;
  }

  /** A counted request's response completed at `now`; latency from `fromMs` (both monotonic ms). */
  recordResponse(fromMs: number, now: number, r: ParsedResponse): void {
    const us = (now - fromMs) * 1000;
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

  /** A counted error of `kind` at `now` (monotonic ms). */
  countError(kind: string, now: number): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.lastRecordedMs = now;
    this.bucketFor(now).errors++;
  }

  /** Emits every bucket that ended before `now`. The last bucket stays open
   * until the drain ends: completions after the window land in it. */
  closeBuckets(now: number): void {
    if (!this.active) return;
    const current = Math.min(this.bucketCount - 1, Math.floor((now - this.windowStartMs) / this.seriesIntervalMs));
    while (this.bucket.index < current) this.emitBucket();
  }

  /** Emits every bucket not yet emitted (so every process sends all of
   * them) and returns the totals. */
  finish(): RecordedMeasurements {
    while (this.bucket.index < this.bucketCount - 1) this.emitBucket();
    if (this.bucket.index === this.bucketCount - 1) this.emitBucket();
    return {
      requests: this.requests,
      bytes: this.bytes,
      sent: this.sent,
      errors: { ...this.errors },
      statusCounts: { ...this.statusCounts },
      histogram: encodeHistogram(this.histogram),
      // A server that falls behind stretches the window: the achieved rate
      // is what completed over the time it really took.
      durationMs: Math.max(this.durationMs, this.lastRecordedMs - this.windowStartMs),
    };
  }

  /** The current bucket for a completion at `now`; closes earlier ones first. */
  private bucketFor(now: number): OpenBucket {
    this.closeBuckets(now);
    return this.bucket;
  }

  private emitBucket(): void {
    const b = this.bucket;
    this.onBucket({ ...b, histogram: encodeHistogram(this.bucketHistogram) });
    this.bucketHistogram.reset();
    this.bucket = { index: b.index + 1, requests: 0, errors: 0, bytes: 0 };
  }
}
