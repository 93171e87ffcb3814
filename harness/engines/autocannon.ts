/**
 * The autocannon engine: closed loop (each connection sends its next request
 * when the previous response has arrived), the embedded default for capacity
 * runs. autocannon runs in a forked child (./autocannon-child.ts) so that its
 * CPU stays off the harness process and is metered per PID from /proc.
 *
 * Differences from autocannon's own report, on purpose:
 * - Latency is taken per response from autocannon's `response` event (a
 *   process.hrtime() span), so the µs histogram is not rounded to whole
 *   milliseconds and carries no coordinated-omission correction. It is
 *   still closed-loop latency: it hides queueing a real arrival rate would see.
 * - The measured window starts after every connection has had one response
 *   (or `connectTimeoutMs` passed) and after the warm-up; `connectRampMs`
 *   reports how long connecting took.
 * - A connection closed by the server with a request in flight counts as a
 *   `closed` error (autocannon silently reconnects).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { InvalidRunError } from '../../common/errors.js';
import { CpuMeter } from '../sampling/proc-stats.js';
import { decodeHistogram } from '../result/histogram.js';
import { buildLoadResult } from './result-builder.js';
import type { EngineCapabilities, LoadEngine, LoadResult, LoadSpec } from './engine.js';
import type { AutocannonChildResult, AutocannonChildSpec, ChildMessage } from './autocannon-protocol.js';
import { cpuSaturation, DEFAULT_GENERATOR_CPU_LIMIT_PERCENT, onAbort, resolveLoadSpec, throwIfAborted } from './spec.js';

/** Options of the autocannon engine. */
export interface AutocannonEngineOptions {
  /** Generator CPU above which the run is flagged `generator.saturated`, % of
   * one core. Default DEFAULT_GENERATOR_CPU_LIMIT_PERCENT (80; config
   * `harness.generatorCpuLimitPercent`). */
  generatorCpuLimitPercent?: number;
  /** Longest wait for every connection to get its first response before the
   * window starts anyway, ms. Default 10000. */
  connectTimeoutMs?: number;
}

/** Latency resolution of this engine, µs. autocannon's own histogram keeps
 * whole milliseconds, but this engine records the per-response hrtime span,
 * which resolves 1 µs (accuracy is bounded by the child's event loop). */
export const AUTOCANNON_LATENCY_RESOLUTION_US = 1;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Slack after the expected end before a silent child is declared hung, ms. */
const CHILD_GRACE_MS = 30_000;

/** Version of the installed autocannon package, e.g. `8.0.0`. */
export function autocannonVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** What the autocannon engine can do. */
export const AUTOCANNON_CAPABILITIES: EngineCapabilities = Object.freeze({
  summary: 'closed loop, embedded: the default for capacity; --rate caps it',
  rate: 'cap',
  multiProcess: false,
  latencyResolutionUs: AUTOCANNON_LATENCY_RESOLUTION_US,
  latencyFrom: 'actual',
  series: true,
  threads: false,
  loopbackOnly: false,
});

/** Creates the autocannon engine. */
export function createAutocannonEngine(options: AutocannonEngineOptions = {}): LoadEngine {
  const cpuLimitPercent = options.generatorCpuLimitPercent ?? DEFAULT_GENERATOR_CPU_LIMIT_PERCENT;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return {
    name: 'autocannon',
    loadModel: 'closed',
    capabilities: AUTOCANNON_CAPABILITIES,
    available: async () => true,
    run: (spec, signal) => runAutocannon(spec, { cpuLimitPercent, connectTimeoutMs }, signal),
  };
}

async function runAutocannon(input: LoadSpec, opts: { cpuLimitPercent: number; connectTimeoutMs: number }, signal?: AbortSignal): Promise<LoadResult> {
  const spec = resolveLoadSpec('autocannon', AUTOCANNON_CAPABILITIES, input);
  throwIfAborted(signal);
  // autocannon's overallRate is split into whole requests/s per connection,
  // and it drops connections beyond the rate; mirror that so the result says
  // what actually ran.
  const rate = spec.rate === undefined ? undefined : Math.max(1, Math.round(spec.rate));
  const connections = rate === undefined ? spec.connections : Math.min(spec.connections, rate);
  const childSpec: AutocannonChildSpec = {
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
    connections,
    durationMs: spec.durationMs,
    ...(rate === undefined ? {} : { rate }),
    warmupMs: spec.warmupMs,
    seriesIntervalMs: spec.seriesIntervalMs,
    timeoutMs: spec.timeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs,
  };
  const version = autocannonVersion();

  const child = fork(fileURLToPath(new URL('./autocannon-child.js', import.meta.url)), [], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
  });

  const measured = await new Promise<{ result: AutocannonChildResult; cpuPercent: number }>((resolve, reject) => {
    let meter: CpuMeter | undefined;
    let cpuPercent = 0;
    let settled = false;
    let reported: AutocannonChildResult | undefined;
    const hungTimer = setTimeout(
      () => finish(new InvalidRunError('LBB_ERR_GENERATOR_HUNG', `autocannon child (pid ${child.pid}) did not finish in time`)),
      opts.connectTimeoutMs + childSpec.warmupMs + spec.durationMs + CHILD_GRACE_MS,
    );
    const unsubscribe = onAbort(signal, (reason) => finish(reason));

    function finish(err: unknown, value?: { result: AutocannonChildResult; cpuPercent: number }): void {
      if (settled) return;
      settled = true;
      clearTimeout(hungTimer);
      unsubscribe();
      if (err !== undefined) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an InvalidRunError or the abort signal's reason, passed on as given
        reject(err);
      } else resolve(value!);
    }

    child.on('message', (msg: ChildMessage) => {
      switch (msg.type) {
        case 'window-start':
          if (child.pid !== undefined) meter = new CpuMeter(child.pid);
          break;
        case 'window-end':
          cpuPercent = meter?.sample()?.cpuPercent ?? 0;
          break;
        case 'bucket':
          try {
            spec.onBucket?.(msg.bucket);
          } catch {
            // A progress callback must not break the run.
          }
          break;
        case 'result':
          // Resolved on exit, so no generator outlives run(); it exits
          // right after this message.
          reported = msg.result;
          setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          break;
        case 'error':
          finish(new InvalidRunError('LBB_ERR_GENERATOR_FAILED', `autocannon failed: ${msg.message}`));
          break;
      }
    });
    child.on('error', (err) => finish(new InvalidRunError('LBB_ERR_GENERATOR_FAILED', `autocannon child: ${err.message}`, { cause: err })));
    child.on('exit', (code, sig) => {
      if (reported) return finish(undefined, { result: reported, cpuPercent });
      const detail = stderrTail ? `: ${stderrTail.trim()}` : '';
      finish(new InvalidRunError('LBB_ERR_GENERATOR_FAILED', `autocannon child exited (${sig ?? `code ${code}`}) before reporting${detail}`));
    });
    child.send({ type: 'start', spec: childSpec });
  });

  const r = measured.result;
  return buildLoadResult({
    engine: 'autocannon',
    engineVersion: version,
    loadModel: 'closed',
    latencyResolutionUs: AUTOCANNON_LATENCY_RESOLUTION_US,
    spec: { ...input, connections, ...(rate === undefined ? {} : { rate }) },
    processes: 1,
    startedAtMs: r.startedAtMs,
    durationMs: r.durationMs,
    requests: r.requests,
    bytes: r.bytes,
    errors: r.errors,
    statusCounts: r.statusCounts,
    histogram: decodeHistogram(r.histogram),
    seriesIntervalMs: childSpec.seriesIntervalMs,
    series: r.series,
    connectionsEstablished: r.connectionsEstablished,
    connectRampMs: r.connectRampMs,
    generator: {
      processes: 1,
      cpuPercent: measured.cpuPercent,
      maxProcessCpuPercent: measured.cpuPercent,
      eventLoopDelayP99Ms: r.eventLoopDelayP99Ms,
      ...cpuSaturation('autocannon', measured.cpuPercent, opts.cpuLimitPercent),
    },
  });
}
