/**
 * The `open-loop` load engine: a constant arrival rate spread evenly in time
 * over keep-alive connections, latency measured in µs from each request's
 * intended send time (wrk2's model), run in one or more generator child
 * processes whose histograms and counters merge exactly.
 *
 * This module is the parent side. It stays nearly idle while load runs: it
 * forks the generators (always, even for one process, so the harness's own
 * event loop and open-files budget are never the generator's), hands each
 * its share, starts them together, merges their series buckets live and
 * their reports at the end, and kills them on abort or when they overrun.
 *
 * The closed-loop engine (../closed-loop.ts) runs through the same parent
 * and the same generator processes in their closed mode (`runGenerators`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidRunError, UsageError } from '../../../common/errors.js';
import { PACKAGE_ROOT } from '../../../common/paths.js';
import { createLatencyHistogram, decodeHistogram, mergeEncodedHistograms } from '../../result/histogram.js';
import { isLoopbackHost } from '../../services/ports.js';
import type { EngineName, LoadEngine, LoadResult, LoadSpec, SeriesBucket } from '../engine.js';
import {
  addCounts,
  bucketCount,
  buildLoadResult,
  DEFAULT_SERIES_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  emptySeries,
} from '../result-builder.js';
import { epochNowMs } from './clock.js';
import type {
  BucketReport,
  ChildMessage,
  GeneratorReport,
  GeneratorSpec,
  LoadModelName,
  ParentMessage,
  TickerName,
  TransportName,
} from './protocol.js';
import { assignSourceAddresses, splitEvenly } from './schedule.js';

export type { GeneratorReport, LoadModelName, TickerName, TransportName } from './protocol.js';

/** Tuning of the open-loop engine. Every field is optional. */
export interface OpenLoopOptions {
  /** `net` (raw sockets, default) or `undici` (a Client per connection). */
  transport?: TransportName;
  /** `worker` (sub-ms wake-ups from a worker thread, default) or `timer` (setTimeout). */
  ticker?: TickerName;
  /** Shortest gap between wake-ups of a process's send loop, µs. Each
   * wake-up costs CPU; above 1e6 / minTickUs requests/s per process, sends
   * are batched per tick (and leave up to minTickUs late). Default 200. */
  minTickUs?: number;
  /** A send leaving later than this after its intended time counts as late, µs. Default 1000. */
  lateThresholdUs?: number;
  /** Self-check: a process whose send-loop lag p99 exceeds this is saturated, ms. Default 10. */
  maxSchedulerLagP99Ms?: number;
  /** Self-check: a process above this CPU (% of one core) is saturated. Default 90. */
  maxProcessCpuPercent?: number;
  /** Connections one process opens at once before the run. Default 256
   * (below Node's default listen backlog of 511). */
  connectConcurrency?: number;
  /** Most connections per process: the open-files budget is 20,000 per
   * process here, less a margin. Default 19,000. */
  maxConnectionsPerProcess?: number;
  /** Time from fork to the first send, ms: children set up their ticker
   * thread and receive the start message in it. Default 250. */
  startLeadMs?: number;
  /** Called once per run with each process's own report, before merging
   * (diagnostics and tests of the merge). Default none. */
  onProcessReports?: (reports: readonly GeneratorReport[]) => void;
}

/** Smallest latency step, µs: µs HDR histograms with 3 significant digits
 * and a monotonic clock with sub-µs resolution. */
export const OPEN_LOOP_RESOLUTION_US = 1;

type ResolvedOptions = Required<Omit<OpenLoopOptions, 'onProcessReports'>> & Pick<OpenLoopOptions, 'onProcessReports'>;

const DEFAULTS: ResolvedOptions = {
  transport: 'net',
  ticker: 'worker',
  minTickUs: 200,
  lateThresholdUs: 1000,
  maxSchedulerLagP99Ms: 10,
  maxProcessCpuPercent: 90,
  connectConcurrency: 256,
  maxConnectionsPerProcess: 19_000,
  startLeadMs: 250,
};

/** How long after the planned end a generator may take before it is killed, ms. */
const OVERRUN_GRACE_MS = 15_000;
/** How long a child gets to exit after `stop` before SIGKILL, ms. */
const STOP_GRACE_MS = 1000;

/** The open-loop engine. `options` tune it; the defaults suit the harness. */
export function createOpenLoopEngine(options: OpenLoopOptions = {}): LoadEngine {
  return {
    name: 'open-loop',
    loadModel: 'open',
    available: async () => true,
    run: (spec, signal) => runGenerators('open', spec, options, signal),
  };
}

/** The engine that runs generators in `mode`. */
function engineNameOf(mode: LoadModelName): EngineName {
  return mode === 'open' ? 'open-loop' : 'closed-loop';
}

/** Path of the compiled generator-process entry, next to this module. */
export const GENERATOR_PROCESS_PATH = fileURLToPath(new URL('./generator-process.js', import.meta.url));

interface Child {
  index: number;
  proc: ChildProcess;
  stderr: string;
  ready?: { connectionsEstablished: number; connectRampMs: number };
  report?: GeneratorReport;
  exited: boolean;
}

/**
 * Runs `spec` on forked generator processes sending in `mode` (`open`: the
 * open-loop engine; `closed`: the closed-loop engine) and merges their
 * reports into one LoadResult. Throws UsageError on bad input; errors on the
 * wire are counted, never thrown.
 */
export async function runGenerators(mode: LoadModelName, spec: LoadSpec, options: OpenLoopOptions = {}, signal?: AbortSignal): Promise<LoadResult> {
  const opts: ResolvedOptions = { ...DEFAULTS, ...stripUndefined(options) };
  const engineName = engineNameOf(mode);
  const plan = planRun(mode, spec, opts);
  if (signal?.aborted) throw abortError(signal);

  const n = plan.specs.length;
  const children: Child[] = [];
  const buckets = new Map<number, BucketReport[]>();
  const seriesCount = bucketCount(plan.durationMs, plan.seriesIntervalMs);
  const series = emptySeries(seriesCount, plan.seriesIntervalMs);
  let nextLiveBucket = 0;
  let startEpochMs = 0;

  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let phase: 'connecting' | 'running' | 'done' = 'connecting';
  let watchdog: NodeJS.Timeout | undefined;

  const fail = (err: unknown): void => {
    if (phase === 'done') return;
    phase = 'done';
    settle.reject(err);
  };
  const onAbort = (): void => fail(abortError(signal!));
  signal?.addEventListener('abort', onAbort, { once: true });

  const mergeLiveBuckets = (): void => {
    // Buckets close in order in every process; emit each once all have it.
    while (nextLiveBucket < seriesCount && buckets.get(nextLiveBucket)?.length === n) {
      const parts = buckets.get(nextLiveBucket)!;
      buckets.delete(nextLiveBucket);
      const b = mergeBuckets(parts, plan.seriesIntervalMs);
      series[b.index] = b.bucket;
      nextLiveBucket++;
      try {
        spec.onBucket?.(b.bucket);
      } catch {
        /* a listener's bug must not end the run */
      }
    }
  };

  const onMessage = (child: Child, msg: ChildMessage): void => {
    switch (msg.type) {
      case 'ready':
        child.ready = { connectionsEstablished: msg.connectionsEstablished, connectRampMs: msg.connectRampMs };
        if (phase === 'connecting' && children.every((c) => c.ready)) {
          phase = 'running';
          startEpochMs = epochNowMs() + opts.startLeadMs;
          for (const c of children) sendTo(c, { type: 'start', startEpochMs });
          clearTimeout(watchdog);
          const plannedMs = opts.startLeadMs + plan.warmupMs + plan.durationMs + plan.timeoutMs;
          watchdog = setTimeout(
            () => fail(new InvalidRunError('LBB_ERR_GENERATOR_OVERRUN', `${engineName} generators did not finish within ${plannedMs + OVERRUN_GRACE_MS} ms`)),
            plannedMs + OVERRUN_GRACE_MS,
          );
        }
        break;
      case 'bucket': {
        const list = buckets.get(msg.bucket.index) ?? [];
        list.push(msg.bucket);
        buckets.set(msg.bucket.index, list);
        mergeLiveBuckets();
        break;
      }
      case 'done':
        child.report = msg.report;
        if (children.every((c) => c.report)) {
          phase = 'done';
          settle.resolve();
        }
        break;
      case 'fatal':
        fail(new InvalidRunError(msg.code, `${engineName} generator ${child.index} failed: ${msg.message}`));
        break;
    }
  };

  // The children bound their own connect phase; this only catches a hung one.
  const connectBudgetMs = Math.max(plan.timeoutMs, 5000) + spec.connections * 2 + OVERRUN_GRACE_MS;
  watchdog = setTimeout(
    () => fail(new InvalidRunError('LBB_ERR_GENERATOR_CONNECT', `${engineName} generators did not finish connecting within ${connectBudgetMs} ms`)),
    connectBudgetMs,
  );
  try {
    for (const gspec of plan.specs) {
      const proc = fork(GENERATOR_PROCESS_PATH, [], {
        execArgv: [],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'json',
      });
      const child: Child = { index: gspec.processIndex, proc, stderr: '', exited: false };
      children.push(child);
      proc.stderr?.setEncoding('utf8');
      proc.stderr?.on('data', (d: string) => {
        child.stderr = (child.stderr + d).slice(-4000);
      });
      proc.on('message', (m: ChildMessage) => onMessage(child, m));
      proc.on('error', (err) => fail(new InvalidRunError('LBB_ERR_GENERATOR_SPAWN', `${engineName} generator ${child.index}: ${err.message}`, { cause: err })));
      proc.on('exit', (code, sig) => {
        child.exited = true;
        if (!child.report) {
          const tail = child.stderr.trim() ? `: ${child.stderr.trim().split('\n').filter((l) => l.trim()).slice(-8).join(' | ')}` : '';
          fail(new InvalidRunError('LBB_ERR_GENERATOR_EXIT', `${engineName} generator ${child.index} exited early (code ${code}, signal ${sig})${tail}`));
        }
      });
      sendTo(child, { type: 'init', spec: gspec });
    }
    await finished;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (watchdog) clearTimeout(watchdog);
    await stopChildren(children);
  }

  const reports = children.map((c) => c.report!);
  mergeLiveBuckets();
  try {
    opts.onProcessReports?.(reports);
  } catch {
    /* diagnostics only */
  }
  return mergeReports(mode, spec, plan, reports, series, startEpochMs, opts);
}

/** The validated run, split over processes. Throws UsageError on bad input. */
interface RunPlan {
  specs: GeneratorSpec[];
  warmupMs: number;
  durationMs: number;
  seriesIntervalMs: number;
  timeoutMs: number;
}

function planRun(mode: LoadModelName, spec: LoadSpec, opts: ResolvedOptions): RunPlan {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(spec.url);
  } catch {
    problems.push(`url ${JSON.stringify(spec.url)} is not a URL`);
  }
  if (url && url.protocol !== 'http:') problems.push(`url ${JSON.stringify(spec.url)}: only http: is supported`);
  if (url && !isLoopbackHost(url.hostname)) problems.push(`url ${JSON.stringify(spec.url)}: load goes to loopback only (127.0.0.0/8, ::1, localhost)`);
  const processes = spec.processes ?? 1;
  const rate = spec.rate;
  const warmupMs = spec.warmupMs ?? 0;
  const seriesIntervalMs = spec.seriesIntervalMs ?? DEFAULT_SERIES_INTERVAL_MS;
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (mode === 'open' && (rate === undefined || !(rate > 0) || !Number.isFinite(rate))) {
    problems.push(`rate ${rate}: the open-loop engine needs a target rate > 0 requests/s`);
  }
  if (mode === 'closed' && rate !== undefined) {
    problems.push(`rate ${rate}: the closed-loop engine sends as fast as responses complete and takes no rate cap (use --engine open-loop for a target rate)`);
  }
  if (!Number.isInteger(processes) || processes < 1) problems.push(`processes ${processes}: expected an integer >= 1`);
  if (!Number.isInteger(spec.connections) || spec.connections < 1) problems.push(`connections ${spec.connections}: expected an integer >= 1`);
  else if (spec.connections < processes) problems.push(`connections ${spec.connections} < processes ${processes}: every process needs a connection`);
  else if (Math.ceil(spec.connections / processes) > opts.maxConnectionsPerProcess) {
    problems.push(
      `connections ${spec.connections} over ${processes} process(es) is ${Math.ceil(spec.connections / processes)} per process; ` +
        `at most ${opts.maxConnectionsPerProcess} fit one process's open-files budget: use processes >= ${Math.ceil(spec.connections / opts.maxConnectionsPerProcess)}`,
    );
  }
  if (!(spec.durationMs > 0)) problems.push(`durationMs ${spec.durationMs}: expected > 0`);
  if (!(warmupMs >= 0)) problems.push(`warmupMs ${warmupMs}: expected >= 0`);
  if (!(seriesIntervalMs >= 10)) problems.push(`seriesIntervalMs ${seriesIntervalMs}: expected >= 10`);
  if (!(timeoutMs > 0)) problems.push(`timeoutMs ${timeoutMs}: expected > 0`);
  if (problems.length) throw new UsageError(`${engineNameOf(mode)} engine: ${problems.join('; ')}`);

  const host = url!.hostname.replace(/^\[|\]$/g, '');
  const conns = splitEvenly(spec.connections, processes);
  const sources = assignSourceAddresses(spec.sourceAddresses, processes, host);
  const specs = conns.map(
    (connections, k): GeneratorSpec => ({
      mode,
      processIndex: k,
      processCount: processes,
      url: spec.url,
      method: (spec.method ?? 'GET').toUpperCase(),
      headers: spec.headers ?? {},
      ...(spec.body === undefined ? {} : { body: spec.body }),
      connections,
      totalRate: mode === 'open' ? rate! : 0,
      warmupMs,
      durationMs: spec.durationMs,
      seriesIntervalMs,
      timeoutMs,
      sourceAddresses: sources[k]!,
      transport: opts.transport,
      ticker: opts.ticker,
      minTickUs: opts.minTickUs,
      lateThresholdUs: opts.lateThresholdUs,
      connectConcurrency: opts.connectConcurrency,
      maxSchedulerLagP99Us: opts.maxSchedulerLagP99Ms * 1000,
      maxCpuPercent: opts.maxProcessCpuPercent,
    }),
  );
  return { specs, warmupMs, durationMs: spec.durationMs, seriesIntervalMs, timeoutMs };
}

function mergeBuckets(parts: BucketReport[], intervalMs: number): { index: number; bucket: SeriesBucket } {
  const index = parts[0]!.index;
  const h = mergeEncodedHistograms(parts.map((p) => p.histogram));
  let requests = 0;
  let errors = 0;
  let bytes = 0;
  for (const p of parts) {
    requests += p.requests;
    errors += p.errors;
    bytes += p.bytes;
  }
  return {
    index,
    bucket: { tMs: index * intervalMs, requests, errors, bytes, p99Us: h.totalCount ? h.getValueAtPercentile(99) : 0 },
  };
}

function mergeReports(
  mode: LoadModelName,
  spec: LoadSpec,
  plan: RunPlan,
  reports: GeneratorReport[],
  series: SeriesBucket[],
  startEpochMs: number,
  opts: ResolvedOptions,
): LoadResult {
  const histogram = createLatencyHistogram();
  const lateness = createLatencyHistogram();
  const errors: Record<string, number> = {};
  const statusCounts: Record<string, number> = {};
  let requests = 0;
  let bytes = 0;
  let late = 0;
  let dropped = 0;
  let established = 0;
  let rampMs = 0;
  let windowMs = plan.durationMs;
  let cpuSum = 0;
  let cpuMax = 0;
  let eldMax = 0;
  const reasons: string[] = [];
  for (const r of reports) {
    histogram.add(decodeHistogram(r.histogram));
    lateness.add(decodeHistogram(r.latenessHistogram));
    addCounts(errors, r.errors);
    addCounts(statusCounts, r.statusCounts);
    requests += r.requests;
    bytes += r.bytes;
    late += r.late;
    dropped += r.dropped;
    established += r.connectionsEstablished;
    rampMs = Math.max(rampMs, r.connectRampMs);
    windowMs = Math.max(windowMs, r.windowMs);
    cpuSum += r.cpuPercent;
    cpuMax = Math.max(cpuMax, r.cpuPercent);
    eldMax = Math.max(eldMax, r.eventLoopDelayP99Ms);
    if (r.saturated && r.saturatedReason) reasons.push(r.saturatedReason);
  }
  const generator: LoadResult['generator'] = {
    processes: reports.length,
    cpuPercent: cpuSum,
    maxProcessCpuPercent: cpuMax,
    eventLoopDelayP99Ms: eldMax,
    saturated: reasons.length > 0,
  };
  if (reasons.length) generator.saturatedReason = reasons.join('; ');
  return buildLoadResult({
    engine: engineNameOf(mode),
    engineVersion: engineVersion(opts.transport),
    loadModel: mode,
    latencyResolutionUs: OPEN_LOOP_RESOLUTION_US,
    spec,
    processes: reports.length,
    startedAtMs: startEpochMs + plan.warmupMs,
    durationMs: windowMs,
    requests,
    bytes,
    errors,
    statusCounts,
    histogram,
    seriesIntervalMs: plan.seriesIntervalMs,
    series,
    connectionsEstablished: established,
    connectRampMs: rampMs,
    ...(mode === 'open' ? { schedule: { late, dropped, latenessP99Us: lateness.totalCount ? lateness.getValueAtPercentile(99) : 0 } } : {}),
    generator,
  });
}

let cachedVersion: string | undefined;
/** `lbbench <version> (<transport>)`, e.g. `lbbench 0.1.0 (net)`. */
function engineVersion(transport: TransportName): string {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = String((JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown }).version);
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return `lbbench ${cachedVersion} (${transport})`;
}

function sendTo(child: Child, msg: ParentMessage): void {
  if (child.proc.connected) {
    try {
      child.proc.send(msg);
    } catch {
      /* the child died; its exit handler reports it */
    }
  }
}

/** Stops every child: `stop` over IPC, SIGKILL after a grace period;
 * resolves once all have exited. */
async function stopChildren(children: Child[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exited || c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
          const kill = setTimeout(() => c.proc.kill('SIGKILL'), c.report ? STOP_GRACE_MS * 3 : STOP_GRACE_MS);
          c.proc.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          if (c.report) {
            // Done: closing the channel ends it after its last message.
            if (c.proc.connected) c.proc.disconnect();
          } else {
            sendTo(c, { type: 'stop' });
          }
        }),
    ),
  );
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The load run was aborted', 'AbortError');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
