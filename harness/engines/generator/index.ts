/**
 * The raw-socket generator's parent side, shared by the open-loop and
 * closed-loop engines (../open-loop.ts, ../closed-loop.ts). It stays nearly
 * idle while load runs: it forks the generator processes (always, even for
 * one, so the harness's own event loop and open-files budget are never the
 * generator's), hands each its share, starts them together, merges their
 * series buckets live and their reports at the end, and kills them on abort
 * or when they overrun.
 *
 * Inside each process (generator-process.ts) a Generator runs a slot pool,
 * a pacer (open-pacer.ts: the constant-rate schedule; closed-pacer.ts: the
 * closed loop) and a recorder. Nothing here depends on the load model
 * beyond passing `mode` to the processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidRunError } from '../../../common/errors.js';
import { PACKAGE_VERSION } from '../../../common/paths.js';
import { createLatencyHistogram, decodeHistogram, mergeEncodedHistograms } from '../../result/histogram.js';
import type { EngineCapabilities, EngineName, LoadEngine, LoadResult, LoadSpec, SeriesBucket } from '../engine.js';
import { addCounts, bucketCount, buildLoadResult, emptySeries } from '../result-builder.js';
import { onAbort, resolveLoadSpec, throwIfAborted, type ResolvedLoadSpec } from '../spec.js';
import { epochNowMs } from './clock.js';
import type { BucketReport, ChildMessage, GeneratorReport, GeneratorSpec, LoadModelName, ParentMessage, TickerName, TransportName } from './protocol.js';
import { assignSourceAddresses, splitEvenly } from './schedule.js';

export type { GeneratorReport, LoadModelName, TickerName, TransportName } from './protocol.js';

/** Tuning of the generator. Every field is optional. */
export interface GeneratorOptions {
  /** `net` (raw sockets, default) or `undici` (a Client per connection). */
  transport?: TransportName;
  /** `worker` (sub-ms wake-ups from a worker thread, default) or `timer` (setTimeout). Open mode only. */
  ticker?: TickerName;
  /** Shortest gap between wake-ups of a process's send loop, µs. Each
   * wake-up costs CPU; above 1e6 / minTickUs requests/s per process, sends
   * are batched per tick (and leave up to minTickUs late). Default 200. Open mode only. */
  minTickUs?: number;
  /** A send leaving later than this after its intended time counts as late, µs. Default 1000. Open mode only. */
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
export const GENERATOR_RESOLUTION_US = 1;

type ResolvedOptions = Required<Omit<GeneratorOptions, 'onProcessReports'>> & Pick<GeneratorOptions, 'onProcessReports'>;

/** The defaults of GeneratorOptions. */
export const GENERATOR_DEFAULTS: Readonly<ResolvedOptions> = Object.freeze({
  transport: 'net',
  ticker: 'worker',
  minTickUs: 200,
  lateThresholdUs: 1000,
  maxSchedulerLagP99Ms: 10,
  maxProcessCpuPercent: 90,
  connectConcurrency: 256,
  maxConnectionsPerProcess: 19_000,
  startLeadMs: 250,
});

/** How long after the planned end a generator may take before it is killed, ms. */
const OVERRUN_GRACE_MS = 15_000;
/** How long a child gets to exit after `stop` before SIGKILL, ms. */
const STOP_GRACE_MS = 1000;

/** The engine a run of generators belongs to: its name and capabilities
 * (for validation and the result), and how its processes send. */
export interface GeneratorEngine {
  name: EngineName;
  mode: LoadModelName;
  capabilities: EngineCapabilities;
}

/** The capabilities of an engine on the generator: what every such engine
 * can do (several processes, µs resolution, series, loopback targets,
 * nothing to install), plus the engine's own summary, rate rule and latency
 * origin. `maxConnectionsPerProcess` comes from `options`. */
export function generatorCapabilities(
  own: Pick<EngineCapabilities, 'summary' | 'rate' | 'latencyFrom'>,
  options: Pick<GeneratorOptions, 'maxConnectionsPerProcess'> = {},
): EngineCapabilities {
  return Object.freeze({
    ...own,
    multiProcess: true,
    maxConnectionsPerProcess: options.maxConnectionsPerProcess ?? GENERATOR_DEFAULTS.maxConnectionsPerProcess,
    latencyResolutionUs: GENERATOR_RESOLUTION_US,
    series: true,
    threads: false,
    loopbackOnly: true,
  });
}

/** The LoadEngine that runs `engine` on generator processes tuned by `options`. */
export function createGeneratorEngine(engine: GeneratorEngine, options: GeneratorOptions): LoadEngine {
  return {
    name: engine.name,
    loadModel: engine.mode,
    capabilities: engine.capabilities,
    available: async () => true,
    run: (spec, signal) => runGenerators(engine, spec, options, signal),
  };
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
 * Runs `input` on forked generator processes sending in `engine.mode` and
 * merges their reports into one LoadResult. Throws UsageError on bad input
 * (spec.ts); errors on the wire are counted, never thrown.
 */
export async function runGenerators(engine: GeneratorEngine, input: LoadSpec, options: GeneratorOptions = {}, signal?: AbortSignal): Promise<LoadResult> {
  const opts: ResolvedOptions = { ...GENERATOR_DEFAULTS, ...stripUndefined(options) };
  const engineName = engine.name;
  const spec = resolveLoadSpec(engine.name, engine.capabilities, input);
  const plan = splitOverProcesses(engine.mode, spec, opts);
  throwIfAborted(signal);

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
  const unsubscribe = onAbort(signal, fail);

  const mergeLiveBuckets = (): void => {
    // Buckets close in order in every process; emit each once all have it.
    for (let parts = buckets.get(nextLiveBucket); nextLiveBucket < seriesCount && parts?.length === n; parts = buckets.get(nextLiveBucket)) {
      buckets.delete(nextLiveBucket);
      const b = mergeBuckets(nextLiveBucket, parts, plan.seriesIntervalMs);
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
          const tail = child.stderr.trim()
            ? `: ${child.stderr
                .trim()
                .split('\n')
                .filter((l) => l.trim())
                .slice(-8)
                .join(' | ')}`
            : '';
          fail(new InvalidRunError('LBB_ERR_GENERATOR_EXIT', `${engineName} generator ${child.index} exited early (code ${code}, signal ${sig})${tail}`));
        }
      });
      sendTo(child, { type: 'init', spec: gspec });
    }
    await finished;
  } finally {
    unsubscribe();
    if (watchdog) clearTimeout(watchdog);
    await stopChildren(children);
  }

  // `finished` resolves only once every child has reported.
  const reports = children.flatMap((c) => (c.report ? [c.report] : []));
  mergeLiveBuckets();
  try {
    opts.onProcessReports?.(reports);
  } catch {
    /* diagnostics only */
  }
  return mergeReports(engine, input, plan, reports, series, startEpochMs, opts);
}

/** The validated run, split over processes. */
interface RunPlan {
  specs: GeneratorSpec[];
  warmupMs: number;
  durationMs: number;
  seriesIntervalMs: number;
  timeoutMs: number;
}

function splitOverProcesses(mode: LoadModelName, spec: ResolvedLoadSpec, opts: ResolvedOptions): RunPlan {
  const { processes } = spec;
  const conns = splitEvenly(spec.connections, processes);
  const sources = assignSourceAddresses(spec.sourceAddresses, processes, spec.host);
  const specs = conns.map((connections, k): GeneratorSpec => ({
    mode,
    processIndex: k,
    processCount: processes,
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
    connections,
    // Engines without a rate (closed mode) refuse one in resolveLoadSpec.
    totalRate: spec.rate ?? 0,
    warmupMs: spec.warmupMs,
    durationMs: spec.durationMs,
    seriesIntervalMs: spec.seriesIntervalMs,
    timeoutMs: spec.timeoutMs,
    sourceAddresses: sources[k] ?? [],
    transport: opts.transport,
    ticker: opts.ticker,
    minTickUs: opts.minTickUs,
    lateThresholdUs: opts.lateThresholdUs,
    connectConcurrency: opts.connectConcurrency,
    maxSchedulerLagP99Us: opts.maxSchedulerLagP99Ms * 1000,
    maxCpuPercent: opts.maxProcessCpuPercent,
  }));
  return { specs, warmupMs: spec.warmupMs, durationMs: spec.durationMs, seriesIntervalMs: spec.seriesIntervalMs, timeoutMs: spec.timeoutMs };
}

/** Bucket `index` merged from every process's part of it. */
function mergeBuckets(index: number, parts: BucketReport[], intervalMs: number): { index: number; bucket: SeriesBucket } {
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
  engine: GeneratorEngine,
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
  // Open mode's processes report their schedule; closed mode's have none.
  const scheduled = reports.some((r) => r.schedule !== undefined);
  let established = 0;
  let rampMs = 0;
  let windowMs = plan.durationMs;
  let cpuSum = 0;
  let cpuMax = 0;
  let eldMax = 0;
  const reasons: string[] = [];
  for (const r of reports) {
    histogram.add(decodeHistogram(r.histogram));
    if (r.schedule) {
      lateness.add(decodeHistogram(r.schedule.latenessHistogram));
      late += r.schedule.late;
      dropped += r.schedule.dropped;
    }
    addCounts(errors, r.errors);
    addCounts(statusCounts, r.statusCounts);
    requests += r.requests;
    bytes += r.bytes;
    established += r.connectionsEstablished;
    rampMs = Math.max(rampMs, r.connectRampMs);
    windowMs = Math.max(windowMs, r.durationMs);
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
    engine: engine.name,
    engineVersion: engineVersion(opts.transport),
    loadModel: engine.mode,
    latencyResolutionUs: engine.capabilities.latencyResolutionUs,
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
    ...(scheduled ? { schedule: { late, dropped, latenessP99Us: lateness.totalCount ? lateness.getValueAtPercentile(99) : 0 } } : {}),
    generator,
  });
}

/** `lbbench <version> (<transport>)`, e.g. `lbbench 0.1.0 (net)`. */
function engineVersion(transport: TransportName): string {
  return `lbbench ${PACKAGE_VERSION} (${transport})`;
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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
