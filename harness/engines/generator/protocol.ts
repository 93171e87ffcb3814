/**
 * Messages between the generator's parent side (index.ts, run by the
 * open-loop and closed-loop engines) and its generator processes
 * (children, `generator-process.ts`), over the `child_process.fork`
 * IPC channel (JSON serialization). All of it is plain data.
 *
 * Sequence: parent `init` → child connects its share of connections →
 * child `ready` → (all children ready) parent `start` with one shared epoch
 * start time → children send `bucket` messages as series buckets close →
 * child `done` → parent disconnects the child. Parent `stop` (abort) makes a
 * child close its sockets and exit at once; any `fatal` ends the run.
 */

import type { LoadResult, MeasurementRecord } from '../engine.js';
import type { ErrorCodeValue } from '../../../common/error-codes.js';

/** How a generator connects and sends. `net`: raw sockets and a minimal
 * HTTP/1.1 parser (the default: about 1.6x less CPU per request than undici
 * here, see bench/engines.ts). `undici`: one undici `Client` per connection
 * (kept for comparison). */
export type TransportName = 'net' | 'undici';

/** How a generator wakes up to send. `worker`: a worker thread sleeps with
 * sub-millisecond precision (Atomics.wait) and wakes the event loop at each
 * send time (the default; sends leave ~0.1 ms late at p50). `timer`:
 * setTimeout, whole milliseconds (~0.7 ms late at p50, which lands in every
 * latency; less CPU). */
export type TickerName = 'worker' | 'timer';

/** How a generator sends. `open`: at the intended times of the shared
 * constant-rate schedule (the open-loop engine). `closed`: each connection
 * sends its next request as soon as the previous response has completed,
 * with no schedule (the closed-loop engine). */
export type LoadModelName = LoadResult['loadModel'];

/** One generator process's share of a LoadSpec. */
export interface GeneratorSpec {
  mode: LoadModelName;
  /** 0-based index of this process among `processCount`. */
  processIndex: number;
  processCount: number;
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Connections this process holds. */
  connections: number;
  /** Target rate of the whole run (all processes), requests/s. This process
   * sends every `processCount`-th slot of the shared schedule, starting at
   * slot `processIndex`, so the merged arrivals stay evenly spaced.
   * Open mode only; 0 in closed mode. */
  totalRate: number;
  warmupMs: number;
  durationMs: number;
  seriesIntervalMs: number;
  timeoutMs: number;
  /** Source addresses for this process's connections, used round-robin;
   * empty: let the kernel choose. */
  sourceAddresses: string[];
  transport: TransportName;
  ticker: TickerName;
  /** Shortest gap between wake-ups of the send loop, µs; above
   * 1e6 / minTickUs requests/s per process, sends are batched per tick. */
  minTickUs: number;
  /** A send more than this after its intended time counts as late, µs. */
  lateThresholdUs: number;
  /** Connections being established at once. */
  connectConcurrency: number;
  /** Self-check bounds; see GeneratorReport.saturated. */
  maxSchedulerLagP99Us: number;
  maxCpuPercent: number;
}

/** One closed series bucket from one process. */
export interface BucketReport {
  /** 0-based bucket index; the bucket starts at `index * seriesIntervalMs`
   * after the start of the measured window. */
  index: number;
  requests: number;
  errors: number;
  bytes: number;
  /** Encoded µs histogram of this bucket's latencies (exact merge across
   * processes gives the exact merged bucket p99). */
  histogram: string;
}

/** What the open schedule's pacer measured about itself (open-pacer.ts). */
export interface ScheduleReport {
  /** Encoded µs histogram of send lateness (actual − intended send time),
   * including waits for a free connection. */
  latenessHistogram: string;
  /** Sends that left more than `lateThresholdUs` after their intended time. */
  late: number;
  /** Sends dropped: no free connection within `timeoutMs`, or still waiting when the drain ended. */
  dropped: number;
  /** p99 of the delay between a send's intended time and the moment the
   * generator's loop got to it, µs: the generator's own lag, independent of
   * the server. */
  schedulerLagP99Us: number;
}

/**
 * Everything one process measured over the window (the shared record,
 * histogram encoded). `durationMs` is the actual window: from its start
 * (`startedAtMs`) to the later of its planned end and the last recorded
 * completion (or error) of the drain. `histogram` counts latency from the
 * intended send time (closed mode: from the actual send time).
 */
export interface GeneratorReport extends MeasurementRecord<string> {
  processIndex: number;
  /** Requests belonging to the window that were sent. */
  sent: number;
  /** The open schedule's own figures; absent in closed mode (no schedule). */
  schedule?: ScheduleReport;
  /** User+system CPU over the window, % of one core. */
  cpuPercent: number;
  /** Event-loop delay p99 over the window, ms. */
  eventLoopDelayP99Ms: number;
  saturated: boolean;
  saturatedReason?: string;
}

export type ParentMessage = { type: 'init'; spec: GeneratorSpec } | { type: 'start'; startEpochMs: number } | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready'; connectionsEstablished: number; connectRampMs: number }
  | { type: 'bucket'; bucket: BucketReport }
  | { type: 'done'; report: GeneratorReport }
  | { type: 'fatal'; code: ErrorCodeValue; message: string };
