/**
 * The wrk engine (optional; needs the `wrk` binary on PATH, Debian package
 * `wrk`). Closed loop like autocannon, at about 2.5x less CPU per request.
 *
 * wrk runs as `wrk -t<threads> -c<conns> -d<secs> --timeout <secs> --latency
 * -s <lua> URL`. The generated Lua sets method, headers and body (wrk still
 * pre-builds the request, so its fast path stays on) and its `done()` hook
 * prints one JSON line with the counters, wrk's exact µs moments and
 * percentiles, and a dense percentile spectrum.
 *
 * Approximations, stated once:
 * - The histogram is rebuilt from that spectrum (wrk 4.1's Lua API exposes
 *   percentiles, not buckets): each slice between two queried percentiles is
 *   recorded at the slice's upper value. Percentiles read back from it agree
 *   with wrk at the queried points; in between they round up. The summary
 *   (`latency`) is wrk's own: exact µs percentiles, min, max, mean, stdev.
 * - wrk has no per-interval output: `series` is empty and `onBucket` is never
 *   called.
 * - wrk knows only whether a status was >= 400: `statusCounts` has the keys
 *   `1xx-3xx` and `4xx-5xx`, and `errors.non2xx` counts 4xx and 5xx only.
 * - Connections are opened inside wrk's measured window; `connectRampMs` is
 *   how long until wrk held `connections` TCP-established sockets (read from
 *   /proc, so a socket waiting in the server's accept queue counts).
 * - Durations and timeouts are whole seconds (wrk's unit); the duration is
 *   rounded up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidRunError, UsageError } from '../../common/errors.js';
import { createLatencyHistogram, type LatencyHistogram } from '../result/histogram.js';
import { readProcStat } from '../sampling/proc-stats.js';
import { establishedSocketCount } from '../sampling/socket-scan.js';
import type { EngineCapabilities, LatencySummary, LoadEngine, LoadResult, LoadSpec } from './engine.js';
import { findOnPath } from './external-binary.js';
import { buildLoadResult } from './result-builder.js';
import { cpuSaturation, DEFAULT_GENERATOR_CPU_LIMIT_PERCENT, onAbort, resolveLoadSpec, throwIfAborted } from './spec.js';

/** Options of the wrk engine. */
export interface WrkEngineOptions {
  /** Generator CPU above which the run is flagged `generator.saturated`, % of
   * one core, judged per wrk thread. Default DEFAULT_GENERATOR_CPU_LIMIT_PERCENT (80). */
  generatorCpuLimitPercent?: number;
  /** wrk threads. Default: half the cores (at least 1), never more than the
   * connections; on 2 shared cores that is 1. */
  threads?: number;
  /** Longest time to watch for all connections to be established, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Binary to run. Default `wrk` from PATH. */
  binary?: string;
}

/** Marker of the JSON line the Lua `done()` hook prints. */
const JSON_MARKER = 'LBBENCH_WRK_JSON ';
const CPU_SAMPLE_INTERVAL_MS = 200;
const CONNECT_POLL_INTERVAL_MS = 20;
/** wrk records each latency in whole µs. */
export const WRK_LATENCY_RESOLUTION_US = 1;

/** wrk's version, e.g. `debian/4.1.0-3+b2`, or undefined when wrk is absent. */
export async function wrkVersion(binary = 'wrk'): Promise<string | undefined> {
  const file = findOnPath(binary);
  if (!file) return undefined;
  const { stdout } = await runToEnd(file, ['-v'], 5000);
  // `wrk -v` prints "wrk <version> [epoll] Copyright ..." and exits 1.
  return /^wrk\s+(\S+)/m.exec(stdout)?.[1] ?? 'unknown';
}

/** Percentiles queried from wrk to rebuild the histogram: dense where the
 * tail is, so that the rebuilt histogram's tail matches wrk's. */
export function wrkSpectrumPercentiles(): number[] {
  const out: number[] = [];
  const span = (from: number, to: number, step: number): void => {
    for (let i = 0; from + i * step < to - step / 2; i++) out.push(Number((from + i * step).toFixed(6)));
  };
  span(0, 99, 0.25);
  span(99, 99.9, 0.025);
  span(99.9, 99.99, 0.0025);
  span(99.99, 100, 0.00025);
  out.push(100);
  return out;
}

/** A Lua string literal holding `s` exactly (bytes as decimal escapes). */
export function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte >= 0x20 && byte < 0x7f && ch !== '"' && ch !== '\\' ? ch : `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** The Lua script given to wrk with `-s`. */
export function wrkScript(spec: Pick<LoadSpec, 'method' | 'headers' | 'body'>): string {
  const lines: string[] = [`wrk.method = ${luaString((spec.method ?? 'GET').toUpperCase())}`];
  if (spec.body !== undefined) lines.push(`wrk.body = ${luaString(spec.body)}`);
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  lines.push(
    `local spectrum = { ${wrkSpectrumPercentiles().join(', ')} }`,
    `local summaryPercentiles = { 50, 75, 90, 99, 99.9, 99.99 }`,
    `done = function(summary, latency, requests)`,
    `  local e = summary.errors`,
    `  local hasData = summary.requests > 0 and latency.max > 0`,
    `  local function pairsOf(list)`,
    `    local parts = {}`,
    `    if hasData then`,
    `      for i, p in ipairs(list) do parts[i] = string.format("[%.6f,%d]", p, latency:percentile(p)) end`,
    `    end`,
    `    return table.concat(parts, ",")`,
    `  end`,
    `  io.write("\\n${JSON_MARKER}", string.format(`,
    `    '{"durationUs":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..`,
    `    '"minUs":%d,"maxUs":%d,"meanUs":%.3f,"stdevUs":%.3f,"percentiles":[%s],"spectrum":[%s]}',`,
    `    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,`,
    `    hasData and latency.min or 0, latency.max, hasData and latency.mean or 0, hasData and latency.stdev or 0,`,
    `    pairsOf(summaryPercentiles), pairsOf(spectrum)), "\\n")`,
    `end`,
  );
  return `${lines.join('\n')}\n`;
}

/** The JSON line printed by the Lua hook. */
export interface WrkReport {
  durationUs: number;
  requests: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  minUs: number;
  maxUs: number;
  meanUs: number;
  stdevUs: number;
  /** [percentile, µs] at 50, 75, 90, 99, 99.9, 99.99. */
  percentiles: [number, number][];
  /** [percentile, µs] at wrkSpectrumPercentiles(). */
  spectrum: [number, number][];
}

/** Finds and parses the Lua hook's JSON line in wrk's stdout. */
export function parseWrkOutput(stdout: string): WrkReport | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(JSON_MARKER));
  if (!line) return undefined;
  try {
    return JSON.parse(line.slice(JSON_MARKER.length)) as WrkReport;
  } catch {
    return undefined;
  }
}

/**
 * Rebuilds an approximate µs histogram from a percentile spectrum:
 * the requests between two queried percentiles are recorded at the upper
 * one's value. `total` is the number of latencies to distribute.
 */
export function histogramFromSpectrum(spectrum: readonly [number, number][], total: number): LatencyHistogram {
  const h = createLatencyHistogram();
  if (total > 0 && spectrum.length > 0) {
    let cumulative = 0;
    for (const [p, valueUs] of spectrum) {
      const upTo = Math.min(total, Math.round((p / 100) * total));
      // The first point (p = 0, the minimum) keeps one latency so min survives.
      const count = cumulative === 0 && upTo === 0 ? 1 : upTo - cumulative;
      if (count > 0) h.recordValueWithCount(Math.max(1, Math.round(valueUs)), count);
      cumulative += count;
    }
    const last = spectrum.at(-1);
    if (last && cumulative < total) h.recordValueWithCount(Math.max(1, Math.round(last[1])), total - cumulative);
  }
  return h;
}

/** The LatencySummary from wrk's own (exact) numbers. */
function summaryFromReport(r: WrkReport): LatencySummary {
  const at = (p: number): number => r.percentiles.find(([q]) => Math.abs(q - p) < 1e-9)?.[1] ?? 0;
  return {
    count: r.requests,
    minUs: r.minUs,
    meanUs: r.meanUs,
    stdevUs: r.stdevUs,
    p50Us: at(50),
    p75Us: at(75),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    p9999Us: at(99.99),
    maxUs: r.maxUs,
  };
}

/** How to install wrk (Debian/Ubuntu). */
const WRK_INSTALL = 'apt-get install -y wrk';

/** What the wrk engine can do. */
export const WRK_CAPABILITIES: EngineCapabilities = Object.freeze({
  summary: 'closed loop in C: ~2.5x less CPU per request than autocannon',
  rate: 'none',
  multiProcess: false,
  latencyResolutionUs: WRK_LATENCY_RESOLUTION_US,
  latencyFrom: 'actual',
  series: false,
  threads: true,
  loopbackOnly: false,
  binary: { name: 'wrk', install: WRK_INSTALL },
});

/** Creates the wrk engine. */
export function createWrkEngine(options: WrkEngineOptions = {}): LoadEngine {
  const binary = options.binary ?? 'wrk';
  return {
    name: 'wrk',
    loadModel: 'closed',
    capabilities: WRK_CAPABILITIES,
    available: async () => findOnPath(binary) !== undefined,
    run: (spec, signal) => runWrk(spec, options, signal),
  };
}

async function runWrk(input: LoadSpec, options: WrkEngineOptions, signal?: AbortSignal): Promise<LoadResult> {
  const spec = resolveLoadSpec('wrk', WRK_CAPABILITIES, input);
  const binary = findOnPath(options.binary ?? 'wrk');
  if (!binary) throw new UsageError(`wrk engine: \`wrk\` is not on PATH; install it with \`${WRK_INSTALL}\``);
  throwIfAborted(signal);
  const cpuLimitPercent = options.generatorCpuLimitPercent ?? DEFAULT_GENERATOR_CPU_LIMIT_PERCENT;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const threads = Math.max(1, Math.min(spec.connections, spec.threads ?? options.threads ?? Math.floor(availableParallelism() / 2)));
  // wrk gives each thread connections/threads; keep the total what was asked
  // for when it divides, else what wrk really opens.
  const connections = Math.floor(spec.connections / threads) * threads;
  const durationS = Math.max(1, Math.ceil(spec.durationMs / 1000));
  const timeoutS = Math.max(1, Math.ceil(spec.timeoutMs / 1000));
  const version = (await wrkVersion(binary)) ?? 'unknown';

  const dir = mkdtempSync(path.join(tmpdir(), 'lbbench-wrk-'));
  try {
    const script = path.join(dir, 'report.lua');
    writeFileSync(script, wrkScript(spec));
    const args = (seconds: number): string[] => [
      `-t${threads}`,
      `-c${connections}`,
      `-d${seconds}s`,
      '--timeout',
      `${timeoutS}s`,
      '--latency',
      '-s',
      script,
      spec.url,
    ];
    const warmupS = Math.ceil(spec.warmupMs / 1000);
    if (warmupS > 0) await runToEnd(binary, args(warmupS), (warmupS + timeoutS + 30) * 1000, signal);

    const startedAtMs = Date.now();
    const run = runToEnd(binary, args(durationS), (durationS + timeoutS + 30) * 1000, signal, (pid) => watchWrk(pid, connections, connectTimeoutMs));
    const { stdout, stderr, watch } = await run;
    const report = parseWrkOutput(stdout);
    if (!report) {
      throw new InvalidRunError('LBB_ERR_GENERATOR_FAILED', `wrk printed no report: ${(stderr || stdout).trim().slice(-2000)}`);
    }
    const usage = watch?.stop() ?? { cpuPercent: 0, maxThreadCpuPercent: 0, connectionsEstablished: 0, connectRampMs: 0 };
    const errors: Record<string, number> = {
      connect: report.errors.connect,
      // wrk's read errors are resets and closes mid-response; write errors
      // are resets (EPIPE) before the request went out.
      reset: report.errors.read + report.errors.write,
      timeout: report.errors.timeout,
      non2xx: report.errors.status,
    };
    const result = buildLoadResult({
      engine: 'wrk',
      engineVersion: version,
      loadModel: 'closed',
      latencyResolutionUs: WRK_LATENCY_RESOLUTION_US,
      spec: { ...input, connections },
      processes: 1,
      startedAtMs,
      durationMs: report.durationUs / 1000,
      requests: report.requests,
      bytes: report.bytes,
      errors,
      statusCounts: { '1xx-3xx': report.requests - report.errors.status, '4xx-5xx': report.errors.status },
      histogram: histogramFromSpectrum(report.spectrum, report.requests),
      seriesIntervalMs: spec.seriesIntervalMs,
      series: [],
      connectionsEstablished: usage.connectionsEstablished,
      connectRampMs: usage.connectRampMs,
      generator: {
        processes: 1,
        cpuPercent: usage.cpuPercent,
        maxProcessCpuPercent: usage.cpuPercent,
        ...cpuSaturation('a wrk thread', usage.maxThreadCpuPercent, cpuLimitPercent),
      },
    });
    // wrk's own moments and percentiles are exact; the rebuilt histogram's are not.
    result.latency = summaryFromReport(report);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface WrkUsage {
  /** CPU of wrk over the sampled part of the run, % of one core (all threads). */
  cpuPercent: number;
  /** Busiest thread, % of one core. */
  maxThreadCpuPercent: number;
  connectionsEstablished: number;
  connectRampMs: number;
}

/** Samples wrk's CPU (per thread) and watches its connections come up.
 * Samples stop at wrk's exit; /proc is gone by the time Node reaps it, so the
 * last sampling interval (< 200 ms) is not counted. */
function watchWrk(pid: number, connections: number, connectTimeoutMs: number): { stop(): WrkUsage } {
  const startPerf = performance.now();
  const first = new Map<number, { cpuMs: number; atMs: number }>();
  const last = new Map<number, { cpuMs: number; atMs: number }>();
  const sampleCpu = (): void => {
    let tids: number[];
    try {
      tids = readdirSync(`/proc/${pid}/task`).map(Number);
    } catch {
      return;
    }
    const atMs = performance.now();
    for (const tid of tids) {
      const stat = readProcStat(tid);
      if (!stat) continue;
      if (!first.has(tid)) first.set(tid, { cpuMs: stat.cpuMs, atMs });
      last.set(tid, { cpuMs: stat.cpuMs, atMs });
    }
  };
  sampleCpu();
  const cpuTimer = setInterval(sampleCpu, CPU_SAMPLE_INTERVAL_MS);

  let connectionsEstablished = 0;
  let connectRampMs = 0;
  let watching = true;
  const connectTimer = setInterval(() => {
    const n = establishedSocketCount(pid);
    connectionsEstablished = Math.max(connectionsEstablished, n);
    connectRampMs = performance.now() - startPerf;
    if (connectionsEstablished >= connections || connectRampMs >= connectTimeoutMs) stopConnectWatch();
  }, CONNECT_POLL_INTERVAL_MS);
  const stopConnectWatch = (): void => {
    if (!watching) return;
    watching = false;
    clearInterval(connectTimer);
  };

  return {
    stop(): WrkUsage {
      clearInterval(cpuTimer);
      stopConnectWatch();
      let totalCpuMs = 0;
      let spanMs = 0;
      let maxThreadCpuPercent = 0;
      for (const [tid, a] of first) {
        // Every thread sampled first was sampled last too (same loop).
        const b = last.get(tid) ?? a;
        const elapsed = b.atMs - a.atMs;
        const used = b.cpuMs - a.cpuMs;
        totalCpuMs += used;
        spanMs = Math.max(spanMs, elapsed);
        if (elapsed > 0) maxThreadCpuPercent = Math.max(maxThreadCpuPercent, (used / elapsed) * 100);
      }
      return {
        cpuPercent: spanMs > 0 ? (totalCpuMs / spanMs) * 100 : 0,
        maxThreadCpuPercent,
        connectionsEstablished,
        connectRampMs,
      };
    },
  };
}

/** Runs a command to its end, collecting output (bounded) and killing it on
 * abort or after `limitMs`. `onSpawn` starts a watcher bound to the PID. */
function runToEnd<W>(
  file: string,
  args: string[],
  limitMs: number,
  signal?: AbortSignal,
  onSpawn?: (pid: number) => W,
): Promise<{ stdout: string; stderr: string; code: number | null; watch?: W }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout = (stdout + c.toString('utf8')).slice(-1_000_000);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-10_000);
    });
    const watch = onSpawn && child.pid !== undefined ? onSpawn(child.pid) : undefined;
    let settled = false;
    const finish = (err: unknown, code: number | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      if (err !== undefined) {
        (watch as { stop?: () => unknown } | undefined)?.stop?.();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an InvalidRunError or the abort signal's reason, passed on as given
        reject(err);
      } else resolve({ stdout, stderr, code, ...(watch === undefined ? {} : { watch }) });
    };
    const unsubscribe = onAbort(signal, (reason) => finish(reason));
    const timer = setTimeout(
      () => finish(new InvalidRunError('LBB_ERR_GENERATOR_HUNG', `${path.basename(file)} did not finish within ${limitMs} ms`)),
      limitMs,
    );
    child.on('error', (err) => finish(new InvalidRunError('LBB_ERR_GENERATOR_FAILED', `${file}: ${err.message}`, { cause: err })));
    child.on('close', (code) => finish(undefined, code));
  });
}
