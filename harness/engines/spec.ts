/**
 * The one check of a LoadSpec, shared by every engine: each engine calls
 * `resolveLoadSpec` first, with its own name and capabilities, and gets the
 * spec back with its defaults filled in, or a UsageError (exit 2, nothing
 * started) that lists every problem found, each naming the field, the value
 * received and what was expected. Abort handling and the defaults every
 * engine shares live here too.
 */
import { UsageError } from '../../common/errors.js';
import { isLoopbackHost } from '../services/ports.js';
import type { EngineCapabilities, EngineName, LoadSpec } from './engine.js';

/** Default bucket width of the series, ms (LoadSpec.seriesIntervalMs). */
export const DEFAULT_SERIES_INTERVAL_MS = 1000;
/** Default request timeout, ms (LoadSpec.timeoutMs). */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default generator CPU limit, % of one core: above it a run is flagged
 * `generator.saturated` (DESIGN: about 80%); the config's default of
 * `harness.generatorCpuLimitPercent`, defined there. */
export { DEFAULT_GENERATOR_CPU_LIMIT_PERCENT } from '../../common/config.js';
/** Shortest series bucket an engine accepts, ms. */
export const MIN_SERIES_INTERVAL_MS = 10;

/** A LoadSpec that passed `resolveLoadSpec`, with every default filled in. */
export interface ResolvedLoadSpec extends LoadSpec {
  /** The parsed `url`. */
  target: URL;
  /** `target`'s host without IPv6 brackets, e.g. `127.0.0.1` or `::1`. */
  host: string;
  /** Upper-cased; default `GET`. */
  method: string;
  /** Default none. */
  headers: Record<string, string>;
  /** Default 0. */
  warmupMs: number;
  /** Default 1. */
  processes: number;
  /** Default none. */
  sourceAddresses: string[];
  /** Default DEFAULT_SERIES_INTERVAL_MS. */
  seriesIntervalMs: number;
  /** Default DEFAULT_TIMEOUT_MS. */
  timeoutMs: number;
}

/** Every problem of `spec` for an engine with `caps`, as `field value: expected ...`; empty when it is valid. */
export function loadSpecProblems(engine: EngineName, caps: EngineCapabilities, spec: LoadSpec): string[] {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(spec.url);
  } catch {
    problems.push(`url ${JSON.stringify(spec.url)}: not a URL (expected e.g. http://127.0.0.1:8080/)`);
  }
  if (url && url.protocol !== 'http:') problems.push(`url ${JSON.stringify(spec.url)}: only http:// is supported`);
  if (url && caps.loopbackOnly && !isLoopbackHost(url.hostname)) {
    problems.push(`url ${JSON.stringify(spec.url)}: the ${engine} engine sends to loopback only (127.0.0.0/8, ::1, localhost)`);
  }
  const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1;
  if (!isCount(spec.connections)) problems.push(`connections ${String(spec.connections)}: expected an integer >= 1`);
  if (spec.processes !== undefined && !isCount(spec.processes)) problems.push(`processes ${String(spec.processes)}: expected an integer >= 1`);
  if (spec.threads !== undefined && !isCount(spec.threads)) problems.push(`threads ${String(spec.threads)}: expected an integer >= 1`);
  if (caps.multiProcess && isCount(spec.connections) && isCount(spec.processes ?? 1)) {
    const processes = spec.processes ?? 1;
    const perProcess = Math.ceil(spec.connections / processes);
    if (spec.connections < processes) {
      problems.push(`connections ${spec.connections} < processes ${processes}: every process needs a connection`);
    } else if (caps.maxConnectionsPerProcess !== undefined && perProcess > caps.maxConnectionsPerProcess) {
      problems.push(
        `connections ${spec.connections} over ${processes} process(es) is ${perProcess} per process; ` +
          `at most ${caps.maxConnectionsPerProcess} fit one process's open-files budget: use processes >= ${Math.ceil(spec.connections / caps.maxConnectionsPerProcess)}`,
      );
    }
  }
  if (!(spec.durationMs > 0) || !Number.isFinite(spec.durationMs)) problems.push(`durationMs ${String(spec.durationMs)}: expected > 0`);
  problems.push(...rateProblems(engine, caps, spec.rate));
  if (spec.warmupMs !== undefined && !(spec.warmupMs >= 0)) problems.push(`warmupMs ${String(spec.warmupMs)}: expected >= 0`);
  if (spec.timeoutMs !== undefined && !(spec.timeoutMs > 0)) problems.push(`timeoutMs ${String(spec.timeoutMs)}: expected > 0`);
  if (spec.seriesIntervalMs !== undefined && !(spec.seriesIntervalMs >= MIN_SERIES_INTERVAL_MS)) {
    problems.push(`seriesIntervalMs ${String(spec.seriesIntervalMs)}: expected >= ${MIN_SERIES_INTERVAL_MS}`);
  }
  return problems;
}

function rateProblems(engine: EngineName, caps: EngineCapabilities, rate: number | undefined): string[] {
  if (rate === undefined) {
    return caps.rate === 'required' ? [`rate undefined: the ${engine} engine needs a target rate > 0 requests/s`] : [];
  }
  if (caps.rate === 'none') {
    return [
      `rate ${String(rate)}: the ${engine} engine sends as fast as responses complete and takes no rate ` +
        `(for a target rate use an open-loop engine, or one that caps its rate)`,
    ];
  }
  if (!(rate > 0) || !Number.isFinite(rate)) return [`rate ${String(rate)}: expected requests/s > 0`];
  return [];
}

/**
 * `spec` checked against `caps` and completed with the shared defaults.
 * Throws UsageError (exit 2) `<engine> engine: <problem>; <problem>...`
 * listing every problem found, so no engine starts anything on bad input.
 */
export function resolveLoadSpec(engine: EngineName, caps: EngineCapabilities, spec: LoadSpec): ResolvedLoadSpec {
  const problems = loadSpecProblems(engine, caps, spec);
  if (problems.length > 0) throw new UsageError(`${engine} engine: ${problems.join('; ')}`);
  const target = new URL(spec.url);
  return {
    ...spec,
    target,
    host: target.hostname.replace(/^\[|\]$/g, ''),
    method: (spec.method ?? 'GET').toUpperCase(),
    headers: spec.headers ?? {},
    warmupMs: spec.warmupMs ?? 0,
    processes: spec.processes ?? 1,
    sourceAddresses: spec.sourceAddresses ?? [],
    seriesIntervalMs: spec.seriesIntervalMs ?? DEFAULT_SERIES_INTERVAL_MS,
    timeoutMs: spec.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

/** The error an aborted run rejects with: the signal's reason, or an `AbortError`. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The load run was aborted', 'AbortError');
}

/** Throws `abortReason(signal)` when `signal` has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * Subscribes `onAbort` to `signal` (once) and returns the unsubscribe;
 * every engine calls the unsubscribe when its run settles, so a long-lived
 * signal does not collect listeners.
 */
export function onAbort(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void {
  if (!signal) return () => {};
  const listener = (): void => onAbort(abortReason(signal));
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/** The `generator.saturated` verdict of a single-process engine whose busiest
 * process or thread used `cpuPercent` of a core against `limitPercent`;
 * `what` names it, e.g. `autocannon` or `a wrk thread`. */
export function cpuSaturation(what: string, cpuPercent: number, limitPercent: number): { saturated: boolean; saturatedReason?: string } {
  if (!(cpuPercent > limitPercent)) return { saturated: false };
  return {
    saturated: true,
    saturatedReason: `${what} used ${cpuPercent.toFixed(0)}% of a core (limit ${limitPercent}%); the numbers are the generator's, not the server's`,
  };
}
