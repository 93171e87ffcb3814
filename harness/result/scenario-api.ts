/**
 * The contract between the run loop (harness/run/, which boots services,
 * samples and reports) and scenario implementations (harness/scenarios/).
 * A scenario receives a ScenarioContext, drives load, and returns a
 * ScenarioOutcome of plain data. Thresholds and rendering happen after it,
 * as pure functions of that data.
 */
import type { LbbenchConfig, LbConfig, ThresholdConfig } from '../../common/config.js';
import type { DeepPartial } from '../../common/objects.js';
import type { EngineName, LoadEngine, LoadResult, LoadSpec } from '../engines/engine.js';

/** Kinds of target; `name` is free, `kind` says what runs. */
export type TargetKind = 'lbbench' | 'nginx' | 'haproxy' | 'command' | 'attach';

/** A target as recorded in the result JSON (`RunResult.targets`). */
export interface TargetSummary {
  name: string;
  kind: TargetKind;
  /** The program's version, e.g. `nginx/1.22.1`, when known. */
  version?: string;
  /** What the report must say about it, e.g. that nginx open source has passive health checks only. */
  notes: string[];
}

/** A text table as data; rendered to the terminal (cli-table3) and Markdown. */
export interface ReportTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

/** A process the harness started. */
export interface ServiceInfo {
  name: string;
  role: 'lb' | 'backend';
  pid: number;
  url: string;
}

/** A parsed Prometheus scrape: metric name -> series. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface PromSnapshot {
  atMs: number;
  samples: PromSample[];
}

/** CPU and memory of one process over one sampling interval. */
export interface ProcessSample {
  atMs: number;
  name: string;
  pid: number;
  /** % of one core over the interval. */
  cpuPercent: number;
  rssBytes: number;
}

/** The running system under test. */
export interface Services {
  /** Balancer base URL, e.g. `http://127.0.0.1:8080`. */
  readonly lbUrl: string;
  /** Balancer metrics URL, e.g. `http://127.0.0.1:9090/metrics`. */
  readonly metricsUrl: string;
  /** Backend base URLs by name, e.g. `backend-8001` -> `http://127.0.0.1:8001`. */
  readonly backends: ReadonlyMap<string, string>;
  /** Current processes (balancer primary and workers, backends). */
  list(): ServiceInfo[];
  /** PIDs of the balancer primary and all its workers (from /proc children). */
  balancerPids(): number[];
  /** SIGKILLs one backend. Resolves once it has exited. */
  killBackend(name: string): Promise<void>;
  /** Starts a killed backend again; resolves once it answers. */
  restartBackend(name: string): Promise<void>;
  /** Restarts the balancer with `overrides` deep-merged into the configured
   * `lb` section (e.g. `{ algorithm: 'random' }`, `{ pool: { keepAlive: false } }`);
   * resolves once it answers. Pass `{}` to restore the configured balancer. */
  restartBalancer(overrides: DeepPartial<LbConfig>): Promise<void>;
}

/** Background sampling of /metrics gauges and /proc CPU and RSS. */
export interface SamplingSession {
  /** Stops sampling and returns what was collected. */
  stop(): Promise<SamplingData>;
}
export interface SamplingData {
  processes: ProcessSample[];
  /** Gauge values over time: metric name (with labels rendered as in
   * Prometheus, e.g. `lb_backend_health{backend="backend-8002"}`) -> points. */
  gauges: Record<string, { atMs: number; value: number }[]>;
}

/** What the run loop hands each scenario. */
export interface ScenarioContext {
  config: LbbenchConfig;
  quick: boolean;
  services: Services;
  /** Returns an engine by name; throws UsageError if unknown or unavailable. */
  engine(name: EngineName): Promise<LoadEngine>;
  /** Runs load and records it in the outcome under `label`. */
  load(label: string, engine: EngineName, spec: LoadSpec): Promise<LoadResult>;
  /** One scrape of the balancer's /metrics. */
  scrape(): Promise<PromSnapshot>;
  /** Starts sampling at `intervalMs` (default harness.sampleIntervalMs).
   * `gauges` are metric names to follow at that period. */
  sample(opts?: { intervalMs?: number; gauges?: string[] }): SamplingSession;
  /** Prints one line to the terminal (guide-format output). Also kept in the report. */
  log(line: string): void;
  /** Aborted on Ctrl-C; pass it to engines and waits. */
  signal: AbortSignal;
  /** Name of the target on the balancer's address (`lbbench`, `nginx`, ...),
   * for labels such as a latency curve's. Default `lbbench`. */
  target?: string;
}

/** What a scenario returns; plain JSON data. */
export interface ScenarioOutcome {
  /** Flat measured values with units in their names (`p99_ms_c1000`,
   * `bytes_per_second`); thresholds refer to these keys. */
  metrics: Record<string, number>;
  tables: ReportTable[];
  /** Reasons the run cannot be trusted; non-empty means INVALID (exit 3). */
  invalidReasons: string[];
  /** Anything else worth keeping in the JSON (timelines, spectra, events). */
  details: Record<string, unknown>;
  /** Metric name -> why the current target cannot provide it (e.g.
   * `detection_ms`: "nginx open source has no health gauge"). A threshold on
   * such a metric is judged N/A with that reason instead of INVALID. */
  unavailable?: Record<string, string>;
  /** Metric name -> what the runner found wrong behind its value (e.g.
   * `connections_served`: "50000 reached but not served: p99 11207 ms >
   * 1000 ms"). A FAIL verdict on that metric carries it as its reason. */
  findings?: Record<string, string>;
}

/**
 * - EXCELLENT, PASS, FAIL: the (median) value against the target.
 * - NOISY: judged over repeats, the middle half of the repeats (q1..q3)
 *   straddles the target: neither PASS nor FAIL (exit 0 with a warning,
 *   exit 1 with `--noisy-fails`).
 * - N/A: not judged; `reason` says why (the target cannot measure it, or an
 *   `optional: true` threshold whose metric was not measured). A gated
 *   threshold whose metric is missing is N/A too, and makes the scenario
 *   INVALID (exit 3).
 * - SKIP: only in schema-1 results (the metric was absent); counts as INVALID.
 */
export type VerdictLevel = 'EXCELLENT' | 'PASS' | 'FAIL' | 'NOISY' | 'N/A' | 'SKIP';

export interface Verdict {
  scenario: string;
  name: string;
  target: string;
  excellent?: string;
  /** The measured value, absent when the metric was not produced (SKIP). */
  measured?: number;
  metric: string;
  verdict: VerdictLevel;
  /** Why the verdict is N/A or NOISY, e.g. `not measured`, or the spread. */
  reason?: string;
}

/** Spread of one metric over a scenario's repeats. `cv` is the coefficient
 * of variation (sample standard deviation / mean; 0 when the mean is 0);
 * quartiles by linear interpolation (R type 7, numpy's default). */
export interface MetricStats {
  n: number;
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  iqr: number;
  cv: number;
}

/** One repeat's raw data, kept in `ScenarioResult.repeats`. */
export interface RepeatData {
  loads: { label: string; result: LoadResult }[];
  lines: string[];
  metrics: Record<string, number>;
  details: Record<string, unknown>;
}

/** The scenario's part of the result JSON. */
export interface ScenarioResult extends ScenarioOutcome {
  name: string;
  /** The target it ran against (`RunResult.targets[].name`); absent in
   * schema-1 results, which mean `lbbench`. */
  target?: string;
  description: string;
  status: 'ok' | 'invalid' | 'error' | 'interrupted';
  /** Error message when status is `error`. */
  error?: string;
  settings: Record<string, unknown>;
  thresholds: ThresholdConfig[];
  verdicts: Verdict[];
  startedAt: string;
  durationMs: number;
  /** Log lines printed during the scenario, in order. */
  lines: string[];
  /** Every load run, by label. */
  loads: { label: string; result: LoadResult }[];
  sampling?: SamplingData;
  /** With `--repeat N` (N > 1): every repeat's value of every metric, in run
   * order; `metrics` then holds the medians. */
  samples?: Record<string, number[]>;
  /** With `--repeat N` (N > 1): the spread of each metric over the repeats. */
  stats?: Record<string, MetricStats>;
  /** With `--repeat N` (N > 1): each repeat's raw data, in run order. */
  repeats?: RepeatData[];
}

/** The whole `reports/<run-id>.json`. */
export interface RunResult {
  /** 2 since round 2 (repeats, targets, N/A and NOISY); 1 files still render. */
  schemaVersion: 1 | 2;
  /** Repeats of every scenario (`--repeat N`). Default 1. */
  repeat?: number;
  runId: string;
  startedAt: string;
  finishedAt: string;
  /** The command line, e.g. `lbbench run all --quick`. */
  command: string;
  profile: 'quick' | 'full';
  thresholdProfile?: string;
  /** True when Ctrl-C stopped the run before all scenarios finished. */
  interrupted: boolean;
  environment: Environment;
  /** The targets of the run, in `--targets` order; absent in schema 1 (lbbench only). */
  targets?: TargetSummary[];
  /** Ordered by scenario, then target. */
  scenarios: ScenarioResult[];
  /** The final summary table rows: the guide's five first. */
  summary: Verdict[];
  /** With several targets: one comparison table per scenario, then the
   * guide's five targets by target (harness/report/comparison.ts). */
  comparisons?: ReportTable[];
  exitCode: number;
}

export interface Environment {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  platform: string;
  node: string;
  lbbench: string;
  engines: Record<string, string>;
  gitCommit?: string;
  hostname: string;
}
