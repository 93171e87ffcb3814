/**
 * Scraping the balancer's /metrics and sampling processes while load runs.
 * Kept cheap on purpose: the harness shares two cores with the generator,
 * the balancer and the backends, so a tick reads a few /proc files and, when
 * gauges are wanted, parses only the lines of those gauges.
 */
import { request } from 'undici';
import { InvalidRunError } from '../../common/errors.js';
import { CpuMeter } from './proc-stats.js';
import { parsePrometheusText, sampleMatches } from './prom-text.js';
import type { PromSnapshot, SamplingData, SamplingSession } from '../result/scenario-api.js';
import { ErrorCode } from '../../common/error-codes.js';
import { valueAt } from '../../common/checked.js';

/** A scrape must complete within this, ms. */
export const SCRAPE_TIMEOUT_MS = 2000;

/** A scrape of /metrics failed (refused, timed out, non-2xx). Exits 3 if it reaches the CLI. */
export class ScrapeError extends InvalidRunError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.SCRAPE_FAILED, message, options);
  }
}

/**
 * One scrape of a Prometheus endpoint, e.g. `http://127.0.0.1:9090/metrics`.
 * Times out after SCRAPE_TIMEOUT_MS (2 s). Rejects with ScrapeError on any
 * failure, including `signal` aborting.
 */
export async function scrapeMetrics(metricsUrl: string, signal?: AbortSignal): Promise<PromSnapshot> {
  const text = await fetchMetricsText(metricsUrl, signal);
  return { atMs: Date.now(), samples: parsePrometheusText(text) };
}

async function fetchMetricsText(metricsUrl: string, signal?: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(SCRAPE_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await request(metricsUrl, {
      method: 'GET',
      signal: combined,
      headersTimeout: SCRAPE_TIMEOUT_MS,
      bodyTimeout: SCRAPE_TIMEOUT_MS,
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump().catch(() => undefined);
      throw new ScrapeError(`scrape of ${metricsUrl} failed: HTTP ${res.statusCode}`);
    }
    return await res.body.text();
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    const reason = timeout.aborted ? `no answer within ${SCRAPE_TIMEOUT_MS} ms` : signal?.aborted ? 'aborted' : (err as Error).message;
    throw new ScrapeError(`scrape of ${metricsUrl} failed: ${reason}`, { cause: err });
  }
}

/**
 * A series rendered as in Prometheus text: `name{k="v",...}` with label keys
 * sorted, or the bare name when there are no labels. Used as the key of
 * SamplingData.gauges.
 */
export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  const body = keys.map((k) => `${k}="${valueAt(labels, k, `label ${k}`).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
  return `${name}{${body}}`;
}

/**
 * The increase of counter `name` from `before` to `after`, summed over the
 * series whose labels include `match`. A series that went down was reset
 * (e.g. a worker restarted) and counts from 0; a series absent before counts
 * from 0; a series absent after contributes nothing.
 */
export function counterDelta(before: PromSnapshot, after: PromSnapshot, name: string, match: Record<string, string> = {}): number {
  const previous = new Map<string, number>();
  for (const s of before.samples) if (sampleMatches(s, name, match)) previous.set(seriesKey(s.name, s.labels), s.value);
  let total = 0;
  for (const s of after.samples) {
    if (!sampleMatches(s, name, match)) continue;
    const prev = previous.get(seriesKey(s.name, s.labels)) ?? 0;
    total += s.value >= prev ? s.value - prev : s.value;
  }
  return total;
}

/** Options of startSampling. */
export interface SamplingOptions {
  /** The balancer's metrics URL, e.g. `http://127.0.0.1:9090/metrics`. */
  metricsUrl: string;
  /** The processes to follow; called on every tick, since balancer workers
   * can restart under new PIDs. `name` labels the samples. */
  processes: () => { name: string; pid: number }[];
  /** Sampling period, ms. */
  intervalMs: number;
  /** Gauge names to record from /metrics every tick; empty means no scrape. */
  gauges: string[];
}

/**
 * Starts sampling in the background: every `intervalMs`, the CPU (% of one
 * core since the previous tick) and RSS of every listed process from /proc,
 * and the listed gauges from /metrics. A failed scrape or a vanished process
 * is skipped, never fatal. A tick that is still scraping when the next is due
 * makes that next tick skip, so slow scrapes never pile up. The timer is
 * unref'd: it never keeps the harness alive.
 */
export function startSampling(opts: SamplingOptions): SamplingSession {
  const data: SamplingData = { processes: [], gauges: {} };
  const meters = new Map<number, CpuMeter>();
  const gaugeNames = new Set(opts.gauges);
  const abort = new AbortController();
  let inFlight: Promise<void> | undefined;
  let stopped: Promise<SamplingData> | undefined;

  // CPU is measured between ticks, so meters of the processes present at
  // start are created now and the first tick already has a value.
  const listProcesses = (): { name: string; pid: number }[] => {
    try {
      return opts.processes();
    } catch {
      return [];
    }
  };
  for (const p of listProcesses()) meters.set(p.pid, new CpuMeter(p.pid));

  const sampleProcesses = (atMs: number): void => {
    const seen = new Set<number>();
    for (const p of listProcesses()) {
      seen.add(p.pid);
      const meter = meters.get(p.pid);
      if (!meter) {
        // A new PID (restarted worker): its CPU is known from the next tick.
        meters.set(p.pid, new CpuMeter(p.pid));
        continue;
      }
      const s = meter.sample();
      if (s) data.processes.push({ atMs, name: p.name, pid: p.pid, cpuPercent: round2(s.cpuPercent), rssBytes: s.rssBytes });
    }
    for (const pid of meters.keys()) if (!seen.has(pid)) meters.delete(pid);
  };

  const sampleGauges = async (): Promise<void> => {
    let text: string;
    try {
      text = await fetchMetricsText(opts.metricsUrl, abort.signal);
    } catch {
      return;
    }
    const atMs = Date.now();
    for (const s of parsePrometheusText(keepLinesOf(text, gaugeNames))) {
      const key = seriesKey(s.name, s.labels);
      (data.gauges[key] ??= []).push({ atMs, value: s.value });
    }
  };

  const tick = (): void => {
    if (inFlight) return;
    sampleProcesses(Date.now());
    if (gaugeNames.size === 0) return;
    inFlight = sampleGauges().finally(() => {
      inFlight = undefined;
    });
  };

  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();

  return {
    stop(): Promise<SamplingData> {
      stopped ??= (async () => {
        clearInterval(timer);
        abort.abort();
        await inFlight;
        return data;
      })();
      return stopped;
    },
  };
}

/** The lines of `text` that are samples of one of `names` (cheaper than
 * parsing the whole exposition, which includes histograms). */
function keepLinesOf(text: string, names: ReadonlySet<string>): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    const end = line.search(/[{\s]/);
    if (names.has(end < 0 ? line : line.slice(0, end))) out.push(line);
  }
  return out.join('\n');
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
