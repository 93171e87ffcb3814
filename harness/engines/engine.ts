/**
 * The load-engine contract. Every engine (the registry, index.ts, lists
 * them) takes a LoadSpec and returns one normalized LoadResult, so
 * scenarios, thresholds and reports never care which engine produced the
 * numbers.
 */

import type { EngineName } from './index.js';

/** Names of engines: the keys of the registry (index.ts); each is one
 * module in harness/engines/. */
export type { EngineName };

/** What to send, how hard and for how long. */
export interface LoadSpec {
  /** Full target URL, e.g. `http://127.0.0.1:8080/echo`. Loopback only. */
  url: string;
  /** HTTP method. Default `GET`. */
  method?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Request body (sent with every request). */
  body?: string;
  /** Keep-alive connections to hold (per spec, summed over processes). */
  connections: number;
  /** Measured window, ms (after warm-up and connection establishment). */
  durationMs: number;
  /** Open loop: target requests/s summed over processes. autocannon and wrk
   * treat it as a rate cap when set; the closed-loop engine rejects it. */
  rate?: number;
  /** Load sent before the measured window and not recorded, ms. Default 0. */
  warmupMs?: number;
  /** Generator processes (open-loop and closed-loop; others use 1). Default 1. */
  processes?: number;
  /** Source addresses to bind, spread over processes (e.g. 127.0.0.2). */
  sourceAddresses?: string[];
  /** Bucket width of the time series, ms. Default 1000. */
  seriesIntervalMs?: number;
  /** A request slower than this counts as a `timeout` error, ms. Default 10000. */
  timeoutMs?: number;
  /** wrk only: threads (`-t`); other engines ignore it. Default: the wrk
   * engine's own choice (half the cores). */
  threads?: number;
  /** Called once per completed series bucket while running (live progress,
   * timelines); must not block. */
  onBucket?: (bucket: SeriesBucket) => void;
}

/** One bucket of the per-interval series. `tMs` is the bucket start relative
 * to the start of the measured window. */
export interface SeriesBucket {
  tMs: number;
  requests: number;
  errors: number;
  bytes: number;
  /** p99 of the requests completed in this bucket, µs; 0 if none. */
  p99Us: number;
}

/** Latency summary in µs, computed from the histogram. */
export interface LatencySummary {
  count: number;
  minUs: number;
  meanUs: number;
  stdevUs: number;
  p50Us: number;
  p75Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  p9999Us: number;
  maxUs: number;
}

/**
 * What one load run measured over its window: the record every engine
 * produces, whatever carries it (a generator process's report over IPC,
 * autocannon's child result, the input of `buildLoadResult`, the
 * LoadResult itself). `H` is how the latency histogram travels: encoded
 * (`string`, JSON) or decoded (a `LatencyHistogram`).
 */
export interface MeasurementRecord<H = string> {
  /** Wall-clock start of the measured window, ms since epoch. */
  startedAtMs: number;
  /** Actual length of the measured window, ms. */
  durationMs: number;
  /** Completed responses (any status). */
  requests: number;
  /** Response bytes received (bodies and headers as the engine counts them). */
  bytes: number;
  /** Errors by kind: `connect`, `timeout`, `reset`, `non2xx`, ... */
  errors: Record<string, number>;
  /** Responses by status code, e.g. `{ "200": 1000 }`. */
  statusCounts: Record<string, number>;
  /** Latency of completed requests, µs: a compressed HDR histogram
   * (hdr-histogram-js, base64) when `H` is `string`. */
  histogram: H;
  /** Connections open at the start of the measured window. */
  connectionsEstablished: number;
  /** Time to establish the connections before the window, ms. */
  connectRampMs: number;
}

/** The normalized result of one load run. Plain JSON data. */
export interface LoadResult extends MeasurementRecord<string> {
  engine: EngineName;
  /** Version of the engine (package or binary). */
  engineVersion: string;
  /** `open`: constant arrival rate, latency from the intended send time.
   * `closed`: each connection waits for its response before sending again. */
  loadModel: 'open' | 'closed';
  /** Smallest latency step the engine can resolve, µs. lbbench records
   * autocannon per response from its hrtime timings, so 1, not its 1 ms. */
  latencyResolutionUs: number;
  spec: {
    url: string;
    method: string;
    connections: number;
    durationMs: number;
    rate?: number;
    processes: number;
  };
  bytesPerSecond: number;
  /** Requests/s achieved over the measured window. */
  achievedRate: number;
  latency: LatencySummary;
  seriesIntervalMs: number;
  series: SeriesBucket[];
  /** Open loop only: sends that left late, and sends dropped because no
   * connection was free (k6's dropped_iterations). */
  schedule?: { late: number; dropped: number; latenessP99Us: number };
  generator: {
    processes: number;
    /** CPU of all generator processes over the window, % of one core (summed). */
    cpuPercent: number;
    /** Highest single-process CPU, % of one core. */
    maxProcessCpuPercent: number;
    /** Event-loop delay p99 of the worst process, ms (Node engines). */
    eventLoopDelayP99Ms?: number;
    /** True when the generator could not keep up; the result is not the server's. */
    saturated: boolean;
    saturatedReason?: string;
  };
}

/**
 * What an engine can do. The registry (index.ts) lists them, the CLI builds
 * its engine choices, help and checks from them, and the shared spec
 * validation (spec.ts) applies them, so no caller lists engines by hand.
 */
export interface EngineCapabilities {
  /** What the engine is for, in at most ~65 characters (one line of
   * `lbbench load --help` beside the name). */
  summary: string;
  /** How the engine takes `LoadSpec.rate`: `required` (the open loop's
   * target arrival rate), `cap` (a closed loop that can cap its rate), or
   * `none` (refused: the engine sends as fast as responses complete). */
  rate: 'required' | 'cap' | 'none';
  /** Whether the engine runs several generator processes
   * (`LoadSpec.processes`); the others run one and ignore `processes`. */
  multiProcess: boolean;
  /** Most connections one generator process holds (its open-files
   * budget); absent: the engine sets no limit of its own. */
  maxConnectionsPerProcess?: number;
  /** Smallest latency step the engine resolves, µs (LoadResult.latencyResolutionUs). */
  latencyResolutionUs: number;
  /** Where latency is counted from: the `intended` send time of the
   * schedule (corrected for coordinated omission) or the `actual` send. */
  latencyFrom: 'intended' | 'actual';
  /** Whether the engine reports series buckets while it runs (`onBucket`, `LoadResult.series`). */
  series: boolean;
  /** Whether the engine takes `LoadSpec.threads`. */
  threads: boolean;
  /** Whether targets must be on loopback (127.0.0.0/8, ::1, localhost). */
  loopbackOnly: boolean;
  /** The external program the engine runs, and how to install it; absent:
   * the engine is embedded and needs nothing beyond `npm ci`. */
  binary?: { name: string; install: string };
}

/** One engine. Implementations live in harness/engines/<name>.ts. */
export interface LoadEngine {
  readonly name: EngineName;
  readonly loadModel: 'open' | 'closed';
  readonly capabilities: EngineCapabilities;
  /** Whether the engine can run here (wrk needs the binary on PATH). */
  available(): Promise<boolean>;
  /** Runs the load; rejects only on bad input or abort. Errors seen on the
   * wire are counted in the result, never thrown. */
  run(spec: LoadSpec, signal?: AbortSignal): Promise<LoadResult>;
}
